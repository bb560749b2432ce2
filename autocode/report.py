"""The HTML report: one self-contained file a researcher can open, print or send on.

``report_data`` gathers everything the report shows as plain data (so it can be tested and
reused), and ``render_html`` turns that data into a single HTML page. The page needs no
server and no network: the styles are inline, and the two plots (theme prevalence per
participant, the classifier's learning curve) are SVG drawn here, so nothing is fetched from
a CDN and no transcript text is ever sent anywhere. All user text is escaped.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from . import codebook as cb
from .codings import MACHINE, coders as coders_of, require_coder
from .confirm import UNREAD
from .corpus import document_ids, natural, participant_numbers
from .errors import AutocodeError, and_list
from .store import Project, marks, now

FRACTIONS = (0.10, 0.25, 0.50, 0.75, 1.00)
CURVE_MOST = 1500   # coded utterances the curve learns from at most: 5,000 took five minutes
QUOTES_PER_CODE = 5
QUOTE_WORDS = (15, 60)      # the length of a quote papers in this field usually print
MAX_QUOTE_WORDS = 80        # longer turns are cut with " [...]", as papers do
DISAGREEMENTS_SHOWN = 20


# == the data ====================================================================================

def report_data(project: Project, coder: str | None = None, learning_curve: bool = True) -> dict:
    """Everything the report shows, for one coder's codings (default: the busiest human coder).

    Takes the project, not just its connection: agreement (``compare_project``) and the
    learning curve (settings, the embedding cache) need it. ``learning_curve=False`` skips
    the slowest part; agreement's bootstrap intervals take a few seconds per pair of coders.
    """
    conn = project.conn
    coder = coder or primary_coder(conn)
    if coder is not None:
        require_coder(conn, coder)
    book = cb.load(conn)
    people = participants(conn)
    data = {"project": project.root.name, "generated": now(), "coder": coder, "coders": coders_of(conn),
            "participants": people, "summary": summary(conn, coder), "codebook": codebook_counts(conn, book, coder),
            "prevalence": prevalence(conn, book, coder, people),
            "quotes": quote_bank(conn, book, coder, people),
            "agreement": agreement(project, book, coder), "classifier": classifier(conn)}
    data["learning_curve"] = (curve(project, coder) if learning_curve and coder else
                              {"note": "Nothing is coded yet." if not coder else "The learning curve was not computed."})
    return data


def summary(conn, coder: str | None) -> dict:
    """The size of the study and of the coding, for the line at the top of the report."""
    row = conn.execute(
        "SELECT (SELECT COUNT(*) FROM documents), (SELECT COUNT(*) FROM utterances WHERE is_interviewer = 0),"
        " (SELECT COUNT(DISTINCT utterance) FROM codings WHERE coder = ?),"
        " (SELECT COUNT(DISTINCT utterance) FROM codings WHERE coder = ? AND code != ''),"
        " (SELECT COUNT(DISTINCT utterance) FROM codings WHERE coder = ? AND reason = ?)",
        (coder, coder, coder, UNREAD)).fetchone()
    return dict(zip(("documents", "participant_utterances", "coded_utterances", "with_a_code", "unread"), row))


def primary_coder(conn) -> str | None:
    """Whose coding the report is about by default: the team's consensus where there is one,
    else the human coder with the most codings. The machine's own suggestions are only reported
    when no person has coded anything."""
    from .reconcile import sources

    rows = conn.execute("SELECT coder FROM codings GROUP BY coder ORDER BY COUNT(*) DESC, coder").fetchall()
    names = [r[0] for r in rows]
    settled = [n for n in names if n in sources(conn)]   # a team's consensus is the coding it reports
    return next(iter(settled), None) or next((n for n in names if n != MACHINE), names[0] if names else None)


# -- participants ----------------------------------------------------------------------------------

def participants(conn) -> list[dict]:
    """Each (document, speaker) who is not the interviewer, with the short id papers print.

    "(7)" for D07 or P07; "(7a)", "(7b)" when a document has several participants (a focus
    group), so quotes carry no names; the document id itself when no number can stand for it.
    """
    rows = sorted(conn.execute("SELECT document, speaker, COUNT(*) AS n FROM utterances WHERE is_interviewer = 0"
                               " GROUP BY document, speaker ORDER BY document, MIN(idx)").fetchall(),
                  key=lambda r: natural(r["document"]))   # stable: each document's speakers in order of speaking
    numbers = participant_numbers(sorted({r["document"] for r in rows}))
    out = []
    for r in rows:
        same_doc = [x for x in rows if x["document"] == r["document"]]
        suffix = "" if len(same_doc) == 1 else _letter(same_doc.index(r))
        out.append({"document": r["document"], "speaker": r["speaker"], "utterances": r["n"],
                    "label": numbers[r["document"]] + suffix})
    return out


def _letter(i: int) -> str:
    return "abcdefghijklmnopqrstuvwxyz"[i] if i < 26 else f"-{i + 1}"


def _label_of(people: list[dict]) -> dict[tuple[str, str], str]:
    return {(p["document"], p["speaker"]): p["label"] for p in people}


# -- codebook and prevalence -------------------------------------------------------------------------

def codebook_counts(conn, book: cb.Codebook, coder: str | None) -> list[dict]:
    """Themes, then their codes, each with how many utterances and participants the coder gave it."""
    counts = {r[0]: (r[1], r[2]) for r in conn.execute(
        "SELECT c.code, COUNT(DISTINCT CASE WHEN u.is_interviewer = 0 THEN u.id END),"
        " COUNT(DISTINCT CASE WHEN u.is_interviewer = 0 THEN u.document || char(31) || u.speaker END)"
        " FROM codings c JOIN utterances u ON u.id = c.utterance WHERE c.coder = ? GROUP BY c.code", (coder,))}
    themes = []
    for t in book.themes:
        n_utt, n_people = _theme_counts(conn, coder, [c.id for c in t.codes])
        codes = [{"id": c.id, "name": c.name, "definition": c.definition,
                  "utterances": counts.get(c.id, (0, 0))[0], "participants": counts.get(c.id, (0, 0))[1]}
                 for c in t.codes]
        themes.append({"id": t.id, "name": t.name, "definition": t.definition, "utterances": n_utt,
                       "participants": n_people, "codes": codes})
    return themes


def _theme_counts(conn, coder: str | None, codes: list[str]) -> tuple[int, int]:
    """Distinct participant utterances (one with two of the theme's codes counts once), and participants."""
    row = conn.execute(
        "SELECT COUNT(DISTINCT CASE WHEN u.is_interviewer = 0 THEN u.id END),"
        " COUNT(DISTINCT CASE WHEN u.is_interviewer = 0 THEN u.document || char(31) || u.speaker END)"
        f" FROM codings c JOIN utterances u ON u.id = c.utterance WHERE c.coder = ? AND c.code IN ({marks(codes)})",
        (coder, *codes)).fetchone()
    return row[0], row[1]


def prevalence(conn, book: cb.Codebook, coder: str | None, people: list[dict]) -> dict:
    """Per theme, how many of the coded participants' utterances carry it.

    Only participants the coder coded at all are counted: "2 of 7" would mislead when the
    coder has read two interviews.
    """
    coded = {(r[0], r[1]) for r in conn.execute(
        "SELECT DISTINCT u.document, u.speaker FROM codings c JOIN utterances u ON u.id = c.utterance"
        " WHERE c.coder = ? AND u.is_interviewer = 0", (coder,))}
    cols = [p for p in people if (p["document"], p["speaker"]) in coded]
    cells = _theme_cells(conn, book, coder)
    rows = []
    for t in book.themes:
        counts = [cells.get((t.id, p["document"], p["speaker"]), 0) for p in cols]
        k = sum(1 for n in counts if n)
        rows.append({"id": t.id, "name": t.name, "counts": counts, "participants": k, "of": len(cols),
                     "utterances": sum(counts), "in_words": f"{k} of {len(cols)} participants"})
    return {"participants": [p["label"] for p in cols], "not_coded": len(people) - len(cols), "themes": rows}


def _theme_cells(conn, book: cb.Codebook, coder: str | None) -> dict[tuple[str, str, str], int]:
    theme = {c.id: c.theme for c in book.codes}
    seen: dict[tuple[str, str, str], set] = {}
    for code, uid, doc, speaker in conn.execute(
            "SELECT c.code, u.id, u.document, u.speaker FROM codings c JOIN utterances u ON u.id = c.utterance"
            " WHERE c.coder = ? AND c.code != '' AND u.is_interviewer = 0", (coder,)):
        seen.setdefault((theme.get(code, ""), doc, speaker), set()).add(uid)
    return {k: len(v) for k, v in seen.items()}


# -- quotes ----------------------------------------------------------------------------------------------

def quote_bank(conn, book: cb.Codebook, coder: str | None, people: list[dict]) -> list[dict]:
    """Per theme and code, the example quotes a write-up would pick first: never a suggestion the
    coder accepted unread, which is the machine's reading under their name."""
    by_code: dict[str, list[dict]] = {}
    for r in conn.execute(
            "SELECT c.code, c.confidence, u.document, u.speaker, u.idx, u.text,"
            " (SELECT COUNT(*) FROM codings o WHERE o.utterance = u.id AND o.coder = c.coder AND o.code != '') AS n_codes"
            " FROM codings c JOIN utterances u ON u.id = c.utterance"
            " WHERE c.coder = ? AND c.code != '' AND u.is_interviewer = 0 AND COALESCE(c.reason, '') != ?"
            " ORDER BY u.document, u.idx", (coder, UNREAD)):
        by_code.setdefault(r["code"], []).append(dict(r))
    labels = _label_of(people)
    return [{"id": t.id, "name": t.name,
             "codes": [{"id": c.id, "name": c.name,
                        "quotes": [_quote(q, labels) for q in strongest(by_code.get(c.id, []), coder == MACHINE)]}
                       for c in t.codes]} for t in book.themes]


def strongest(rows: list[dict], machine: bool, limit: int = QUOTES_PER_CODE) -> list[dict]:
    """Pick quotes one at a time, preferring a participant not yet quoted.

    Machine codings: the most confident first. Human codings carry no confidence, so the
    best quotes are those of a printable length (15-60 words) that carry this code alone.
    """
    def strength(r):  # (tier, rank within the tier): smaller is stronger
        if machine:
            return 0, (-(r["confidence"] or 0.0),)
        words = len(r["text"].split())
        return not QUOTE_WORDS[0] <= words <= QUOTE_WORDS[1], (r["n_codes"], abs(words - 35))

    left, picked, quoted = list(rows), [], set()
    while left and len(picked) < limit:
        best = min(left, key=lambda r: (strength(r)[0], (r["document"], r["speaker"]) in quoted, strength(r)[1]))
        left.remove(best)
        picked.append(best)
        quoted.add((best["document"], best["speaker"]))
    return picked


def _quote(r: dict, labels: dict) -> dict:
    words = r["text"].split()
    text = " ".join(words[:MAX_QUOTE_WORDS]) + (" [\u2026]" if len(words) > MAX_QUOTE_WORDS else "")
    return {"text": text, "participant": f"({labels.get((r['document'], r['speaker']), r['document'])})",
            "document": r["document"], "utterance": r["idx"], "confidence": r["confidence"]}


# -- agreement -------------------------------------------------------------------------------------------

def agreement(project: Project, book: cb.Codebook, coder: str | None) -> dict | None:
    """The coder against every other coder, or None when there is no one to compare with."""
    others = [c for c in coders_of(project.conn) if c != coder]
    if coder is None or not others:
        return None
    from .reconcile import sources

    names = {c.id: c.name for c in book.codes} | {t.id: t.name for t in book.themes}
    made = sources(project.conn).get(coder, [])   # a consensus: first how far its coders agreed
    pairs = [(a, b) for i, a in enumerate(made) for b in made[i + 1:]] + [(coder, other) for other in others]
    if MACHINE in others:   # the machine against the other people too: there it coded text it never learnt
        pairs += [(other, MACHINE) for other in others if other != MACHINE]
    return {"coder": coder, "pairs": [_pair(project, a, b, names) for a, b in pairs]}


def cautions(project: Project, a: str, b: str) -> list[str]:
    """Why agreement between ``a`` and ``b`` may flatter the machine, in words (as the CLI warns)."""
    from .confirm import unread_overlap, unread_words
    from .learn import machine_on_training

    out = []
    teacher, seen = machine_on_training(project, [a, b])
    if seen:
        out.append(f"the machine learnt from {teacher}'s codings of {seen} of these utterances, so agreement "
                   "there measures memory, not coding")
    for person, other in ((a, b), (b, a)):
        if unread := unread_overlap(project.conn, person, other):
            out.append(unread_words(unread, person, other))
    return out + [w for w in (grouped_words(project.conn, c) for c in (a, b)) if w] + _settled_from(project.conn, a, b)


def _settled_from(conn, a: str, b: str) -> list[str]:
    """A consensus set beside a coder it was settled from agrees with them by construction."""
    from .reconcile import sources

    made = sources(conn)
    for team, person in ((a, b), (b, a)):
        if person in made.get(team, []):
            return [f"{team} was settled from {and_list(made[team])}'s codings, so its agreement with {person} is high "
                    f"by construction; the agreement between {and_list(made[team])} is the reliability to report"]
    return []


def grouped_words(conn, coder: str) -> str:
    """A coder whose codings came mostly from accepting candidate codes whole coded groups the
    clustering made, not utterances one by one: agreement with them is partly the clustering's."""
    if coder == MACHINE:
        return ""
    grouped = _from_candidates(conn, coder)
    total = conn.execute("SELECT COUNT(DISTINCT utterance) FROM codings WHERE coder = ?", (coder,)).fetchone()[0]
    if not total or grouped * 2 < total:
        return ""
    return (f"{grouped} of {coder}'s {total} coded utterances were coded by accepting candidate codes as whole "
            "groups, not read one by one, so agreement with them measures the clustering as much as a reading")


def _pair(project: Project, a: str, b: str, names: dict) -> dict:
    from .compare import compare_project

    report = compare_project(project, [a, b])
    o = report["overall"]
    themes = [{"id": t, "name": names.get(t, t), **_figures(f)} for t, f in report["per_theme"].items()]
    rows = [{**{k: d.get(k, "") for k in ("document", "unit", "speaker", "text", "before", "after")},
             "labels": {w: d.get(w) or "(not coded)" for w in (a, b)}}   # named by compare_project
            for d in report["disagreements"][:DISAGREEMENTS_SHOWN]]
    documents = sorted(report.get("per_document") or {}, key=natural)
    return {"coders": [a, b], **_figures(o), "documents": documents, "all_documents": len(document_ids(project.conn)),
            "per_theme": themes, "disagreements": rows,
            "n_disagreements": len(report["disagreements"]), "uncoded": report["uncoded"],
            "cautions": cautions(project, a, b), "without_unread": _without_unread(project, a, b)}


def _without_unread(project: Project, a: str, b: str) -> dict | None:
    """The pair's figures over the utterances neither accepted unread, where some were: the
    agreement that is the coders' own (None when no utterance was accepted unread)."""
    from .compare import compare_project
    from .confirm import unread_overlap

    if not (unread_overlap(project.conn, a, b) or unread_overlap(project.conn, b, a)):
        return None
    try:
        return _figures(compare_project(project, [a, b], ci=False, leave_out_unread=True)["overall"])
    except AutocodeError:   # nothing of one of them is left: the page says so
        return {"n_units": 0}


def _figures(f: dict) -> dict:
    return {k: f.get(k) for k in ("n_units", "percent_agreement", "cohen_kappa", "krippendorff_alpha", "in_words")}


# -- the classifier -----------------------------------------------------------------------------------------

def classifier(conn) -> dict | None:
    """The latest trained classifier's own figures, as ``autocode train`` stored them."""
    row = conn.execute("SELECT coder, created_at, metrics FROM classifiers ORDER BY id DESC LIMIT 1").fetchone()
    if row is None:
        return None
    m = json.loads(row["metrics"])
    return {"coder": row["coder"], "created_at": row["created_at"], "utterances": m.get("utterances"),
            "codes": len(m.get("codes") or []), "cross_validation": m.get("cross_validation")}


def curve(project: Project, coder: str, fractions=FRACTIONS, folds: int = 5, seed: int = 0) -> dict:
    """How agreement with the coder grows with the amount coded: is more coding worth it?

    Each point trains on a seeded share of the utterances in the training documents (the
    shares are nested, so points differ only in amount) and is scored on whole held-out
    documents, as a new transcript would be.
    """
    from threadpoolctl import threadpool_limits

    from .features import definitions, inputs
    from .learn import training_set

    model, batch = project.setting("embedding", "model"), project.setting("embedding", "batch_size")
    with project.transaction() as conn:
        utts, main, all_codes = _read_by(conn, coder, *training_set(conn, coder))
        everything = {"documents": len({u.document for u in utts}), "utterances": len(utts)}
        picked = _sample_documents([u.document for u in utts], CURVE_MOST, seed)
        utts, main, all_codes = ([x[i] for i in picked] for x in (utts, main, all_codes))
        inp = inputs(conn, utts, model, batch)
        defs = definitions(conn, model, batch)
        themes = {c.id: c.theme for c in cb.load(conn).codes}
        clustered = _from_candidates(conn, coder)
    groups = [u.document for u in utts]
    if len(set(groups)) < 2 or len(set(main)) < 2:
        return {"note": f"Too little coding for a learning curve: {coder}'s codings need at least two documents "
                        "and two different codes."}
    rank = np.random.default_rng(seed).permutation(len(main))
    with threadpool_limits(1):  # small models: one thread is several times faster than two
        points = [_point(inp, main, all_codes, groups, themes, f, rank, project.setting("classifier", "C"), folds, defs)
                  for f in fractions]
    return {"coder": coder, "documents": len(set(groups)), "folds": min(folds, len(set(groups))), "points": points,
            "utterances": len(utts), "from_candidates": clustered,
            "sampled_from": everything if len(utts) < everything["utterances"] else None}


def _sample_documents(documents: list[str], most: int, seed: int) -> list[int]:
    """Whole documents, in a seeded order, until ``most`` utterances (so the curve is still
    scored on held-out transcripts); every index when there are no more than that."""
    if len(documents) <= most:
        return list(range(len(documents)))
    order = list(dict.fromkeys(documents))
    np.random.default_rng(seed).shuffle(order)
    size, kept = {d: documents.count(d) for d in order}, set()
    for d in order:
        if sum(size[k] for k in kept) >= most and len(kept) >= 2:
            break
        kept.add(d)
    return [i for i, d in enumerate(documents) if d in kept]


def _from_candidates(conn, coder: str) -> int:
    """The coder's coded utterances whose code came from accepting a candidate (a group the
    clustering made): a classifier scored on those is scored on finding the groups again."""
    return conn.execute("SELECT COUNT(DISTINCT c.utterance) FROM codings c JOIN candidate_members m ON m.utterance = "
                        "c.utterance JOIN candidates k ON k.id = m.candidate AND k.code = c.code AND k.status IN "
                        "('accepted', 'merged') WHERE c.coder = ? AND EXISTS (SELECT 1 FROM decisions d, "
                        "json_each(d.details, '$.candidates') j WHERE d.action IN ('accept', 'merge') AND "
                        "d.coder = c.coder AND j.value = k.id)", (coder,)).fetchone()[0]   # their own acceptance


def _read_by(conn, coder: str, utts: list, main: list, all_codes: list) -> tuple[list, list, list]:
    """The codings the coder made by reading: suggestions accepted unread would score the machine
    against itself, so the curve leaves them out, as ``train``'s cross-validation does."""
    from .learn import _unread_rows

    skip = _unread_rows(conn, coder, utts)
    keep = [i for i in range(len(utts)) if i not in skip]
    return [utts[i] for i in keep], [main[i] for i in keep], [all_codes[i] for i in keep]


def _point(inp, main, all_codes, groups, themes, fraction, rank, C, folds, defs=None) -> dict:
    """One point of the curve: document-fold predictions after training on ``fraction``."""
    from sklearn.model_selection import GroupKFold

    from .compare import pair_agreement
    from .learn import fit_predict

    predicted, sizes = np.empty(len(main), dtype=object), []
    for train, test in GroupKFold(n_splits=min(folds, len(set(groups)))).split(inp.X, main, groups):
        keep = train[np.argsort(rank[train], kind="stable")][: max(1, round(fraction * len(train)))]
        predicted[test] = fit_predict(inp, all_codes, keep, test, themes, C, defs)
        sizes.append(len(keep))
    theme = np.vectorize(lambda c: themes.get(c, ""), otypes=[object])
    return {"fraction": fraction, "n_train": int(round(np.mean(sizes))),
            "codes": pair_agreement(main, predicted)["cohen_kappa"],
            "themes": pair_agreement(theme(main), theme(predicted))["cohen_kappa"]}


def render_html(data: dict) -> str:
    from .report_html import render_html as render

    return render(data)


def write_report(project: Project, out: str | Path, coder: str | None = None) -> Path:
    """Gather, render and write the report in one go; the file appears whole or not at all.

    A bad output path is refused before the seconds of gathering, not after.
    """
    from .export import write_text

    out = Path(out)
    if not out.parent.is_dir():
        raise AutocodeError("the folder does not exist", "create it first or choose another place", str(out.parent))
    return write_text(out, render_html(report_data(project, coder)))
