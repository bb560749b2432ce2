"""Human verdicts on the machine's suggestions: accept, recode or reject each one.

A verdict becomes the coder's own coding of the utterance, so ``autocode train --coder NAME``
learns from it next time, and ``autocode compare NAME machine`` shows how often the machine
was right. The machine's suggestion itself is kept, for that comparison. Each verdict can be
undone (undo.py).
"""
from __future__ import annotations

from . import codebook as cb
from .codings import MACHINE
from .errors import AutocodeError, Conflict, NotFound
from .review import _code, _coder
from .store import Project, now
from .undo import recorded


def _suggestion(conn, utterance: int):
    row = conn.execute("SELECT code, confidence FROM codings WHERE coder = ? AND utterance = ?",
                       (MACHINE, utterance)).fetchone()
    if row is None:
        raise NotFound(f"utterance {utterance} has no machine suggestion",
                            "run 'autocode suggest' (or press Retrain and suggest on the review page) for its transcript first")
    return row


def _code_as(conn, utterance: int, code: str, coder: str) -> None:
    """The coder's verdict replaces any earlier verdict of theirs on this utterance."""
    conn.execute("DELETE FROM codings WHERE utterance = ? AND coder = ?", (utterance, coder))
    conn.execute("INSERT INTO codings (utterance, code, coder, created_at) VALUES (?, ?, ?, ?)",
                 (utterance, code, coder, now()))


def accept(project: Project, utterance: int, code: str | None = None, coder: str | None = None,
           expected: str | None = None) -> dict:
    """Accept the machine's code, or, with ``code``, recode the utterance. ``expected``: the
    suggestion the coder saw; a newer one (the model was retrained since) is not accepted unseen."""
    coder = _coder(coder)
    with recorded(project) as conn:
        suggested = _suggestion(conn, utterance)["code"]
        if code is None and expected is not None and expected != suggested:
            raise Conflict(f"the suggestion for this utterance changed since you saw it: it is now "
                           f"'{code_name(conn, suggested)}', not '{code_name(conn, expected)}'",
                           "reload the page to see the current suggestions, then decide again")
        chosen = _code(conn, code).id if code else suggested
        _code_as(conn, utterance, chosen, coder)
        action = "accept-suggestion" if chosen == suggested else "recode-suggestion"
        project.log(action, coder, utterances=[utterance], code=chosen, suggested=suggested)
    return {"utterance": utterance, "code": chosen, "suggested": suggested}


def code_name(conn, code_id: str) -> str:
    code = cb.load(conn).find_code(code_id) if code_id else None
    return code.name if code else (code_id or "no code")


def reject(project: Project, utterance: int, coder: str | None = None) -> dict:
    """No code of the codebook applies: the coder codes the utterance "no code"."""
    coder = _coder(coder)
    with recorded(project) as conn:
        suggested = _suggestion(conn, utterance)["code"]
        _code_as(conn, utterance, "", coder)
        project.log("reject-suggestion", coder, utterances=[utterance], suggested=suggested)
    return {"utterance": utterance, "code": "", "suggested": suggested}


def code_utterance(project: Project, utterance: int, code: str, coder: str | None = None) -> dict:
    """A coder's own coding of a participant utterance the machine made no suggestion for
    (one its teacher coded, or before any suggesting): ``code`` "" is "no code". It replaces
    the coder's earlier coding of the utterance, as a verdict on a suggestion does."""
    coder = _coder(coder)
    with recorded(project) as conn:
        row = conn.execute("SELECT is_interviewer FROM utterances WHERE id = ?", (utterance,)).fetchone()
        if row is None or row[0]:
            raise NotFound(f"there is no participant utterance {utterance}", "reload the page; the interviewer's words "
                           "are not coded")
        chosen = _code(conn, code).id if code else ""
        _code_as(conn, utterance, chosen, coder)
        project.log("code-utterance", coder, utterances=[utterance], code=chosen)
    return {"utterance": utterance, "code": chosen, "suggested": None}


def decide(project: Project, utterance: int, code: str | None, no_code: bool, coder: str | None = None) -> dict:
    """One verdict as ``autocode confirm`` gives it: on the machine's suggestion where there is
    one (accept, recode or "no code"), else the coder's own coding."""
    if not project.conn.execute("SELECT 1 FROM codings WHERE utterance = ? AND coder = ?", (utterance, MACHINE)).fetchone():
        return code_utterance(project, utterance, "" if no_code else code, coder)
    return reject(project, utterance, coder) if no_code else accept(project, utterance, code, coder)


def suggestion_at(conn, document: str, number: int, needed: bool = True) -> int:
    """The id of a document's utterance by the number researchers see ('autocode next',
    exports), refused unless the machine has a suggestion there to decide on (``needed``), or,
    for a coder's own code, unless it is a participant's."""
    from .corpus import check_documents

    check_documents(conn, [document])
    row = conn.execute("SELECT u.id, c.code FROM utterances u LEFT JOIN codings c ON c.utterance = u.id AND c.coder = ?"
                       " WHERE u.document = ? AND u.idx = ?", (MACHINE, document, number)).fetchone()
    if row is None:
        low, high = conn.execute("SELECT MIN(idx), MAX(idx) FROM utterances WHERE document = ?", (document,)).fetchone()
        raise NotFound(f"{document} has no utterance {number}", f"its utterances are numbered {low} to {high}; "
                       "'autocode next' and the review page show each one's number")
    if not needed:
        if conn.execute("SELECT is_interviewer FROM utterances WHERE id = ?", (row[0],)).fetchone()[0]:
            raise NotFound(f"{document} #{number} is the interviewer's, and the interviewer's words are not coded",
                           "give the number of a participant's utterance ('autocode documents' shows who speaks)")
        return row[0]
    if row[1] is None:
        raise NotFound(f"{document} #{number} has no suggestion from the machine (the interviewer's words are not "
                       "coded, and a transcript needs 'autocode suggest' first)",
                       f"run 'autocode suggest --documents {document}', or code it yourself: autocode confirm "
                       f"{document} {number} --code CODE (or --no-code)")
    return row[0]


# The reason a coding made by accepting suggestions in bulk carries: nobody read it, so
# cross-validation learns from it but does not score the classifier on it (learn.train).
UNREAD = "suggestion accepted above a confidence, unread"


def unread_overlap(conn, coder: str, other: str) -> int:
    """How many of ``coder``'s codings that ``other`` also coded were suggestions accepted unread:
    agreement on them is the machine's, not ``coder``'s."""
    return conn.execute("SELECT COUNT(DISTINCT a.utterance) FROM codings a JOIN codings b ON b.utterance = a.utterance"
                        " WHERE a.coder = ? AND a.reason = ? AND b.coder = ?", (coder, UNREAD, other)).fetchone()[0]


def unread_words(n: int, coder: str, other: str) -> str:
    if other == MACHINE:
        return (f"{n} of {coder}'s codings of utterances the machine also coded are its suggestions accepted unread, "
                "so they agree with the machine's suggestions by construction")
    return (f"{n} of {coder}'s codings of utterances {other} also coded are suggestions accepted unread, so on "
            f"those utterances {other} is compared with the machine, not with {coder}")


def accept_above(project: Project, threshold: float, documents: list[str] | None = None,
                 coder: str | None = None) -> dict:
    """Accept every suggestion at or above ``threshold`` that the coder has not decided yet."""
    if not 0.0 <= threshold <= 1.0:
        raise AutocodeError(f"the confidence threshold must be between 0 and 1, not {threshold}",
                            "choose a value such as 0.8")
    from .corpus import check_documents

    coder = _coder(coder)
    check_documents(project.conn, documents or [])
    if not _undecided(project.conn, coder, threshold, documents):   # nothing to decide: no decision to log or undo
        return {"accepted": 0, "no_code": 0, "threshold": threshold}
    with recorded(project) as conn:
        rows = _undecided(conn, coder, threshold, documents)
        conn.executemany("INSERT INTO codings (utterance, code, coder, reason, created_at) VALUES (?, ?, ?, ?, ?)",
                         [(u, c, coder, UNREAD, now()) for u, c in rows])
        project.log("accept-suggestions", coder, threshold=threshold, documents=documents or [],
                    utterances=[u for u, _ in rows])
    return {"accepted": len(rows), "no_code": sum(not c for _, c in rows), "threshold": threshold}


def remove_codings(project: Project, coder: str, documents: list[str] | None = None, unread: bool = False,
                   decided_by: str | None = None) -> dict:
    """Remove a coder's codings (of ``documents``; with ``unread``, only the suggestions they
    accepted unread), as one decision that undo takes back: the way out of a mistyped coder
    name on import, or of a bulk acceptance that later steps put beyond undo's reach."""
    from .codings import require_coder
    from .corpus import check_documents

    require_coder(project.conn, coder)
    check_documents(project.conn, documents or [])
    where, args = "c.coder = ?", [coder]
    if unread:
        where, args = where + " AND c.reason = ?", [*args, UNREAD]
    if documents:
        where, args = where + f" AND u.document IN ({','.join('?' * len(documents))})", [*args, *documents]
    with recorded(project) as conn:
        rows = conn.execute(f"SELECT c.id, c.utterance FROM codings c JOIN utterances u ON u.id = c.utterance "
                            f"WHERE {where} ORDER BY u.document, u.idx", args).fetchall()
        if not rows:
            raise AutocodeError(f"{coder} has no {'suggestions accepted unread' if unread else 'codings'}"
                                f"{' in ' + ', '.join(documents) if documents else ''}",
                                "nothing was removed; 'autocode documents' shows how many codings each transcript has")
        conn.executemany("DELETE FROM codings WHERE id = ?", [(r[0],) for r in rows])
        utterances = list(dict.fromkeys(r[1] for r in rows))
        project.log("remove-codings", _coder(decided_by), whose=coder, unread=unread, documents=documents or [],
                    removed=len(rows), utterances=utterances)
    return {"coder": coder, "removed": len(rows), "utterances": len(utterances)}


def _undecided(conn, coder: str, threshold: float, documents: list[str] | None) -> list[tuple[int, str]]:
    sql = ("SELECT m.utterance, m.code FROM codings m JOIN utterances u ON u.id = m.utterance"
           " WHERE m.coder = ? AND m.confidence >= ? AND NOT EXISTS"
           " (SELECT 1 FROM codings h WHERE h.utterance = m.utterance AND h.coder = ?)")
    args: list = [MACHINE, threshold, coder]
    if documents:
        sql += f" AND u.document IN ({','.join('?' * len(documents))})"
        args += documents
    return [(r[0], r[1]) for r in conn.execute(sql + " ORDER BY u.document, u.idx", args)]
