"""The report's page: self-contained HTML with inline CSS and SVG plots, no scripts, no URLs.

Rendering is a pure function of the data ``report.report_data`` gathers, so the page can be
tested and restyled without a project.
"""
from __future__ import annotations

from html import escape

import numpy as np

from .codings import MACHINE
from .corpus import clip
from .errors import and_list
from .export import quotation

CSS = """
:root { --ink: #1d2330; --muted: #5b6475; --line: #d9dee7; --accent: #1f5f99; --soft: #f4f6fa; }
* { box-sizing: border-box; }
body { font: 15px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
       color: var(--ink); max-width: 62rem; margin: 0 auto; padding: 2rem 1.5rem 4rem; }
h1 { font-size: 1.9rem; margin: 0 0 .2rem; }
h2 { font-size: 1.4rem; margin: 2.6rem 0 .6rem; padding-bottom: .3rem; border-bottom: 2px solid var(--accent); }
h3 { font-size: 1.12rem; margin: 1.6rem 0 .3rem; }
h4 { font-size: 1rem; margin: 1.1rem 0 .3rem; color: var(--accent); }
p.meta, .muted { color: var(--muted); }
p.caution { border-left: 3px solid #b7791f; padding-left: .6em; color: #744210; }
nav { background: var(--soft); padding: .6rem 1rem; border-radius: 6px; margin: 1rem 0; }
nav a { margin-right: 1.2rem; color: var(--accent); text-decoration: none; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0 1rem; font-size: .92rem; }
th, td { text-align: left; vertical-align: top; padding: .35rem .55rem; border-bottom: 1px solid var(--line); }
th { background: var(--soft); font-weight: 600; }
table.codes { table-layout: fixed; }
table.codes th:nth-child(1) { width: 26%; }
table.codes th:nth-child(3), table.codes th:nth-child(4) { width: 7.5rem; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.definition { color: var(--muted); margin: 0 0 .4rem; }
blockquote { margin: .45rem 0; padding: .35rem .9rem; border-left: 3px solid var(--accent); background: var(--soft); }
blockquote .who { font-weight: 600; white-space: nowrap; }
blockquote .conf { color: var(--muted); font-size: .85rem; }
figure { margin: 1rem 0; }
figcaption { color: var(--muted); font-size: .88rem; }
svg { max-width: 100%; height: auto; font-family: system-ui, sans-serif; }
.context { color: var(--muted); font-size: .85rem; }
@media print {
  body { max-width: none; padding: 0; font-size: 11pt; }
  nav { display: none; }
  h2, h3, h4 { break-after: avoid; }
  blockquote, tr, figure { break-inside: avoid; }
}
"""


def render_html(data: dict) -> str:
    """The whole report as one HTML page with no outside references."""
    sections = [_codebook_html(data), _prevalence_html(data), _quotes_html(data),
                _agreement_html(data), _classifier_html(data)]
    sections = [s for s in sections if s]
    nav = "".join(f'<a href="#{sid}">{escape(title)}</a>' for sid, title in _SECTIONS if f'id="{sid}"' in "".join(sections))
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>autocode report: {escape(data['project'])}</title><style>{CSS}</style></head><body>"
            f"<header><h1>Coding report: {escape(data['project'])}</h1>{_summary_html(data)}</header>"
            f"<nav>{nav}</nav>{''.join(sections)}</body></html>\n")


_SECTIONS = [("codebook", "Codebook"), ("prevalence", "Prevalence"), ("quotes", "Quote bank"),
             ("agreement", "Agreement"), ("classifier", "Classifier")]


def _summary_html(data: dict) -> str:
    s, coder = data["summary"], data.get("coder")
    unread = (f" {s['unread']} of those are machine suggestions {escape(coder)} accepted in bulk without reading them "
              "one by one: they are counted here, but the quote bank and the learning curve leave them out."
              if coder and s.get("unread") else "")
    who = (f"<strong>{escape(coder)}</strong> has coded {s['coded_utterances']} of them, {s['with_a_code']} with "
           f"a code.{unread}" if coder else "Nobody has coded them yet.")
    first = data["participants"][0] if data["participants"] else None
    example = (f", e.g. ({escape(str(first['label']))}) for transcript {escape(str(first['document']))}"
               if first else "")
    return (f"<p>{s['documents']} transcripts, {len(data['participants'])} participants, "
            f"{s['participant_utterances']} participant utterances. {who}</p>"
            f'<p class="meta">Made by autocode on {escape(data["generated"])}. Participants are numbered '
            f"as in the quotes{example}.</p>")


def _section(sid: str, title: str, body: str) -> str:
    return f'<section id="{sid}"><h2>{escape(title)}</h2>{body}</section>'


def _n(value, digits: int = 2, suffix: str = "") -> str:
    return "\u2013" if value is None else f"{value:.{digits}f}{suffix}"


def _table(head: list[str], rows: list[list[str]], numeric: set[int] = frozenset(), kind: str = "") -> str:
    """A table from cells that are already HTML; columns in ``numeric`` are right-aligned."""
    cls = lambda i: ' class="n"' if i in numeric else ""  # noqa: E731
    th = "".join(f"<th{cls(i)}>{h}</th>" for i, h in enumerate(head))
    body = "".join("<tr>" + "".join(f"<td{cls(i)}>{c}</td>" for i, c in enumerate(r)) + "</tr>" for r in rows)
    kind = f' class="{kind}"' if kind else ""
    return f"<table{kind}><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


# -- sections --------------------------------------------------------------------------------------------------

def _codebook_html(data: dict) -> str:
    """Themes, then their codes, with counts the reader can check against the quotes."""
    parts = [f'<p class="muted">Counts are {escape(data["coder"])}\u2019s codings: utterances, and the '
             "participants they come from.</p>" if data.get("coder") else '<p class="muted">Nothing is coded yet.</p>']
    for t in data["codebook"]:
        rows = [[escape(c["name"]), escape(c["definition"]), str(c["utterances"]), str(c["participants"])]
                for c in t["codes"]]
        parts.append(f'<h3>{escape(t["name"])}</h3><p class="definition">{escape(t["definition"])}</p>'
                     f'<p>{t["utterances"]} utterances from {t["participants"]} participants.</p>'
                     + _table(["Code", "Definition", "Utterances", "Participants"], rows, {2, 3}, "codes"))
    if not data["codebook"]:
        parts.append("<p>The codebook is empty.</p>")
    return _section("codebook", "Codebook", "".join(parts))


def _prevalence_html(data: dict) -> str:
    prev = data["prevalence"]
    if not prev["participants"]:
        return _section("prevalence", "Theme prevalence per participant", "<p>No participant has been coded yet.</p>")
    rows = [[escape(t["name"]), escape(t["in_words"]), str(t["utterances"])] for t in prev["themes"]]
    one = prev["not_coded"] == 1
    note = (f'<p class="muted">{prev["not_coded"]} participant{"" if one else "s"} not yet coded by '
            f'{escape(str(data["coder"]))} {"is" if one else "are"} left out.</p>' if prev["not_coded"] else "")
    figure = (f"<figure>{heatmap_svg(prev)}<figcaption>Utterances per theme and participant; darker cells hold "
              "more. Participants are numbered as in the quotes.</figcaption></figure>")
    return _section("prevalence", "Theme prevalence per participant",
                    figure + _table(["Theme", "Mentioned by", "Utterances"], rows, {2}) + note)


def _quotes_html(data: dict) -> str:
    parts = ['<p class="muted">Up to five example quotes per code: one per participant first, '
             + ("most confident first.</p>" if data.get("coder") == MACHINE else "15\u201360 words where possible.</p>")]
    for t in data["quotes"]:
        parts.append(f"<h3>{escape(t['name'])}</h3>")
        for c in t["codes"]:
            quotes = "".join(_quote_html(q) for q in c["quotes"]) or '<p class="muted">No quotes yet.</p>'
            parts.append(f"<h4>{escape(c['name'])}</h4>{quotes}")
    return _section("quotes", "Quote bank", "".join(parts))


def _quote_html(q: dict) -> str:
    conf = f' <span class="conf">confidence {q["confidence"]:.2f}</span>' if q.get("confidence") is not None else ""
    return (f"<blockquote>\u201c{escape(quotation(q['text']))}\u201d <span class=\"who\">{escape(q['participant'])}</span>"
            f"{conf}</blockquote>")


def _agreement_html(data: dict) -> str:
    if not data.get("agreement"):
        return ""
    return _section("agreement", "Agreement between coders", "".join(_pair_html(p) for p in data["agreement"]["pairs"]))


def _pair_html(p: dict) -> str:
    a, b = (escape(c) for c in p["coders"])
    if not p["n_units"]:
        return f"<h3>{a} and {b}</h3><p>Nothing to compare: {escape(p['in_words'] or '')}.</p>"
    docs = p.get("documents") or []
    where = (f" in {len(docs)} of the {p['all_documents']} transcripts ({escape(and_list(docs, most=6))})"
             if docs and len(docs) < p.get("all_documents", 0) else "")
    head = (f"<h3>{a} and {b}</h3><p>On the codes, over the {p['n_units']} utterances both coded{where}: "
            f"{_n(p['percent_agreement'], 1, '%')} agreement; {_cohen(p['in_words'])}. An utterance "
            "counts as agreed when both gave it the same codes; the figures in brackets are 95% bootstrap intervals "
            "over the utterances, Krippendorff\u2019s alpha beside Cohen\u2019s kappa.</p>"
            f'<p class="muted">{escape(p["uncoded"].capitalize())}.</p>'
            + "".join(f'<p class="caution">Read with care: {escape(c)}.</p>' for c in p.get("cautions", []))
            + _without_unread_html(p.get("without_unread")))
    themes = [[escape(t["name"]), str(t["n_units"]), _n(t["percent_agreement"], 1, "%"), _n(t["cohen_kappa"]),
               _n(t["krippendorff_alpha"]), escape(t["in_words"] or "")] for t in p["per_theme"]]
    return head + "<h4>Per theme: did both give the utterance a code of this theme, or both not?</h4>" + _table(
        ["Theme", "Utterances", "Agreement", "Cohen\u2019s kappa", "Krippendorff\u2019s alpha", "In words"],
                                                 themes, {1, 2, 3, 4}) + _disagreements_html(p)


def _cohen(words: str | None) -> str:
    """compare's words, whose 'kappa' is Cohen's: named so beside Krippendorff's alpha."""
    words = escape(words or "")
    return "Cohen\u2019s " + words if words.startswith("kappa") else words


def _without_unread_html(f: dict | None) -> str:
    if not f:
        return ""
    if not f["n_units"]:
        return ('<p class="caution">Leaving out the utterances accepted unread, nothing is left that both coded: '
                "read some of the suggestions one by one to measure agreement that is the coders' own.</p>")
    return (f'<p class="caution">Leaving out the utterances accepted unread: {f["n_units"]} utterances, '
            f"{_n(f['percent_agreement'], 1, '%')} agreement, Cohen\u2019s kappa {_n(f['cohen_kappa'])}, "
            f"Krippendorff\u2019s alpha {_n(f['krippendorff_alpha'])}. This is the agreement that is the coders' own.</p>")


def _disagreements_html(p: dict) -> str:
    if not p["disagreements"]:
        return "<p>No disagreements.</p>"
    shown = len(p["disagreements"])
    rows = [[escape(f"{d['document']}, utterance {d['unit']}"), _with_context(d)]
            + [escape(d["labels"][c]) for c in p["coders"]] for d in p["disagreements"]]
    return (f"<h4>Disagreements ({shown} of {p['n_disagreements']} shown)</h4>"
            + _table(["Where", "Text"] + [escape(c) for c in p["coders"]], rows))


def _with_context(d: dict) -> str:
    before = f'<div class="context">{escape(d["before"])}</div>' if d.get("before") else ""
    after = f'<div class="context">{escape(d["after"])}</div>' if d.get("after") else ""
    who = f"{escape(d['speaker'])}: " if d.get("speaker") else ""
    return f"{before}<div><strong>{who}</strong>{escape(d['text'])}</div>{after}"


def _classifier_html(data: dict) -> str:
    return _section("classifier", "The classifier", _classifier_figures(data.get("classifier"), data.get("coder"))
                    + _curve_html(data.get("learning_curve") or {}, data.get("classifier") is not None))


def _classifier_figures(clf: dict | None, coder: str | None) -> str:
    from .agreement import kappa_words

    if clf is None:
        run = f"autocode train --coder {coder}" if coder else "autocode train --coder NAME"
        return f"<p>No classifier has been trained in this project yet (run <code>{escape(run)}</code>).</p>"
    cv = clf.get("cross_validation") or {}
    intro = (f"<p>Trained on {escape(clf['coder'])}\u2019s {clf['utterances']} coded utterances and {clf['codes']} "
             f"codes ({escape(clf['created_at'])}).</p>")
    if "codes" not in cv:
        return intro + f"<p>{escape(cv.get('note', 'It was not cross-validated.'))}</p>"
    rows = [[level.capitalize(), _n(cv[level]["cohen_kappa"]), escape(kappa_words(cv[level]["cohen_kappa"])),
             _n(cv[level]["macro_f1"]), _n(cv[level]["percent_agreement"], 1, "%")] for level in ("codes", "themes")]
    return (intro + f"<p>Agreement with the coder on transcripts it did not see ({cv['folds']} folds over "
            f"{cv['documents']} documents: each transcript\u2019s codes were suggested by a classifier trained "
            "without it):</p>" + _table(["Level", "Cohen\u2019s kappa", "In words", "Macro-F1", "Agreement"], rows, {1, 3, 4})
            + "<p class=\"muted\">Macro-F1 averages, over the codes, how well the classifier found each one "
            "(rare codes count as much as common ones).</p>" + _trust_html(cv.get("abstention") or {}))


def _trust_html(a: dict) -> str:
    from .agreement import trust_words

    advice = trust_words(a)
    return f"<p>{escape(advice)}</p>" if advice else ""


def _curve_html(lc: dict, trained: bool = True) -> str:
    if not lc.get("points"):
        return f"<h3>Learning curve</h3><p>{escape(lc.get('note', 'No learning curve.'))}</p>"
    rows = [[f"{p['fraction']:.0%}", str(p["n_train"]), _n(p["themes"]), _n(p["codes"])] for p in lc["points"]]
    differ = " so its last point can differ from the trained classifier’s figures above." if trained else "."
    return (f"<h3>Learning curve</h3><figure>{curve_svg(lc['points'])}<figcaption>Cohen's kappa with "
            f"{escape(lc['coder'])} on held-out documents ({lc['folds']} folds over {lc['documents']} documents"
            + (f", a seeded sample of the {lc['sampled_from']['documents']} documents and "
               f"{lc['sampled_from']['utterances']:,} utterances {escape(lc['coder'])} coded, to keep the report quick"
               if lc.get("sampled_from") else "") + "), "
            "by how many coded utterances the classifier learned from. A curve still rising means more coding "
            "would still help. It is worked out afresh for this report, from the coder’s codings as they are "
            f"now (suggestions accepted unread left out),{differ}</figcaption></figure>" + _clustered_html(lc)
            + _table(["Share of coding", "Training utterances", "Theme kappa", "Code kappa"], rows, {0, 1, 2, 3}))


def _clustered_html(lc: dict) -> str:
    """Codings made by accepting candidates are groups the clustering made: finding them again is no test."""
    n, total = lc.get("from_candidates", 0), lc.get("utterances", 0)
    if not total or n * 2 <= total:
        return ""
    return (f'<p class="caution">Read with care: {n} of the {total} utterances {escape(lc["coder"])} coded got their '
            "code by accepting a candidate code, a group of similar utterances the clustering made. On those the "
            "curve measures how well the classifier finds the groups again, not how well it codes as a person "
            "reads. Code some utterances one by one (autocode next, then autocode confirm) for a figure that "
            "means more.</p>")


# -- plots --------------------------------------------------------------------------------------------------------

def heatmap_svg(prev: dict, cell: int = 44, row_h: int = 32, left: int = 300, top: int = 30) -> str:
    """Themes x participants, each cell shaded by its number of utterances."""
    cols, themes = prev["participants"], prev["themes"]
    peak = max([n for t in themes for n in t["counts"]] + [1])
    width, height = left + cell * len(cols) + 10, top + row_h * len(themes) + 10
    out = [f'<svg viewBox="0 0 {width} {height}" width="{width}" '
           f'height="{height}" role="img" aria-label="Theme prevalence heatmap">']
    out += [f'<text x="{left + cell * j + cell / 2}" y="{top - 10}" font-size="13" text-anchor="middle">'
            f"{escape(label)}</text>" for j, label in enumerate(cols)]
    for i, t in enumerate(themes):
        y = top + row_h * i
        out.append(f'<text x="{left - 8}" y="{y + row_h / 2 + 4}" font-size="13" text-anchor="end">'
                   f"{escape(clip(t['name'], 42))}</text>")
        out += [_cell(left + cell * j, y, cell, row_h, n, peak, f"{t['name']}, ({cols[j]}): {n}")
                for j, n in enumerate(t["counts"])]
    return "".join(out) + "</svg>"


def _cell(x: float, y: float, w: int, h: int, n: int, peak: int, title: str) -> str:
    share = n / peak
    fill = _shade(share)
    ink = "#ffffff" if share > 0.45 else "#1d2330"
    label = str(n) if n else ""
    return (f'<g><title>{escape(title)}</title><rect x="{x}" y="{y}" width="{w - 2}" height="{h - 2}" rx="3" '
            f'fill="{fill}"/><text x="{x + (w - 2) / 2}" y="{y + h / 2 + 4}" font-size="12" text-anchor="middle" '
            f'fill="{ink}">{label}</text></g>')


def _shade(share: float) -> str:
    """From a pale grey-blue (none) to the report's dark blue (the most)."""
    lo, hi = (240, 243, 248), (18, 70, 128)
    return "#" + "".join(f"{round(a + (b - a) * share):02x}" for a, b in zip(lo, hi))


def curve_svg(points: list[dict], width: int = 640, height: int = 320, pad: int = 52) -> str:
    """Theme and code kappa against training utterances, on Landis-Koch gridlines."""
    xs = [p["n_train"] for p in points]
    values = [v for p in points for v in (p["themes"], p["codes"]) if v is not None]
    lo = min([0.0] + values)
    sx = lambda x: pad + (width - 2 * pad) * (x / max(xs + [1]))  # noqa: E731
    sy = lambda y: height - pad - (height - 2 * pad) * (y - lo) / (1 - lo)  # noqa: E731
    out = [f'<svg viewBox="0 0 {width} {height}" width="{width}" '
           f'height="{height}" role="img" aria-label="Learning curve">']
    out += _grid(sx, sy, lo, xs, width, pad, height)
    for key, color, dash in (("themes", "#1f5f99", ""), ("codes", "#c2571a", ' stroke-dasharray="6 4"')):
        out += _line(points, key, sx, sy, color, dash)
    out.append(_legend(width - pad - 150, pad - 30))
    return "".join(out) + "</svg>"


def _grid(sx, sy, lo: float, xs: list[int], width: int, pad: int, height: int) -> list[str]:
    ticks = [t / 10 for t in range(int(np.floor(lo * 5)) * 2, 11, 2)]
    out = [f'<line x1="{pad}" x2="{width - pad}" y1="{sy(t)}" y2="{sy(t)}" stroke="#d9dee7"/>'
           f'<text x="{pad - 6}" y="{sy(t) + 4}" font-size="11" text-anchor="end">{t:.1f}</text>' for t in ticks]
    out += [f'<text x="{sx(x)}" y="{height - pad + 16}" font-size="11" text-anchor="middle">{x}</text>' for x in xs]
    out.append(f'<text x="{width / 2}" y="{height - 8}" font-size="12" text-anchor="middle">coded utterances '
               "learned from</text>")
    out.append(f'<text x="14" y="{height / 2}" font-size="12" text-anchor="middle" '
               f'transform="rotate(-90 14 {height / 2})">Cohen\u2019s kappa</text>')
    return out


def _line(points, key, sx, sy, color, dash) -> list[str]:
    pts = [(sx(p["n_train"]), sy(p[key])) for p in points if p[key] is not None]
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
    return ([f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2.5"{dash}/>']
            + [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{color}"/>' for x, y in pts])


def _legend(x: float, y: float) -> str:
    return (f'<g font-size="12"><line x1="{x}" x2="{x + 24}" y1="{y}" y2="{y}" stroke="#1f5f99" stroke-width="2.5"/>'
            f'<text x="{x + 30}" y="{y + 4}">themes</text><line x1="{x + 85}" x2="{x + 109}" y1="{y}" y2="{y}" '
            f'stroke="#c2571a" stroke-width="2.5" stroke-dasharray="6 4"/><text x="{x + 115}" y="{y + 4}">codes</text></g>')
