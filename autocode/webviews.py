"""What each view of the browser review shows, as plain data (also served as JSON by /api/...).

Read-only: every change goes through review.py, confirm.py or undo.py.
"""
from __future__ import annotations

import json
from pathlib import Path

from . import codebook as cb
from . import report
from .cluster import close_code, list_candidates
from .codings import MACHINE
from .errors import AutocodeError, NotFound
from .store import Project

EXPORTS = {"csv": "codings.csv", "xlsx": "codings.xlsx", "docx": "quotes.docx", "qdpx": "project.qdpx",
           "qdc": "codebook.qdc", "codebook": "codebook.yaml", "report": "report.html"}


def _choices(conn) -> dict:
    book = cb.load(conn)
    return {"themes": [{"id": t.id, "name": t.name} for t in book.themes],
            "codes": [{"id": c.id, "name": c.name, "theme": c.theme} for c in book.codes]}


def candidates(conn) -> dict:
    """Open candidates as cards, the rejected ones to reopen, and the themes and codes a
    decision can name."""
    codes = {c.id: c for c in cb.load(conn).codes}
    return {"candidates": [_with_nearest(c, codes) for c in list_candidates(conn, "open")],
            "rejected": list_candidates(conn, "rejected"), **_choices(conn)}


def _with_nearest(card: dict, codes: dict) -> dict:
    """The name and theme of the codebook code a candidate is most like: Accept offers that theme."""
    nearest = codes.get(close_code(card) or "")
    card["nearest_name"], card["nearest_theme"] = (nearest.name, nearest.theme) if nearest else (None, "")
    return card


SHOWN = 100   # members drawn at once: a candidate of 700 made a page of 26,000 elements


def candidate(conn, cid: int, shown: int | None = None) -> dict:
    """One candidate with its member utterances (the ``shown`` closest to its centre; all when
    None) and the turns on either side of each."""
    row = conn.execute("SELECT * FROM candidates WHERE id = ?", (cid,)).fetchone()
    if row is None:
        raise NotFound(f"there is no candidate {cid}", "go back to the list of candidates")
    members = conn.execute(
        "SELECT u.id, u.document, u.idx, u.speaker, u.text, m.distance FROM candidate_members m"
        " JOIN utterances u ON u.id = m.utterance WHERE m.candidate = ? ORDER BY m.distance LIMIT ?",
        (cid, -1 if shown is None else shown)).fetchall()
    card = _with_nearest({**dict(row), "keywords": json.loads(row["keywords"])}, {c.id: c for c in cb.load(conn).codes})
    return {"candidate": card, "members": [_in_context(conn, dict(m)) for m in members], **_choices(conn)}


def _in_context(conn, m: dict) -> dict:
    near = conn.execute("SELECT idx, speaker, text FROM utterances WHERE document = ? AND idx IN (?, ?)",
                        (m["document"], m["idx"] - 1, m["idx"] + 1)).fetchall()
    m["before"] = next((dict(r) for r in near if r["idx"] < m["idx"]), None)
    m["after"] = next((dict(r) for r in near if r["idx"] > m["idx"]), None)
    return m


def codebook(conn, coder: str) -> dict:
    """Themes and codes with counts and quotes, and the theme x participant matrix.

    Counts are the reviewer's own codings, or the main coder's while the reviewer has none.
    """
    has_own = conn.execute("SELECT 1 FROM codings WHERE coder = ? LIMIT 1", (coder,)).fetchone()
    whose = coder if has_own else report.primary_coder(conn)
    book, people = cb.load(conn), report.participants(conn)
    themes = report.codebook_counts(conn, book, whose)
    quotes = {c["id"]: c["quotes"] for t in report.quote_bank(conn, book, whose, people) for c in t["codes"]}
    for t in themes:
        for c in t["codes"]:
            c["quotes"] = quotes.get(c["id"], [])[:3]
    return {"whose": whose, "book": themes, "matrix": report.prevalence(conn, book, whose, people),
            "exports": EXPORTS, "coded": _coded_by(conn, whose), "main": _main_if_other(conn, whose), **_choices(conn)}


def _coded_by(conn, coder: str | None) -> int:
    return conn.execute("SELECT COUNT(DISTINCT utterance) FROM codings WHERE coder = ?", (coder,)).fetchone()[0]


def _main_if_other(conn, whose: str | None) -> dict | None:
    """The main coder, when the counts shown are someone else's: a reviewer's first decisions
    would otherwise look like the project's coding gone."""
    main = report.primary_coder(conn)
    return None if main in (None, whose) else {"coder": main, "coded": _coded_by(conn, main)}


def documents(conn, coder: str) -> list[dict]:
    """Each transcript with its suggestions and how many of them the coder has yet to decide.
    (The unary ``+`` keeps SQLite off the coder index, which made these queries scan every
    suggestion in the project once per utterance: a second per redraw at 100 transcripts.)"""
    suggested = dict(conn.execute(
        "SELECT u.document, COUNT(DISTINCT m.utterance) FROM codings m JOIN utterances u ON u.id = m.utterance"
        " WHERE m.coder = ? GROUP BY u.document", (MACHINE,)).fetchall())
    undecided = dict(conn.execute(
        "SELECT u.document, COUNT(DISTINCT m.utterance) FROM codings m JOIN utterances u ON u.id = m.utterance"
        " WHERE m.coder = ? AND NOT EXISTS (SELECT 1 FROM codings h WHERE h.utterance = m.utterance AND +h.coder = ?)"
        " GROUP BY u.document", (MACHINE, coder)).fetchall())
    return [{"id": d, "suggestions": suggested.get(d, 0), "undecided": undecided.get(d, 0)}
            for (d,) in conn.execute("SELECT id FROM documents ORDER BY id")]


def suggestions(project: Project, document: str, order: str, coder: str) -> dict:
    """A transcript with the machine's suggestions inline and the reviewer's verdicts on them."""
    conn = project.conn
    docs = documents(conn, coder)
    if order not in ("position", "uncertain"):
        raise NotFound(f"there is no order '{order}'", "use 'position' or 'uncertain'")
    document = document or next((d["id"] for d in docs if d["undecided"]), None) \
        or next((d["id"] for d in docs if d["suggestions"]), docs[0]["id"] if docs else "")
    if document and document not in {d["id"] for d in docs}:
        raise NotFound(f"there is no document '{document}'", "pick one from the list")
    rows = _rows(conn, document, coder)
    if order == "uncertain":
        rows = _least_certain_first([r for r in rows if r["suggested"] is not None and r["verdict"] is None],
                                    project, document)
    names = {c.id: c.name for c in cb.load(conn).codes} | {"": "no code"}
    return {"document": document, "documents": docs, "order": order, "rows": rows, "names": names,
            "undecided": sum(r["suggested"] is not None and r["verdict"] is None for r in rows),
            "uncoded": _uncoded(conn, document), **_choices(conn)}


def _uncoded(conn, document: str) -> int | None:
    """Participant utterances left to suggest codes for, as ``suggest`` picks them (None: the
    transcript has no participant utterance at all)."""
    from .corpus import utterances
    from .learn import _targets, trained_coder

    if not utterances(conn, [document]):
        return None
    return len(_targets(conn, [document], False, trained_coder(conn)))


def _rows(conn, document: str, coder: str) -> list[dict]:
    return [dict(r) for r in conn.execute(
        "SELECT u.id, u.idx, u.speaker, u.is_interviewer, u.text, m.code AS suggested, m.confidence, m.reason,"
        " (SELECT group_concat(h.code, '|') FROM codings h WHERE h.utterance = u.id AND +h.coder = ?) AS verdict"
        " FROM utterances u LEFT JOIN codings m ON m.utterance = u.id AND +m.coder = ?"
        " WHERE u.document = ? ORDER BY u.idx", (coder, MACHINE, document))]


def _least_certain_first(rows: list[dict], project: Project, document: str) -> list[dict]:
    """The order ``autocode next`` uses; by stored confidence when no classifier is trained yet."""
    from .learn import next_to_confirm

    try:
        ranked = next_to_confirm(project, len(rows) or 1, [document])
    except AutocodeError:
        ranked = []
    rank = {r["utterance_id"]: i for i, r in enumerate(ranked)}
    doubt = {r["utterance_id"]: r["uncertainty"] for r in ranked}   # shown: it, not confidence, sets the order
    return sorted(({**r, "uncertainty": doubt.get(r["id"])} for r in rows),
                  key=lambda r: (rank.get(r["id"], len(rank)), r["confidence"] or 0.0))


def log(conn, limit: int = 200) -> list[dict]:
    rows = conn.execute("SELECT * FROM (SELECT * FROM decisions ORDER BY id DESC LIMIT ?) ORDER BY id DESC",
                        (limit,)).fetchall()
    return [{**dict(r), "details": json.loads(r["details"])} for r in rows]


def log_page(conn) -> list[dict]:
    """The log as ``autocode log`` words it: local times, utterances by transcript and number."""
    from .undo import details_words, local_time

    return [{**r, "time": local_time(r["time"]), "details": details_words(r["details"], conn)} for r in log(conn)]


def counts(conn) -> dict:
    row = conn.execute(
        "SELECT (SELECT count(*) FROM candidates WHERE status = 'open'), (SELECT count(*) FROM themes),"
        " (SELECT count(*) FROM codes), (SELECT count(*) FROM decisions)").fetchone()
    return dict(zip(("open_candidates", "themes", "codes", "decisions"), row))


def export(project: Project, fmt: str, target: Path) -> Path:
    """Write one of the CLI's export formats; the same functions the CLI calls."""
    from . import export as ex
    from . import refi

    conn = project.conn
    writers = {"csv": lambda: ex.export_csv(conn, target), "xlsx": lambda: ex.export_xlsx(conn, target),
               "docx": lambda: ex.export_docx(conn, target),
               "qdpx": lambda: refi.export_qdpx(conn, target, project.root.name),
               "qdc": lambda: refi.export_qdc(conn, target),
               "codebook": lambda: ex.write_text(target, cb.dump_yaml(cb.load(conn))),
               "report": lambda: report.write_report(project, target)}
    writers[fmt]()
    return target


def consensus(conn, coders: list[str], into: str) -> dict:
    """The consensus meeting: two coders' disagreements with the turns around each, and the
    agreements the consensus has yet to take (reconcile.py does the work)."""
    from .reconcile import likeliest_pair, people as people_of, plan, sheet_rows

    people = people_of(conn, into)
    chosen = coders or likeliest_pair(conn, people) or people[:2]
    base = {"people": people, "coders": chosen, "into": into, **_choices(conn)}
    if len(chosen) < 2:
        return {**base, "problem": "Two coders who coded the same transcripts are needed: import a second coder's "
                                   "codings (autocode import-codings FILE --coder NAME) first.", "rows": []}
    try:
        found = plan(conn, chosen, into)
    except AutocodeError as exc:
        return {**base, "problem": f"{exc.problem}. What to do: {exc.fix}", "rows": []}
    rows = sheet_rows(conn, found["open"], found["units"], chosen, found["unread"])
    ids = dict(zip(found["open"], rows))
    for uid, row in ids.items():
        row["id"], row["choices"] = uid, [(w, sorted(found["units"][uid][w])) for w in chosen]
    return {**base, "rows": rows, "agreed": len(found["agreed"]), "already": found["already"],
            "partly": found["partly"], "documents": found["documents"], "alone": found["alone"]}
