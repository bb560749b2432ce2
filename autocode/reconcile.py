"""Consensus coding after double coding.

A team that codes independently meets to settle its disagreements, and the settled coding is
what the study reports and what the classifier should learn from. :func:`reconcile` gives the
consensus coder every utterance the coders coded alike, and lists the rest for the meeting as
a sheet with an empty "agreed code" column; :func:`settle` reads that sheet back. Both are
recorded decisions, so ``autocode undo`` takes either back whole.
"""
from __future__ import annotations

import json
from pathlib import Path

from . import codebook as cb
from . import codings as cd
from .errors import AutocodeError, NotFound, and_list
from .review import _coder
from .store import Project, marks, now
from .undo import recorded

CONSENSUS = "consensus"
AGREED = "agreed code"
NOT_CODED = "(not coded)"
UNREAD_MARK = " (accepted unread)"
NONE_WORDS = {"none", "no code", "(no code)", "-"}


def reconcile(project: Project, coders: list[str], into: str = CONSENSUS, documents: list[str] | None = None,
              decided_by: str | None = None) -> dict:
    """Give ``into`` the codings the ``coders`` agree on (utterances it has not coded yet) and
    return the utterances they disagree on, for the meeting's sheet."""
    found = plan(project.conn, coders, into, documents)
    if found["agreed"]:
        with recorded(project) as conn:
            conn.executemany("INSERT INTO codings (utterance, code, coder, created_at) VALUES (?, ?, ?, ?)",
                             [(u, code, into, now()) for u, codes in found["agreed"].items() for code in sorted(codes)])
            project.log("reconcile", _coder(decided_by), coders=coders, into=into, utterances=list(found["agreed"]))
    return {"coders": coders, "into": into, "agreed": len(found["agreed"]), "already": found["already"],
            "documents": found["documents"], "partly": found["partly"], "alone": found["alone"],
            "unread": sum(u in found["unread"] for u in found["open"]),
            "to_settle": sheet_rows(project.conn, found["open"], found["units"], coders, found["unread"])}


def plan(conn, coders: list[str], into: str = CONSENSUS, documents: list[str] | None = None) -> dict:
    """What reconciling finds, written nowhere (the review page shows it before anyone acts):
    ``agreed`` (utterance: codes) for the consensus to take, ``open`` utterances to settle."""
    _check_names(conn, coders, into)
    units = _units(conn, coders, documents)
    settled = set(cd.labels_by_utterance(conn, into))
    unread = _unread(conn, coders)
    fresh = {u: sets for u, sets in units.items() if u not in settled}
    agreed = {u: sets[coders[0]] for u, sets in fresh.items() if u not in unread and _alike(sets)}
    return {"units": units, "unread": unread, "agreed": agreed, "already": len(settled & units.keys()),
            "open": [u for u, sets in fresh.items() if None not in sets.values() and u not in agreed],
            "partly": _partly(units, [u for u, sets in fresh.items() if None in sets.values()], coders),
            "documents": sorted({d for d, _ in _places(conn, list(units)).values()}), "alone": _alone(conn, coders)}


def _alone(conn, coders: list[str]) -> dict[str, list[str]]:
    """Transcripts only some of the coders coded, by coder: double coding not yet done there."""
    docs = {w: {r[0] for r in conn.execute("SELECT DISTINCT u.document FROM codings c JOIN utterances u ON "
                                           "u.id = c.utterance WHERE c.coder = ?", (w,))} for w in coders}
    shared = set.intersection(*docs.values())
    return {w: sorted(d - shared) for w, d in docs.items() if d - shared}


def sources(conn) -> dict[str, list[str]]:
    """Each consensus and the coders it was reconciled from, as the decision log has them."""
    out: dict[str, list[str]] = {}
    for (details,) in conn.execute("SELECT details FROM decisions WHERE action IN ('reconcile', 'settle')"):
        d = json.loads(details)
        for who in d.get("coders") or []:
            if who not in out.setdefault(d.get("into", CONSENSUS), []):
                out[d.get("into", CONSENSUS)].append(who)
    return out


def people(conn, into: str = CONSENSUS) -> list[str]:
    """Coders a consensus can be drawn from: people, not the machine or a consensus."""
    kept = set(sources(conn)) | {into, cd.MACHINE}
    return [w for w in cd.coders(conn) if w not in kept]


def likeliest_pair(conn, names: list[str]) -> list[str]:
    """The pair a consensus was started from, else the two coders who coded the most transcripts
    in common, leaving out coders who coded mostly by accepting candidates (not double coding);
    fewer than two when no such pair is found."""
    from .report import _from_candidates

    for made in sources(conn).values():
        if len(made) >= 2 and set(made[:2]) <= set(names):
            return made[:2]
    total = dict(conn.execute("SELECT coder, COUNT(DISTINCT utterance) FROM codings GROUP BY coder").fetchall())
    names = [w for w in names if _from_candidates(conn, w) * 2 < total.get(w, 0)]
    docs = {w: {r[0] for r in conn.execute("SELECT DISTINCT u.document FROM codings c JOIN utterances u ON "
                                           "u.id = c.utterance WHERE c.coder = ?", (w,))} for w in names}
    pairs = [(len(docs[a] & docs[b]), a, b) for i, a in enumerate(names) for b in names[i + 1:]]
    best = max(pairs, default=(0, "", ""))
    return [best[1], best[2]] if best[0] else []


def _partly(units: dict, ids: list[int], coders: list[str]) -> dict[str, int]:
    """Utterances some coders left uncoded, by who left them: missing data, as compare counts
    it, not a disagreement (a coder who coded by accepting candidates leaves most uncoded)."""
    return {w: sum(units[u][w] is None for u in ids) for w in coders if any(units[u][w] is None for u in ids)}


def _unread(conn, coders: list[str]) -> dict[int, set[str]]:
    """Utterances where a coder's codes are suggestions accepted unread: the machine's reading,
    which a consensus may not take as agreed unseen."""
    from .confirm import UNREAD

    out: dict[int, set[str]] = {}
    for uid, who in conn.execute(f"SELECT utterance, coder FROM codings WHERE reason = ? AND coder IN ({marks(coders)})",
                                 (UNREAD, *coders)):
        out.setdefault(uid, set()).add(who)
    return out


def _check_names(conn, coders: list[str], into: str) -> None:
    if len(set(coders)) < 2:
        raise AutocodeError(f"reconciling needs two or more coders; got {', '.join(coders) or 'none'}",
                            "name the coders whose codings to reconcile, such as: autocode reconcile alice bob")
    twice = next((w for w in coders if coders.count(w) > 1), None)
    if twice:
        raise AutocodeError(f"'{twice}' is named twice", "name each coder once, such as: autocode reconcile alice bob")
    for who in coders:
        cd.require_coder(conn, who)
    made = sources(conn)
    if settled := next((w for w in coders if w in made), None):
        raise AutocodeError(f"'{settled}' is a consensus, settled from {and_list(made[settled])}'s codings",
                            f"reconcile the coders themselves, such as: autocode reconcile {' '.join(made[settled])}")
    if into in coders:
        raise AutocodeError(f"--into '{into}' is one of the coders being reconciled",
                            f"give the consensus coding a name of its own, such as --into "
                            f"{CONSENSUS if into != CONSENSUS else 'team'}")
    check_into(conn, into)


def check_into(conn, into: str) -> None:
    """The consensus is kept under a name of its own: a coder with codings not made by
    reconciling or settling would have them pass as the team's."""
    cd._check_coder_option(into)
    coded = conn.execute("SELECT 1 FROM codings WHERE coder = ? LIMIT 1", (into,)).fetchone()
    ours = conn.execute("SELECT 1 FROM decisions WHERE action IN ('reconcile', 'settle') AND "
                        "json_extract(details, '$.into') = ? LIMIT 1", (into,)).fetchone()
    if coded and not ours:
        raise AutocodeError(f"'{into}' has codings of their own, not made by reconciling, so a consensus kept under "
                            "that name would mix them in", f"give the consensus a name of its own, such as --into "
                            f"{CONSENSUS}, or another that 'autocode status' does not list")


def _units(conn, coders: list[str], documents: list[str] | None) -> dict[int, dict[str, frozenset | None]]:
    """Each utterance someone coded in the transcripts every coder coded: each coder's codes
    (None where that coder left it uncoded)."""
    from .corpus import check_documents

    check_documents(conn, documents or [])
    by_coder = {w: {u: frozenset(c) for u, c in cd.labels_by_utterance(conn, w).items()} for w in coders}
    where = _places(conn, sorted(set().union(*by_coder.values())))
    shared = set.intersection(*({where[u][0] for u in mine} for mine in by_coder.values()))
    if documents:
        shared &= set(documents)
    if not shared:
        raise AutocodeError(f"{and_list(coders)} have not coded any transcript in common"
                            + (f" among {', '.join(documents)}" if documents else ""),
                            "a consensus settles codings of the same transcripts: have each coder code them first "
                            "('autocode status' shows each coder's coded utterances)")
    keep = sorted((u for u in where if where[u][0] in shared), key=lambda u: where[u])
    return {u: {w: by_coder[w].get(u) for w in coders} for u in keep}


def _places(conn, ids: list[int]) -> dict[int, tuple[str, int]]:
    out = {}
    for start in range(0, len(ids), 900):   # SQLite's limit on placeholders
        chunk = ids[start:start + 900]
        out |= {r[0]: (r[1], r[2]) for r in conn.execute(
            f"SELECT id, document, idx FROM utterances WHERE id IN ({marks(chunk)})", chunk)}
    return out


def _alike(sets: dict[str, frozenset | None]) -> bool:
    values = list(sets.values())
    return values[0] is not None and all(v == values[0] for v in values)


def sheet_rows(conn, ids: list[int], units: dict, coders: list[str], unread: dict | None = None) -> list[dict]:
    """One row per utterance to settle, with the turns around it and each coder's codes by name
    (marked where they were suggestions the coder accepted unread)."""
    from .compare import add_context

    names = {c.id: c.name for c in cb.load(conn).codes}
    say = lambda codes: NOT_CODED if codes is None else " + ".join(names.get(c, c) if c else "no code" for c in sorted(codes))  # noqa: E731
    mark = lambda u, w: UNREAD_MARK if w in (unread or {}).get(u, ()) else ""  # noqa: E731
    rows = []
    for u in ids:
        doc, idx, text = conn.execute("SELECT document, idx, text FROM utterances WHERE id = ?", (u,)).fetchone()
        rows.append({"document": doc, "unit": idx, "text": text,
                     **{w: say(units[u][w]) + mark(u, w) for w in coders}, AGREED: ""})
    add_context(conn, rows)
    for row in rows:
        row["utterance"] = row.pop("unit")
    return rows


def sheet_columns(coders: list[str]) -> list[str]:
    return ["document", "utterance", "speaker", "before", "text", "after", *coders, AGREED]


def settle(project: Project, path: str | Path, into: str = CONSENSUS, decided_by: str | None = None) -> dict:
    """The meeting's sheet: each row with an agreed code becomes ``into``'s coding of its
    utterance, replacing any earlier one; rows left empty stay open. All rows or none."""
    path = Path(path)
    frame = cd.read_csv(path)
    _require_sheet(frame, path)
    coders = _sheet_coders(frame)
    if into.casefold() in coders:   # read_csv gives the columns in lower case
        raise AutocodeError(f"--into '{into}' is one of the coders this sheet reconciles, whose own codings settling "
                            "would overwrite", f"settle into the consensus: autocode settle {path.name} (or the --into "
                            "name given to reconcile)", str(path))
    check_into(project.conn, into)
    decisions, left = _decisions(project.conn, frame, path)
    if not decisions:
        raise AutocodeError(f"no row has an agreed code ({left} row{'' if left == 1 else 's'} left empty)",
                            f"fill the '{AGREED}' column with a code's name or id (several joined by '+', or 'none' "
                            "for no code), save the file as CSV, and run the command again", str(path))
    before = cd.labels_by_utterance(project.conn, into)
    same = {u for u, codes in decisions.items() if sorted(before.get(u, [])) == codes}
    changed = [(u, before[u], codes) for u, codes in decisions.items() if u in before and u not in same]
    decisions = {u: codes for u, codes in decisions.items() if u not in same}
    if decisions:
        with recorded(project) as conn:
            _record(conn, decisions, into)
            project.log("settle", _coder(decided_by), into=into, file=path.name, utterances=list(decisions))
    return {"into": into, "settled": len(decisions), "left": left, "unchanged": len(same), "changed": changed,
            "no_code": sum(codes == [""] for codes in decisions.values())}


def settle_utterance(project: Project, utterance: int, codes: list[str], coders: list[str],
                     into: str = CONSENSUS, decided_by: str | None = None) -> dict:
    """One utterance settled on the review page: ``codes`` (ids or names; [""] for no code)
    become ``into``'s coding of it, replacing any earlier one."""
    from .review import _code

    if into in coders:
        raise AutocodeError(f"'{into}' is one of the coders being reconciled", f"settle into {CONSENSUS}")
    check_into(project.conn, into)
    with recorded(project) as conn:
        if conn.execute("SELECT 1 FROM utterances WHERE id = ?", (utterance,)).fetchone() is None:
            raise NotFound(f"there is no utterance {utterance}", "reload the page: the transcript may have been removed")
        chosen = sorted({_code(conn, c).id for c in codes if c}) or [""]
        _record(conn, {utterance: chosen}, into)
        project.log("settle", _coder(decided_by), into=into, coders=coders, utterances=[utterance], codes=chosen)
    return {"utterance": utterance, "codes": chosen, "into": into}


def _record(conn, decisions: dict[int, list[str]], into: str) -> None:
    conn.executemany("DELETE FROM codings WHERE utterance = ? AND coder = ?", [(u, into) for u in decisions])
    conn.executemany("INSERT INTO codings (utterance, code, coder, created_at) VALUES (?, ?, ?, ?)",
                     [(u, code, into, now()) for u, codes in decisions.items() for code in codes])


def _sheet_coders(frame) -> list[str]:
    """The coders' columns: those between 'after' and 'agreed code', as reconcile writes them."""
    columns = list(frame.columns)
    start = columns.index("after") + 1 if "after" in columns else 0
    return [c for c in columns[start:columns.index(AGREED)] if c not in sheet_columns([])]


def _require_sheet(frame, path: Path) -> None:
    missing = [c for c in ("document", "utterance", AGREED) if c not in frame.columns]
    if missing:
        raise AutocodeError(f"the sheet is missing column(s): {', '.join(missing)} (found: {', '.join(frame.columns)})",
                            "use the sheet 'autocode reconcile ... --sheet FILE.csv' wrote, with its columns as they were",
                            str(path))


def _decisions(conn, frame, path: Path) -> tuple[dict[int, list[str]], int]:
    book, known = cb.load(conn), [r[0] for r in conn.execute("SELECT id FROM documents ORDER BY id")]
    decisions: dict[int, list[str]] = {}
    left, unknown = 0, []
    for i, rec in enumerate(frame.to_dict("records")):
        row, cell = i + 2, str(rec.get(AGREED, "")).strip()
        if not cell:
            left += 1
            continue
        doc = str(rec["document"]).strip()
        if doc not in known and doc in _removed(conn):
            raise AutocodeError(f"row {row}: transcript '{doc}' was removed from the project (autocode remove), so "
                                "its rows cannot be settled", "delete its rows from the sheet, or run 'autocode "
                                "reconcile ... --sheet' again for a fresh one; nothing was settled", str(path))
        if doc not in known:
            raise cd._unknown_document(doc, row, known, path)
        uid = cd._targets(conn, doc, {"utterance": str(rec["utterance"])}, row, path)[0]
        _check_text(conn, uid, str(rec.get("text", "")), row, path)
        try:
            decisions[uid] = agreed_codes(book, cell, row, path)
        except AutocodeError as exc:
            if "unknown code" not in exc.problem:
                raise
            unknown.append(exc.problem)
    if unknown:
        names = "; ".join(f"'{c.name}'" for c in book.codes[:12]) + (" ..." if len(book.codes) > 12 else "")
        raise AutocodeError(f"{len(unknown)} row{'' if len(unknown) == 1 else 's'} name{'s' if len(unknown) == 1 else ''} "
                            f"a code the codebook does not have: " + "; ".join(unknown[:8]) + (" ..." if len(unknown) > 8 else ""),
                            f"write each as a code's name from the codebook ({names}), several joined by '+' or ';', "
                            "or 'none'; nothing was settled", str(path))
    return decisions, left


def _removed(conn) -> set[str]:
    return {r[0] for r in conn.execute("SELECT j.value FROM decisions d, json_each(d.details, '$.documents') j "
                                       "WHERE d.action = 'remove'")}


def _check_text(conn, uid: int, said: str, row: int, path: Path) -> None:
    """A sheet written before a transcript was added again would settle other words."""
    doc, idx, text = conn.execute("SELECT document, idx, text FROM utterances WHERE id = ?", (uid,)).fetchone()
    if said.strip() and cb.name_key(said) != cb.name_key(text):
        raise AutocodeError(f"row {row}: its text ('{said[:60]}') is not what utterance {idx} of transcript '{doc}' "
                            f"says now ('{text[:60]}'): the transcript changed since the sheet was written",
                            "run 'autocode reconcile ... --sheet' again for a fresh sheet, copy the agreed codes "
                            "into it, and settle that; nothing was settled", str(path))


def agreed_codes(book: cb.Codebook, cell: str, row: int, path: Path) -> list[str]:
    """A cell as a meeting fills it: a code's name or id, several joined by '+' or ';' (as the
    coders' columns show them), or 'none'."""
    if cb.name_key(cell) in NONE_WORDS:
        return [""]
    whole = book.find_code(cell)
    if whole is not None:
        return [whole.id]
    parts = [p.strip() for p in cell.replace(";", "+").split("+") if p.strip()]
    if any(cb.name_key(p) == NOT_CODED for p in parts):
        raise AutocodeError(f"row {row}: '{cell}' is what the sheet writes for a coder who left the utterance uncoded, "
                            "not a code", f"write the agreed code's name or id in '{AGREED}' (or 'none'); nothing was "
                            "settled", str(path))
    parts = [p.replace(UNREAD_MARK.strip(), "").strip() for p in parts]   # copied from a coder's cell
    codes = [p for p in parts if cb.name_key(p) not in NONE_WORDS]   # "no code + X", as old projects show it: X
    for p in codes:
        if book.find_code(p) is None and "," in p and any(book.find_code(x.strip()) for x in p.split(",")):
            raise AutocodeError(f"row {row}: unknown code '{p}' (several codes are joined with '+' or ';', not commas)",
                                "", str(path))
    return sorted({cd._resolve_code(book, p, row, path) for p in codes}) or [""]
