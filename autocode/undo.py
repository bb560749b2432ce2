"""Undo and redo of review decisions, for the browser review (and ``autocode undo``).

While a decision runs inside :func:`recorded`, triggers (store.py, migration 2) write the SQL
that reverses each row it changed. Undo replays that SQL backwards, itself recorded, so redo
is the undo of an undo. The decision log stays append-only: an undo is a new entry.

Bulk steps (adding transcripts, proposing, importing, suggesting) are not recorded; undo stops
at the latest of them, because replaying older SQL over their rows could hit the wrong rows.
"""
from __future__ import annotations

import json
import sqlite3
from contextlib import contextmanager

from .errors import Conflict, and_list
from .store import Project, default_coder

# Decisions that rewrite many rows without recording them: undo cannot reach past one.
BARRIERS = ("add", "propose", "import-codings", "import-qdpx", "import-codebook", "suggest", "remove")
# Decisions and bulk steps as a researcher would say them.
DOING = {"accept": "accepting", "merge": "merging", "reject": "rejecting", "reopen": "reopening", "split": "splitting",
         "rename-code": "renaming", "move-code": "moving", "add-theme": "adding", "rename-theme": "renaming",
         "rename-candidate": "renaming", "remove-utterance": "taking an utterance out of",
         "move-utterance": "moving an utterance out of", "reorder-themes": "reordering the themes",
         "define-code": "defining", "accept-suggestion": "accepting the suggestion for",
         "recode-suggestion": "recoding the suggestion for", "reject-suggestion": "rejecting the suggestion for",
         "code-utterance": "coding",
         "add": "adding transcripts", "propose": "proposing candidates",
         "import-codings": "importing codings", "import-qdpx": "importing a REFI-QDA project",
         "import-codebook": "importing a codebook", "suggest": "suggesting codes", "remove": "removing transcripts",
         "remove-code": "removing", "remove-theme": "removing", "reconcile": "taking the codings agreed on for",
         "settle": "settling"}
# The command a researcher typed for a bulk step, where its logged name differs.
TYPED = {"import-qdpx": "autocode add", "import-codebook": "autocode codebook import"}


@contextmanager
def recorded(project: Project):
    """A transaction whose row changes can be undone as one step."""
    with project.transaction() as conn:
        if conn.execute("SELECT step FROM undo_state").fetchone()[0] is not None:
            yield conn  # part of a recorded step already
            return
        step = conn.execute("INSERT INTO undo_steps (kind) VALUES ('action')").lastrowid
        conn.execute("UPDATE undo_state SET step = ?", (step,))
        try:
            yield conn
        finally:
            conn.execute("UPDATE undo_state SET step = NULL")
        conn.execute("UPDATE undo_steps SET decision = (SELECT max(id) FROM decisions) WHERE id = ?", (step,))


def undo(project: Project, coder: str | None = None) -> dict:
    """Reverse the latest decision not yet undone."""
    with project.transaction() as conn:
        step = _undoable(conn)
        if step is None:
            raise Conflict("there is nothing to undo", "undo takes back review decisions (accepting, merging, rejecting, "
                           "splitting, renaming, moving); adding transcripts, importing and suggesting are not undone")
        return _reverse(project, conn, step, "undo", coder)


def redo(project: Project, coder: str | None = None) -> dict:
    """Make again the latest undone decision, unless a new decision came after the undo."""
    with project.transaction() as conn:
        step = _redoable(conn)
        if step is None:
            raise Conflict("there is nothing to redo", "redo only follows an undo, before any new decision")
        return _reverse(project, conn, step, "redo", coder)


def available(conn) -> dict:
    """What undo and redo would do now, for the review page's buttons."""
    u, r = _undoable(conn), _redoable(conn)
    can_undo = u is not None and not _blocked(conn, u)
    return {"undo": _what(conn, u) if can_undo else None, "undo_by": _author(conn, u) if can_undo else None,
            "redo": _what(conn, r) if r and not _blocked(conn, r) else None}


def _undoable(conn):
    """The step undo would reverse: the latest action or redo not undone yet."""
    return _latest(conn, "kind IN ('action', 'redo')")


def _redoable(conn):
    """The step redo would reverse: the latest undo, unless a new action came after it."""
    step = _latest(conn, "kind = 'undo'")
    if step and conn.execute("SELECT 1 FROM undo_steps WHERE kind = 'action' AND id > ?", (step["id"],)).fetchone():
        return None
    return step


def _latest(conn, where: str):
    return conn.execute(f"SELECT * FROM undo_steps WHERE {where} AND undone = 0 ORDER BY id DESC LIMIT 1").fetchone()


def _blocked(conn, step) -> str | None:
    marks = ",".join("?" * len(BARRIERS))
    row = conn.execute(f"SELECT action FROM decisions WHERE id > ? AND action IN ({marks}) ORDER BY id LIMIT 1",
                       (step["decision"] or 0, *BARRIERS)).fetchone()
    return row[0] if row else None


def _what(conn, step) -> str:
    """The decision a step made (or reversed), in words."""
    row, details = _decision(conn, step)
    if row is None:
        return "the last decision"
    if row["action"] in ("undo", "redo"):
        return details.get("what", row["action"])
    if row["action"] == "remove-codings":
        return f"removing {details.get('whose', 'a coder')}'s codings of {places(conn, details.get('utterances', []))}"
    if row["action"] == "merge-codes":
        names = and_list([f"\u201c{n}\u201d" for n in details.get("names", [])])
        return f"merging {names} into code \u201c{_name_of(conn, 'code', details.get('into', ''))}\u201d"
    if row["action"] == "accept-suggestions":
        n = len(details.get("utterances", []))
        return f"accepting {n} suggestion{'' if n == 1 else 's'} at confidence {details.get('threshold', 0):g} or more"
    return f"{DOING.get(row['action'], row['action'])} {_brief(details, conn)}".strip()


def _decision(conn, step) -> tuple:
    """The logged decision a step made or reversed, and its details ((None, {}) if gone)."""
    row = conn.execute("SELECT action, coder, details FROM decisions WHERE id = ?", (step["decision"],)).fetchone()
    return row, (json.loads(row["details"]) if row else {})


def _opposite(conn, step) -> str:
    """The command that makes the opposite decision, where there is one."""
    row, d = _decision(conn, step)
    command = {"rename-code": lambda: f'autocode code rename {d["code"]} "{d["old"]}"',
               "move-code": lambda: f'autocode code move {d["code"]} {d["old"]}',
               "rename-theme": lambda: f'autocode theme rename {d["theme"]} "{d["old"]}"',
               "add-theme": lambda: f'autocode theme remove {d["theme"]}',
               "remove-theme": lambda: f'autocode theme add "{d["name"]}" --id {d["theme"]}',
               "reject": lambda: f'autocode reopen {" ".join(map(str, d["candidates"]))}',
               "reopen": lambda: f'autocode reject {" ".join(map(str, d["candidates"]))}',
               "accept-suggestions": lambda: f'autocode remove-codings --coder {row["coder"]} --unread'
                                             + (f' --documents {",".join(d["documents"])}' if d.get("documents") else "")
                                             + f" (it removes every suggestion {row['coder']} accepted unread there)"
               }.get(row["action"] if row else "")
    if command:
        return f"make the opposite decision instead: {command()}"
    return "make the opposite decision instead, on the review page (autocode review) or with the commands that made it"


def _brief(details: dict, conn) -> str:
    for key in ("candidates", "utterances", "code", "theme", "name"):
        if details.get(key) not in (None, [], ""):
            value = details[key]
            if key == "utterances":
                return places(conn, value)
            if key in ("code", "theme") and isinstance(value, str):
                return f"{key} \u201c{_name_of(conn, key, value, details.get('name'))}\u201d"
            word = key[:-1] if isinstance(value, list) and len(value) == 1 else key   # "candidate 3"
            return f"{word} {', '.join(map(str, value)) if isinstance(value, list) else value}"
    return ""


def _name_of(conn, kind: str, item: str, gone: str | None = None) -> str:
    """A code's or theme's name as the researcher sees it (if it is gone, the name the
    decision logged, else its id)."""
    row = conn.execute(f"SELECT name FROM {kind}s WHERE id = ?", (item,)).fetchone()
    return row[0] if row else gone or item


def places(conn, ids: list[int]) -> str:
    """Utterances as a researcher finds them: transcript and number, not database ids."""
    shown = ids[:3]
    rows = conn.execute(f"SELECT document, idx FROM utterances WHERE id IN ({','.join('?' * len(shown))}) "
                        "ORDER BY document, idx", shown).fetchall()
    where = ", ".join(f"{r['document']} #{r['idx']}" for r in rows) or ", ".join(map(str, shown))
    more = f" and {len(ids) - len(shown)} more" if len(ids) > len(shown) else ""
    return f"{'utterance' if len(ids) == 1 else f'{len(ids)} utterances'} {where}{more}"


def _reverse(project: Project, conn, step, kind: str, coder: str | None) -> dict:
    what = _what(conn, step)
    if barrier := _blocked(conn, step):
        raise Conflict(f"can't {kind} {what}: {DOING.get(barrier, barrier)} ({TYPED.get(barrier, 'autocode ' + barrier)}) changed the project since",
                       _opposite(conn, step))
    new = conn.execute("INSERT INTO undo_steps (kind, target) VALUES (?, ?)", (kind, step["id"])).lastrowid
    statements = conn.execute("SELECT sql FROM undo_sql WHERE step = ? ORDER BY id DESC", (step["id"],)).fetchall()
    conn.execute("PRAGMA defer_foreign_keys = ON")
    conn.execute("UPDATE undo_state SET step = ?", (new,))
    try:
        for (sql,) in statements:
            conn.execute(sql)
    except sqlite3.IntegrityError:
        raise Conflict(f"can't {kind} {what}: later decisions depend on it",
                            f"{kind} those later decisions first") from None
    finally:
        conn.execute("UPDATE undo_state SET step = NULL")
    conn.execute("UPDATE undo_steps SET undone = 1 WHERE id = ?", (step["id"],))
    by = _author(conn, step)
    project.log(kind, coder or default_coder(), what=what, step=step["id"])
    conn.execute("UPDATE undo_steps SET decision = (SELECT max(id) FROM decisions) WHERE id = ?", (new,))
    return {"action": kind, "what": what, "changes": len(statements), "by": by}


def _author(conn, step) -> str | None:
    """Who made the decision a step stands for: an undo or redo leads back to the original."""
    while step is not None and step["kind"] != "action":
        step = conn.execute("SELECT * FROM undo_steps WHERE id = ?", (step["target"],)).fetchone()
    row = _decision(conn, step)[0] if step is not None else None
    return row["coder"] if row else None


def local_time(stamp: str) -> str:
    """A logged UTC time as this computer's clock reads it, to the minute."""
    from datetime import datetime

    try:
        return datetime.fromisoformat(stamp).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return stamp


def details_words(details: dict, conn) -> str:
    """A decision's details as a line to read: utterances by transcript and number, long lists
    cut, nested figures left to --json."""
    parts = []
    for key, value in details.items():
        if value in (None, "", [], {}) or isinstance(value, dict) or key == "step":   # step: an internal number
            continue
        if key == "utterances" and isinstance(value, list):
            parts.append(places(conn, value))
            continue
        if isinstance(value, bool):
            value = "yes" if value else "no"
        if key == "candidates" and isinstance(value, list) and len(value) > 3:
            value = f"{len(value)}"
        elif isinstance(value, list):
            value = ", ".join(map(str, value[:5])) + (f" and {len(value) - 5} more" if len(value) > 5 else "")
        parts.append(f"{key.replace('_', ' ')}: {value}")
    return "; ".join(parts)
