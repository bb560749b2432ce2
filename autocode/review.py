"""Human decisions on candidates and the codebook; each one is logged.

These are the operations both the CLI and the browser review call. Each runs in one
transaction together with its log entry, so a decision is either fully made and logged, or
not made at all.
"""
from __future__ import annotations

from pathlib import Path

from . import codebook as cb
from .errors import AutocodeError
from .store import Project, default_coder, now


def _coder(coder: str | None) -> str:
    return coder or default_coder()


def _open_candidate(conn, cid: int) -> dict:
    row = conn.execute("SELECT * FROM candidates WHERE id = ?", (cid,)).fetchone()
    if row is None:
        raise AutocodeError(f"there is no candidate {cid}", "list candidates with 'autocode candidates'")
    if row["status"] != "open":
        raise AutocodeError(f"candidate {cid} was already {row['status']}", "see 'autocode log' for who decided it")
    return dict(row)


def _theme(conn, ref: str) -> cb.Theme:
    theme = cb.load(conn).find_theme(ref) if ref.strip() else None
    if theme is None:
        names = ", ".join(f"{t.id} ({t.name})" for t in cb.load(conn).themes) or "none yet"
        if not ref.strip():
            raise AutocodeError("a new code needs a theme", f"name one with --theme; themes: {names}")
        raise AutocodeError(f"there is no theme '{ref}'",
                            f"use one of: {names}; or create it first with: autocode theme add \"{ref}\"")
    return theme


def _code(conn, ref: str) -> cb.Code:
    code = cb.load(conn).find_code(ref)
    if code is None:
        raise AutocodeError(f"there is no code '{ref}' in the codebook",
                            "see the codes with 'autocode codebook', or check the spelling")
    return code


def _new_code(conn, name: str, theme_ref: str, definition: str, code_id: str | None) -> cb.Code:
    """Find or create the code a decision codes into."""
    existing = cb.load(conn).find_code(code_id or name)
    if existing:
        return existing
    theme = _theme(conn, theme_ref)
    new_id = _unique_id(conn, code_id or cb.slug(name))
    cb.add_code(conn, new_id, theme.id, name, definition)
    return cb.Code(new_id, name, definition, theme.id)


def _unique_id(conn, base: str) -> str:
    taken = {r[0] for r in conn.execute("SELECT id FROM codes")}
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}_{n}", n + 1
    return candidate


def _confirm_members(conn, cids: list[int], code: str, coder: str) -> int:
    """Members of the candidates become this coder's confirmed codings of ``code``."""
    rows = conn.execute(
        f"SELECT DISTINCT utterance FROM candidate_members WHERE candidate IN ({','.join('?' * len(cids))})",
        cids).fetchall()
    conn.executemany("INSERT OR IGNORE INTO codings (utterance, code, coder, created_at) VALUES (?, ?, ?, ?)",
                     [(r[0], code, coder, now()) for r in rows])
    return len(rows)


def accept(project: Project, cid: int, theme: str = "", name: str | None = None,
           definition: str = "", code_id: str | None = None, coder: str | None = None) -> dict:
    """Accept a candidate as a code (new, or an existing one named by ``name``/``code_id``)."""
    return merge(project, [cid], theme, name, definition, code_id, coder, action="accept")


def merge(project: Project, cids: list[int], theme: str = "", name: str | None = None,
          definition: str = "", code_id: str | None = None, coder: str | None = None,
          action: str = "merge") -> dict:
    """Merge candidates into one code; their utterances become the coder's codings."""
    coder = _coder(coder)
    with project.transaction() as conn:
        cands = [_open_candidate(conn, c) for c in dict.fromkeys(cids)]
        code = _new_code(conn, name or cands[0]["label"], theme, definition, code_id)
        n = _confirm_members(conn, [c["id"] for c in cands], code.id, coder)
        conn.executemany("UPDATE candidates SET status = ?, code = ? WHERE id = ?",
                         [("accepted" if action == "accept" else "merged", code.id, c["id"]) for c in cands])
        project.log(action, coder, candidates=[c["id"] for c in cands], code=code.id,
                    name=code.name, theme=code.theme, codings=n)
    return {"code": code.id, "name": code.name, "theme": code.theme, "codings": n}


def reject(project: Project, cids: list[int], coder: str | None = None, reason: str = "") -> int:
    coder = _coder(coder)
    with project.transaction() as conn:
        for c in dict.fromkeys(cids):
            _open_candidate(conn, c)
            conn.execute("UPDATE candidates SET status = 'rejected' WHERE id = ?", (c,))
        project.log("reject", coder, candidates=list(dict.fromkeys(cids)), reason=reason)
    return len(set(cids))


def rename_code(project: Project, ref: str, new_name: str, coder: str | None = None) -> cb.Code:
    with project.transaction() as conn:
        code = _code(conn, ref)
        conn.execute("UPDATE codes SET name = ? WHERE id = ?", (new_name, code.id))
        project.log("rename-code", _coder(coder), code=code.id, old=code.name, new=new_name)
    return cb.Code(code.id, new_name, code.definition, code.theme)


def move_code(project: Project, ref: str, theme_ref: str, coder: str | None = None) -> cb.Code:
    with project.transaction() as conn:
        code, theme = _code(conn, ref), _theme(conn, theme_ref)
        conn.execute("UPDATE codes SET theme = ? WHERE id = ?", (theme.id, code.id))
        project.log("move-code", _coder(coder), code=code.id, old=code.theme, new=theme.id)
    return cb.Code(code.id, code.name, code.definition, theme.id)


def add_theme(project: Project, name: str, definition: str = "", theme_id: str | None = None,
              coder: str | None = None) -> cb.Theme:
    with project.transaction() as conn:
        if cb.load(conn).find_theme(theme_id or name):
            raise AutocodeError(f"a theme '{name}' already exists", "choose another name, or use it as it is")
        theme = cb.Theme(theme_id or cb.slug(name), name, definition)
        cb.store(conn, cb.Codebook([theme]))
        project.log("add-theme", _coder(coder), theme=theme.id, name=name)
    return theme


def rename_theme(project: Project, ref: str, new_name: str, coder: str | None = None) -> cb.Theme:
    with project.transaction() as conn:
        theme = _theme(conn, ref)
        conn.execute("UPDATE themes SET name = ? WHERE id = ?", (new_name, theme.id))
        project.log("rename-theme", _coder(coder), theme=theme.id, old=theme.name, new=new_name)
    return cb.Theme(theme.id, new_name, theme.definition)


def import_codebook(project: Project, path: str | Path, coder: str | None = None) -> dict:
    book = cb.load_yaml(path)
    with project.transaction() as conn:
        counts = cb.store(conn, book)
        project.log("import-codebook", _coder(coder), file=str(path), **counts)
    return counts
