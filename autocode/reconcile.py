"""Consensus coding after double coding.

A team that codes independently meets to settle its disagreements, and the settled coding is
what the study reports and what the classifier should learn from. :func:`reconcile` gives the
consensus coder every utterance the coders coded alike, and lists the rest for the meeting as
a sheet with an empty "agreed code" column; :func:`settle` reads that sheet back. Both are
recorded decisions, so ``autocode undo`` takes either back whole.
"""
from __future__ import annotations

from pathlib import Path

from . import codebook as cb
from . import codings as cd
from .errors import AutocodeError, and_list
from .review import _coder
from .store import Project, marks, now
from .undo import recorded

CONSENSUS = "consensus"
AGREED = "agreed code"
NOT_CODED = "(not coded)"
NONE_WORDS = {"none", "no code", "(no code)", "-"}


def reconcile(project: Project, coders: list[str], into: str = CONSENSUS, documents: list[str] | None = None,
              decided_by: str | None = None) -> dict:
    """Give ``into`` the codings the ``coders`` agree on (utterances it has not coded yet) and
    return the utterances they disagree on, for the meeting's sheet."""
    _check_names(project.conn, coders, into)
    units = _units(project.conn, coders, documents)
    settled = set(cd.labels_by_utterance(project.conn, into))
    agreed = {u: sets[coders[0]] for u, sets in units.items() if u not in settled and _alike(sets)}
    if agreed:
        with recorded(project) as conn:
            conn.executemany("INSERT INTO codings (utterance, code, coder, created_at) VALUES (?, ?, ?, ?)",
                             [(u, code, into, now()) for u, codes in agreed.items() for code in sorted(codes)])
            project.log("reconcile", _coder(decided_by), coders=coders, into=into, utterances=list(agreed))
    open_ = [u for u, sets in units.items() if u not in settled and not _alike(sets)]
    return {"coders": coders, "into": into, "agreed": len(agreed), "already": len(settled & units.keys()),
            "documents": sorted({d for d, _ in _places(project.conn, list(units)).values()}),
            "to_settle": sheet_rows(project.conn, open_, units, coders)}


def _check_names(conn, coders: list[str], into: str) -> None:
    if len(set(coders)) < 2:
        raise AutocodeError(f"reconciling needs two or more coders; got {', '.join(coders) or 'none'}",
                            "name the coders whose codings to reconcile, such as: autocode reconcile alice bob")
    for who in coders:
        cd.require_coder(conn, who)
    cd._check_coder_option(into)
    if into in coders:
        raise AutocodeError(f"--into '{into}' is one of the coders being reconciled",
                            f"give the consensus coding a name of its own, such as --into {CONSENSUS}")


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


def sheet_rows(conn, ids: list[int], units: dict, coders: list[str]) -> list[dict]:
    """One row per utterance to settle, with the turns around it and each coder's codes by name."""
    from .compare import add_context

    names = {c.id: c.name for c in cb.load(conn).codes}
    say = lambda codes: NOT_CODED if codes is None else " + ".join(names.get(c, c) if c else "no code" for c in sorted(codes))  # noqa: E731
    rows = []
    for u in ids:
        doc, idx, text = conn.execute("SELECT document, idx, text FROM utterances WHERE id = ?", (u,)).fetchone()
        rows.append({"document": doc, "unit": idx, "text": text, **{w: say(units[u][w]) for w in coders}, AGREED: ""})
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
    cd._check_coder_option(into)
    frame = cd.read_csv(path)
    _require_sheet(frame, path)
    decisions, left = _decisions(project.conn, frame, path)
    if not decisions:
        raise AutocodeError(f"no row has an agreed code ({left} row{'' if left == 1 else 's'} left empty)",
                            f"fill the '{AGREED}' column with a code's name or id (several joined by '+', or 'none' "
                            "for no code), save the file as CSV, and run the command again", str(path))
    with recorded(project) as conn:
        conn.executemany("DELETE FROM codings WHERE utterance = ? AND coder = ?", [(u, into) for u in decisions])
        conn.executemany("INSERT INTO codings (utterance, code, coder, created_at) VALUES (?, ?, ?, ?)",
                         [(u, code, into, now()) for u, codes in decisions.items() for code in codes])
        project.log("settle", _coder(decided_by), into=into, file=path.name, utterances=list(decisions))
    return {"into": into, "settled": len(decisions), "left": left,
            "no_code": sum(codes == [""] for codes in decisions.values())}


def _require_sheet(frame, path: Path) -> None:
    missing = [c for c in ("document", "utterance", AGREED) if c not in frame.columns]
    if missing:
        raise AutocodeError(f"the sheet is missing column(s): {', '.join(missing)} (found: {', '.join(frame.columns)})",
                            "use the sheet 'autocode reconcile ... --sheet FILE.csv' wrote, with its columns as they were",
                            str(path))


def _decisions(conn, frame, path: Path) -> tuple[dict[int, list[str]], int]:
    book, known = cb.load(conn), [r[0] for r in conn.execute("SELECT id FROM documents ORDER BY id")]
    decisions: dict[int, list[str]] = {}
    left = 0
    for i, rec in enumerate(frame.to_dict("records")):
        row, cell = i + 2, str(rec.get(AGREED, "")).strip()
        if not cell:
            left += 1
            continue
        doc = str(rec["document"]).strip()
        if doc not in known:
            raise cd._unknown_document(doc, row, known, path)
        uid = cd._targets(conn, doc, {"utterance": str(rec["utterance"])}, row, path)[0]
        _check_text(conn, uid, str(rec.get("text", "")), row, path)
        decisions[uid] = agreed_codes(book, cell, row, path)
    return decisions, left


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
    return sorted({cd._resolve_code(book, p, row, path) for p in parts}) or [""]
