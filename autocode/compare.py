"""Comparing codings: coders with each other, and the machine with coders.

Codings come from the project (``compare_project``) or from codings CSV files
(``compare_files``). They are turned into units of comparison, and every unit gets each
coder's set of codes:

- ``utterance`` (default): one unit per utterance.
- ``character``: one unit per character of coded text, as NVivo's coding comparison does
  (computed as stretches of text weighted by their length).
- ``segment``: MAXQDA's rule: a coded segment agrees when the other coder coded the same code
  on a segment overlapping it by at least ``overlap`` (intersection over union).

Per code, each unit is "present" or "absent" for each coder, over the units of the documents
in which anyone used that code.

Uncoded text: by default a coder's figures use only what that coder coded (uncoded
utterances are missing data, so they cannot inflate agreement). ``uncoded="no-code"`` counts
every participant utterance a coder left uncoded, in documents they coded, as "no code".
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from itertools import combinations
from pathlib import Path

import numpy as np

from . import agreement as ag
from . import codebook as cb
from .confirm import UNREAD
from .errors import AutocodeError, and_list
from .store import marks

NO_CODE = "(no code)"
UNITS = ("utterance", "character", "segment")


@dataclass
class Coding:
    coder: str
    document: str
    start: int | None
    end: int | None
    code: str
    utterance: str | None = None
    text: str = ""
    theme: str = ""


@dataclass
class Units:
    """Units of comparison: a key, each coder's codes (None = not coded), a weight, a text."""
    keys: list[tuple] = field(default_factory=list)
    codes: list[dict[str, frozenset | None]] = field(default_factory=list)
    weights: list[float] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)


# -- two coders' figures on one labelling ------------------------------------------------------

def figures(table: ag.Table, weights=None, n_categories: int | None = None, ci: bool = True, seed: int = 0) -> dict:
    """Every figure for one reliability table, each read out in words, with notes for gaps."""
    M, cats = ag.encode(table)
    k, n_coders = len(cats), M.shape[1] if M.size else 0
    coded = (M >= 0).sum(axis=1) >= 2 if M.size else np.zeros(0, bool)
    out = {"n_units": int(coded.sum()), "percent_agreement": ag._percent(M, k, weights),
           "krippendorff_alpha": ag._alpha(M, k, weights),
           "brennan_prediger": ag._bp(M, k, weights, max(n_categories or 0, k)), "notes": []}
    if weights is not None:
        out["n_characters"] = int(np.asarray(weights)[coded].sum())
    if n_coders == 2:
        out["cohen_kappa"] = ag._cohen(M, k, weights)
    if n_coders >= 3:
        out["fleiss_kappa"] = ag._fleiss(M, k, weights)
        if out["n_units"] and not (M >= 0).all(axis=1).any():
            out["notes"].append(f"no unit was coded by all {n_coders} coders, so Fleiss' kappa is undefined; "
                                "the figures for each pair of coders are below")
        elif out["fleiss_kappa"] is not None and (full := int((M >= 0).all(axis=1).sum())) < out["n_units"]:
            out["notes"].append(f"Fleiss' kappa counts only the {full} of these {out['n_units']} units that all "
                                f"{n_coders} coders coded; alpha and percent agreement count them all")
    if ci and out["n_units"] >= 2:   # resample the compared units only, so others never move the interval
        Mc, wc = M[coded], None if weights is None else np.asarray(weights)[coded]
        out["krippendorff_alpha_ci"] = _bracketing(out.get("krippendorff_alpha"), ag.bootstrap_ci("alpha", Mc, k, wc, seed=seed))
        if n_coders == 2:
            out["cohen_kappa_ci"] = _bracketing(out.get("cohen_kappa"), ag.bootstrap_ci("kappa", Mc, k, wc, seed=seed))
    compared = M[coded] if M.size else M
    _explain(out, len(np.unique(compared[compared >= 0])))   # categories in the units compared, not in all
    return out


def _bracketing(value: float | None, ci: tuple[float, float] | None) -> tuple[float, float] | None:
    """A bootstrap interval that misses its own estimate (units nearly all of one category,
    where resamples fall apart) measures nothing: none is given rather than a wrong one."""
    if ci is None or value is None or ci[0] - 1e-9 <= value <= ci[1] + 1e-9:
        return ci
    return None


def _explain(out: dict, k: int) -> None:
    if out["n_units"] == 0:
        out["notes"].append("no unit was coded by two or more of these coders, so nothing can be compared")
    elif k <= 1:
        out["notes"].append("in the units compared every coder used the same single category, so kappa and alpha are undefined "
                            "(there is no variation to agree on); percent agreement is 100%")
    words = []
    if out.get("cohen_kappa") is not None:
        words.append(ag.describe("kappa", out["cohen_kappa"], out.get("cohen_kappa_ci"), ag.kappa_words))
    if out.get("fleiss_kappa") is not None:
        words.append(ag.describe("Fleiss' kappa", out["fleiss_kappa"], None, ag.kappa_words))
    if out.get("krippendorff_alpha") is not None:
        words.append(ag.describe("alpha", out["krippendorff_alpha"], out.get("krippendorff_alpha_ci"), ag.alpha_words))
    out["in_words"] = "; ".join(words) or "; ".join(out["notes"])


# -- reading codings ---------------------------------------------------------------------------

def codings_from_project(conn, coders: list[str], documents: list[str] | None = None,
                         leave_out: set[int] = frozenset()) -> tuple[list[Coding], dict]:
    """The coders' codings, and the participant utterances of the documents they cover, less
    the utterances ``leave_out`` (ids) for everyone."""
    themes = {c.id: c.theme for c in cb.load(conn).codes}
    sql = ("SELECT c.coder, u.document, u.start, u.end, c.code, u.idx, u.text, u.id FROM codings c"
           " JOIN utterances u ON u.id = c.utterance WHERE c.coder IN ({})".format(",".join("?" * len(coders))))
    rows = conn.execute(sql + " ORDER BY u.document, u.idx", coders).fetchall()
    found = [Coding(r[0], r[1], r[2], r[3], r[4], str(r[5]), r[6], themes.get(r[4], "")) for r in rows
             if (not documents or r[1] in documents) and r[7] not in leave_out]
    utts = {(r[0], str(r[1])): (r[2], r[3], r[4]) for r in conn.execute(
        "SELECT document, idx, start, end, text, id FROM utterances WHERE is_interviewer = 0")
        if (not documents or r[0] in documents) and r[5] not in leave_out}
    return found, utts


def unread_utterances(conn, coders: list[str]) -> set[int]:
    """Utterances where one of ``coders`` accepted a suggestion unread: there that coder's codes
    are the machine's, so agreement on them is not theirs."""
    marks = ",".join("?" * len(coders))
    return {r[0] for r in conn.execute(f"SELECT DISTINCT utterance FROM codings WHERE coder IN ({marks}) AND reason = ?",
                                       (*coders, UNREAD))}


def _refuse_if_unread_took_all(conn, coders: list[str], documents: list[str] | None, codings: list[Coding]) -> None:
    """A coder left with nothing once the unread utterances are out: say so, not 'no codings'."""
    left = {c.coder for c in codings}
    if all(w in left for w in coders):   # the usual case: no second reading of every coding
        return
    had = {c.coder for c in codings_from_project(conn, coders, documents)[0]}
    gone = [w for w in coders if w in had and w not in left]
    if not gone:
        return
    who = [r[0] for r in conn.execute(f"SELECT DISTINCT coder FROM codings WHERE reason = ? AND coder IN "
                                      f"({marks(coders)}) ORDER BY coder", (UNREAD, *coders))]
    raise AutocodeError(f"leaving out the utterances where {and_list(who)} accepted the machine's suggestions unread "
                        f"leaves no codings by {and_list(gone)} to compare",
                        "read suggestions one at a time ('autocode confirm', or 'autocode review' in the browser) to "
                        "make codings that are read, or compare without --leave-out-unread to see agreement with "
                        "the machine's reading")


def codings_from_files(paths: list[Path], conn=None) -> list[Coding]:
    """Codings from export-format CSVs; each file is one coder (its 'coder' column, or its name)."""
    themes = {c.id: c.theme for c in cb.load(conn).codes} if conn is not None else {}
    files = [(Path(p), _read_rows(Path(p))) for p in paths]
    names = []
    for path, rows in files:
        found = {str(r.get("coder", "")).strip() for r in rows} - {""}
        if len(found) > 1:   # everyone's codings in one file would be compared as one coder's
            raise AutocodeError(f"the file holds the codings of {len(found)} coders ({', '.join(sorted(found))}), "
                                "and a file compared must hold one coder's",
                                "export each coder to a file of their own (autocode export --coder NAME --out "
                                "NAME.csv), or compare the coders by name inside the project", str(path))
        names.append(found.pop() if len(found) == 1 else path.stem)
    if len(set(names)) < len(names):  # the same coder twice (intra-coder agreement): name them by file
        names = [path.stem for path, _ in files]
    return [_row_coding(r, who, i, path, themes)
            for (path, rows), who in zip(files, names) for i, r in enumerate(rows, start=2)]


def _read_rows(path: Path) -> list[dict]:
    from .codings import read_csv

    frame = read_csv(path)
    missing = [c for c in ("document", "code") if c not in frame.columns]
    if missing or not ({"start", "end"} <= set(frame.columns) or "utterance" in frame.columns):
        raise AutocodeError(f"missing column(s) {', '.join(missing) or 'start/end or utterance'}",
                            "use the columns autocode export writes: document, utterance, start, end, code, ...", str(path))
    return frame.to_dict("records")


def _row_coding(r: dict, coder: str, row: int, path: Path, themes: dict) -> Coding:
    from .codings import _int

    start = _int(r["start"], "start", row, path) if str(r.get("start", "")).strip() else None
    end = _int(r["end"], "end", row, path) if str(r.get("end", "")).strip() else None
    utt = str(r.get("utterance", "")).strip() or None
    if utt is None and start is None:
        raise AutocodeError(f"row {row} has neither an utterance nor start/end offsets", "fill one of them in", str(path))
    code = str(r["code"]).strip()
    return Coding(coder, str(r["document"]).strip(), start, end, code, utt, str(r.get("text", "")),
                  str(r.get("theme", "")).strip() or themes.get(code, ""))


# -- units ---------------------------------------------------------------------------------------

def utterance_units(codings: list[Coding], coders: list[str], utts: dict | None = None, uncoded: str = "missing") -> Units:
    by_unit: dict[tuple, dict[str, set]] = {}
    info: dict[tuple, tuple] = {}
    for c in codings:
        key = (c.document, c.utterance if c.utterance is not None else f"{c.start}-{c.end}")
        by_unit.setdefault(key, {}).setdefault(c.coder, set()).add(c.code)
        info.setdefault(key, (c.start, c.end, c.text))
    if uncoded == "no-code" and utts:
        docs_of = {who: {c.document for c in codings if c.coder == who} for who in coders}
        for key, (start, end, text) in utts.items():
            info.setdefault(key, (start, end, text))
            for who in coders:
                if key[0] in docs_of[who]:
                    by_unit.setdefault(key, {}).setdefault(who, {""})
    units = Units()
    for key in sorted(by_unit, key=_unit_order):
        units.keys.append(key)
        units.codes.append({w: frozenset(by_unit[key].get(w)) if w in by_unit[key] else None for w in coders})
        units.weights.append(1.0)
        units.texts.append(info[key][2])
    return units


def _unit_order(key: tuple):
    doc, ref = key[0], str(key[1])
    head = ref.split("-")[0]
    return (doc, int(head) if head.lstrip("-").isdigit() else 0, ref)


def character_units(codings: list[Coding], coders: list[str]) -> Units:
    """Stretches of text between coding boundaries, weighted by their length."""
    units = Units()
    for doc in sorted({c.document for c in codings}):
        mine = [c for c in codings if c.document == doc and c.start is not None]
        if not mine:
            continue
        coded_doc = {c.coder for c in mine}
        bounds = sorted({b for c in mine for b in (c.start, c.end)})
        for lo, hi in zip(bounds, bounds[1:]):
            over = [c for c in mine if c.start <= lo and c.end >= hi]
            if not over:
                continue
            codes = {w: frozenset(c.code for c in over if c.coder == w) or (frozenset({""}) if w in coded_doc else None)
                     for w in coders}
            units.keys.append((doc, f"{lo}-{hi}"))
            units.codes.append(codes)
            units.weights.append(float(hi - lo))
            units.texts.append("")
    return units


def _label(codes: frozenset | None, mapping=None) -> str | None:
    if codes is None:
        return None
    names = {mapping.get(c, c) if mapping else c for c in codes if c}
    return "+".join(sorted(names)) or NO_CODE


def _binary(codes: frozenset | None, target: str, mapping=None) -> str | None:
    if codes is None:
        return None
    return "present" if target in {mapping.get(c, c) if mapping else c for c in codes} else "absent"


# -- the report ----------------------------------------------------------------------------------

def compare(codings: list[Coding], coders: list[str], unit: str = "utterance", level: str = "code",
            utts: dict | None = None, uncoded: str = "missing", overlap: float = 0.9,
            reference: str | None = None, codes: list[str] | None = None, ci: bool = True, seed: int = 0) -> dict:
    """Agreement overall, per code, per theme and per document, with disagreements."""
    _check(codings, coders, unit, level, uncoded, overlap)
    themes = {c.code: c.theme for c in codings if c.code}
    if codes:   # other codes read as "none of these": the units, and each code's figures, stay as unfiltered
        codings = [c if c.code in codes else replace(c, code="") for c in codings]
    if unit == "segment":
        return segment_report(codings, coders, overlap, themes)
    units = character_units(codings, coders) if unit == "character" else utterance_units(codings, coders, utts, uncoded)
    weights = np.array(units.weights) if unit == "character" else None
    mapping = themes if level == "theme" else None
    all_codes = sorted({c for u in units.codes for s in u.values() if s for c in s if c})
    report = {"unit": unit, "level": level, "coders": coders, "uncoded": _uncoded_words(unit, uncoded),
              "overall": _overall(units, coders, weights, mapping, ci, seed),
              "per_code": {c: _per_label(units, coders, weights, c, None, ci, seed) for c in (codes or all_codes)},
              "per_theme": {t: _per_label(units, coders, weights, t, themes, ci, seed)
                            for t in sorted(set(themes.values()) - {""})},
              "per_document": _per_document(units, coders, weights, mapping, seed, ci),
              "confusion": confusion(units, coders, mapping) if len(coders) == 2 else None,
              "disagreements": disagreements(units, coders, mapping),
              "several_codes": several_codes(units, mapping)}
    if reference:
        report["against_reference"] = precision_recall(units, coders, reference, all_codes)
    return report


def several_codes(units: Units, mapping=None) -> int:
    """Compared units (coded by two or more) where a coder gave two or more codes (or, at
    theme level, codes of two or more themes): there the overall figure asks for the same set."""
    def labels(s):
        return {mapping.get(c, c) if mapping else c for c in s if c}
    return sum(1 for u in units.codes if sum(s is not None for s in u.values()) >= 2
               and any(s and len(labels(s)) > 1 for s in u.values()))


def _check(codings, coders, unit, level, uncoded, overlap) -> None:
    if unit not in UNITS:
        raise AutocodeError(f"unknown unit '{unit}'", f"use one of: {', '.join(UNITS)}")
    if level not in ("code", "theme"):
        raise AutocodeError(f"unknown level '{level}'", "use --level code or --level theme")
    if uncoded not in ("missing", "no-code"):
        raise AutocodeError(f"unknown treatment of uncoded text '{uncoded}'", "use --uncoded missing or --uncoded no-code")
    if not 0 < overlap <= 1:
        raise AutocodeError(f"overlap must be between 0 and 1 (got {overlap})", "for 90% write --overlap 0.9")
    if len(set(coders)) < 2:
        raise AutocodeError("a comparison needs at least two different coders", "name two or more coders or files")
    have = {c.coder for c in codings}
    missing = [c for c in coders if c not in have]
    if missing:
        raise AutocodeError(f"no codings by {', '.join(missing)}",
                            f"coders with codings here: {', '.join(sorted(have)) or 'none'}")


def _uncoded_words(unit: str, uncoded: str) -> str:
    if unit == "character":
        return "characters a coder left uncoded in a document they coded count as 'no code'; other text is not compared"
    if uncoded == "no-code":
        return "participant utterances a coder left uncoded, in documents they coded, count as 'no code'"
    return "utterances a coder left uncoded are missing data for that coder (they neither agree nor disagree)"


def _table(units: Units, coders, fn) -> list[list]:
    return [[fn(u[w]) for w in coders] for u in units.codes]


def _overall(units, coders, weights, mapping, ci, seed) -> dict:
    out = figures(_table(units, coders, lambda s: _label(s, mapping)), weights, ci=ci, seed=seed)
    if len(coders) > 2:
        out["pairs"] = {f"{a} ~ {b}": figures(_table(units, [a, b], lambda s: _label(s, mapping)), weights, ci=False)
                        for a, b in combinations(coders, 2)}
    return out


def _per_label(units, coders, weights, target, mapping, ci, seed) -> dict:
    """Present/absent figures over the units of the documents where someone used ``target``.

    Documents where nobody used a code say nothing about it (a survey question with its own
    codes, an interview that never touched the topic) and would only inflate agreement.
    """
    has = lambda s: bool(s) and target in {mapping.get(c, c) if mapping else c for c in s}  # noqa: E731
    docs = {k[0] for k, u in zip(units.keys, units.codes) if any(has(s) for s in u.values())}
    keep = [i for i, k in enumerate(units.keys) if k[0] in docs] if docs else list(range(len(units.keys)))
    sub = Units([units.keys[i] for i in keep], [units.codes[i] for i in keep], [units.weights[i] for i in keep])
    w = None if weights is None else weights[keep]
    out = figures(_table(sub, coders, lambda s: _binary(s, target, mapping)), w, n_categories=2, ci=ci, seed=seed)
    out["n_documents"] = len(docs)
    compared = [u for u in sub.codes if sum(u[w] is not None for w in coders) >= 2]   # the n_units above
    out["present"] = {w: int(sum(has(u[w]) for u in compared)) for w in coders}
    if not docs:
        out["notes"].insert(0, f"nobody used '{target}' in these units")
        out["in_words"] = "; ".join(out["notes"])
    return out


def _per_document(units, coders, weights, mapping, seed, ci=True) -> dict:
    out = {}
    for doc in sorted({k[0] for k in units.keys}):
        idx = [i for i, k in enumerate(units.keys) if k[0] == doc]
        sub = Units([units.keys[i] for i in idx], [units.codes[i] for i in idx], [units.weights[i] for i in idx])
        w = None if weights is None else weights[idx]
        found = figures(_table(sub, coders, lambda s: _label(s, mapping)), w, ci=ci, seed=seed)
        if found["n_units"]:  # documents only one coder coded have nothing to compare
            out[doc] = found
    return out


def confusion(units: Units, coders: list[str], mapping=None) -> dict:
    """Counts of (first coder's label, second coder's label) over units both coded."""
    a, b = coders[:2]
    out: dict[str, dict[str, int]] = {}
    for u in units.codes:
        la, lb = _label(u[a], mapping), _label(u[b], mapping)
        if la is not None and lb is not None:
            out.setdefault(la, {}).setdefault(lb, 0)
            out[la][lb] += 1
    return out


def disagreements(units: Units, coders: list[str], mapping=None) -> list[dict]:
    """Units where coders gave different codes: the list for the consensus meeting."""
    out = []
    for key, u, text in zip(units.keys, units.codes, units.texts):
        labels = {w: _label(u[w], mapping) for w in coders if u[w] is not None}
        if len(labels) >= 2 and len(set(labels.values())) > 1:
            out.append({"document": key[0], "unit": key[1], "text": text, **labels})
    return out


def precision_recall(units: Units, coders: list[str], reference: str, codes: list[str]) -> dict:
    """Each other coder against the reference coder: precision, recall and F1 per code."""
    if reference not in coders:
        raise AutocodeError(f"the reference coder '{reference}' is not among the coders compared",
                            f"choose one of: {', '.join(coders)}")
    out = {}
    for who in (c for c in coders if c != reference):
        both = [u for u in units.codes if u[who] is not None and u[reference] is not None]
        out[who] = {code: _prf(sum(code in u[who] and code in u[reference] for u in both),
                               sum(code in u[who] for u in both), sum(code in u[reference] for u in both))
                    for code in codes}
    return out


def _prf(tp: int, predicted: int, actual: int) -> dict:
    p = tp / predicted if predicted else None
    r = tp / actual if actual else None
    f = 2 * p * r / (p + r) if p and r else (0.0 if predicted and actual else None)
    return {"precision": p, "recall": r, "f1": f, "n_reference": actual, "n_coder": predicted}


# -- segment overlap (MAXQDA) ------------------------------------------------------------------

def segment_report(codings: list[Coding], coders: list[str], overlap: float, themes: dict) -> dict:
    """Per code: each coder's segments that the others matched (overlap >= threshold)."""
    coded = [{c.document for c in codings if c.coder == w} for w in coders]
    shared = set.intersection(*coded) if coded else set()   # a document one coder never coded is not a disagreement
    segs = [c for c in codings if c.code and c.start is not None and c.document in shared]
    per_code = {}
    for code in sorted({c.code for c in segs}):
        agree = disagree = 0
        for c in (s for s in segs if s.code == code):
            others = [o for o in segs if o.code == code and o.coder != c.coder and o.document == c.document]
            matched = any(_iou(c, o) >= overlap for o in others)
            agree, disagree = agree + matched, disagree + (not matched)
        per_code[code] = {"agreements": agree, "disagreements": disagree,
                          "percent_agreement": 100 * agree / (agree + disagree), "notes": []}
    total_a = sum(v["agreements"] for v in per_code.values())
    total = total_a + sum(v["disagreements"] for v in per_code.values())
    note = ("kappa and alpha are not defined for segment overlap: there is no fixed set of units; "
            "use --unit utterance or --unit character for them")
    overall = {"n_units": total, "percent_agreement": 100 * total_a / total if total else None,
               "cohen_kappa": None, "krippendorff_alpha": None, "notes": [note]}
    overall["in_words"] = f"{overall['percent_agreement']:.1f}% of coded segments matched" if total else note
    return {"unit": "segment", "level": "code", "overlap": overlap, "coders": coders, "overall": overall, "per_code": per_code,
            "uncoded": "only coded segments are compared", "per_theme": {}, "per_document": {},
            "confusion": None, "disagreements": []}


def _iou(a: Coding, b: Coding) -> float:
    inter = max(0, min(a.end, b.end) - max(a.start, b.start))
    union = max(a.end, b.end) - min(a.start, b.start)
    return inter / union if union else 0.0


# -- the figures train and the benchmarks use -----------------------------------------------------

def pair_agreement(a, b) -> dict:
    """Percent agreement, Cohen's kappa and macro-F1 of coding ``b`` against reference ``a``."""
    from sklearn.metrics import f1_score

    a, b = [str(x) for x in a], [str(x) for x in b]
    if len(a) != len(b):
        raise ValueError(f"codings: both must cover the same units; got {len(a)} and {len(b)}")
    if not a:
        return {"n_units": 0, "percent_agreement": None, "cohen_kappa": None, "macro_f1": None}
    labels = sorted(set(a) | set(b))
    return {"n_units": len(a), "percent_agreement": ag.percent_agreement([[x, y] for x, y in zip(a, b)]),
            "cohen_kappa": ag.cohen_kappa(a, b),
            "macro_f1": float(f1_score(a, b, labels=labels, average="macro", zero_division=0))}


def write_disagreements(rows: list[dict], coders: list[str], path: Path) -> None:
    from .export import write_csv

    context = ["before", "speaker", "after"] if any("before" in r for r in rows) else []
    write_csv(path, rows, ["document", "unit", *context[:2], "text", *context[2:], *coders])


def compare_project(project, coders: list[str], documents: list[str] | None = None,
                    themes: list[str] | None = None, leave_out_unread: bool = False, **options) -> dict:
    """Compare coders' codings stored in a project (``leave_out_unread``: see :func:`codings_from_project`)."""
    from .codings import require_coder
    from .corpus import check_documents

    for who in coders:
        require_coder(project.conn, who)
    if documents:
        check_documents(project.conn, documents)
    skip = unread_utterances(project.conn, coders) if leave_out_unread else set()
    codings, utts = codings_from_project(project.conn, coders, documents, skip)
    if skip:
        _refuse_if_unread_took_all(project.conn, coders, documents, codings)
    _check_codes(options.get("codes"), codings, [c.id for c in cb.load(project.conn).codes])
    if themes:
        options["codes"] = _codes_of_themes(project.conn, themes, options.get("codes"))
    report = compare(codings, coders, utts=utts, **options)
    add_context(project.conn, report["disagreements"])
    return named(report, cb.load(project.conn), restricted=bool(options.get("codes")))


def named(report: dict, book: cb.Codebook, restricted: bool = False) -> dict:
    """Codes and themes as the codebook names them, for a consensus meeting's sheet; ids stay
    the keys of the figures. Where only some codes were compared, a unit with none of them is
    "none of these codes" (it may well carry others)."""
    names = {c.id: c.name for c in book.codes} | {t.id: t.name for t in book.themes}
    none = "(none of these codes)" if restricted else NO_CODE
    say = lambda label: none if label == NO_CODE else " + ".join(names.get(x, x) for x in label.split("+"))  # noqa: E731
    for row in report["disagreements"]:
        for who in report["coders"]:
            if row.get(who) is not None:
                row[who] = say(row[who])
    if report.get("confusion"):
        report["confusion"] = {say(a): {say(b): n for b, n in row.items()} for a, row in report["confusion"].items()}
    report["names"] = names
    return report


def add_context(conn, rows: list[dict]) -> None:
    """The utterances just before and after each disagreement, as a consensus meeting needs;
    for a span of characters, its own text."""
    texts: dict[str, str] = {}   # each document read once, however many spans it has
    for row in rows:
        span = re.fullmatch(r"(\d+)-(\d+)", str(row["unit"]))
        if span and not row.get("text"):
            if row["document"] not in texts:
                doc = conn.execute("SELECT text FROM documents WHERE id = ?", (row["document"],)).fetchone()
                texts[row["document"]] = doc[0] if doc else ""
            row["text"] = texts[row["document"]][int(span[1]):int(span[2])]
        if not str(row["unit"]).isdigit():
            continue
        i = int(row["unit"])
        near = {r[0]: r for r in conn.execute("SELECT idx, speaker, text FROM utterances WHERE document = ? AND idx "
                                               "IN (?, ?, ?)", (row["document"], i - 1, i, i + 1))}
        row["before"], row["after"] = (f"{near[j][1]}: {near[j][2]}" if j in near else "" for j in (i - 1, i + 1))
        row["speaker"] = near[i][1] if i in near else ""


def compare_files(paths: list[Path], documents: list[str] | None = None, **options) -> dict:
    """Compare codings CSV files (one coder each), with no project needed."""
    codings = codings_from_files(paths)
    if documents:
        known = sorted({c.document for c in codings})
        unknown = [d for d in documents if d not in known]
        if unknown:
            raise AutocodeError(f"no coding in these files is of document {', '.join(map(repr, unknown))}",
                                f"use documents the files code: {', '.join(known)}")
        codings = [c for c in codings if c.document in documents]
    return compare(codings, list(dict.fromkeys(c.coder for c in codings)), **options)


def _check_codes(codes: list[str] | None, codings: list[Coding], codebook: list[str] = ()) -> None:
    """A misspelt code would compare nothing and report perfect agreement: refuse it by name.
    (Files alone have no codebook, so there a code nobody used is reported as such instead.)"""
    known = sorted(set(codebook) | {c.code for c in codings if c.code})
    unknown = [c for c in codes or [] if c not in known]
    if unknown:
        raise AutocodeError(f"no code {', '.join(map(repr, unknown))} in the codebook or these codings",
                            f"use code ids such as: {', '.join(known[:12])}{' ...' if len(known) > 12 else ''}")


def _codes_of_themes(conn, themes: list[str], codes: list[str] | None) -> list[str]:
    book = cb.load(conn)
    picked = []
    for ref in themes:
        theme = book.find_theme(ref)
        if theme is None:
            raise AutocodeError(f"there is no theme '{ref}'", f"use one of: {', '.join(t.id for t in book.themes)}")
        picked += [c.id for c in theme.codes]
    return [c for c in picked if not codes or c in codes]
