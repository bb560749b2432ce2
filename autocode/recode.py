"""Changing a codebook that codings already use: merging codes, removing a code or a theme.

Codebooks are refined as coding goes on: two codes turn out to be one idea, a code is
dropped. Each change here rewrites the codings it touches, every coder's, in one recorded
step, so ``autocode undo`` takes it back whole.
"""
from __future__ import annotations

from . import codebook as cb
from .codings import MACHINE
from .errors import Conflict, and_list
from .review import _code, _coder, _theme
from .store import Project, marks
from .undo import recorded


def merge_codes(project: Project, sources: list[str], into: str, coder: str | None = None) -> dict:
    """Fold ``sources`` into the code ``into``: their codings become codings of it (an
    utterance a coder gave both keeps one), their candidates point to it, and they leave the
    codebook."""
    with recorded(project) as conn:
        target, merged = _code(conn, into), _sources(conn, sources, into)
        counts = [_recode(conn, c.id, target.id) for c in merged]
        moved, twins = sum(m for m, _ in counts), sum(d for _, d in counts)
        ids = [c.id for c in merged]
        _repoint_candidates(conn, ids, target.id)
        conn.execute(f"DELETE FROM codes WHERE id IN ({marks(ids)})", ids)
        project.log("merge-codes", _coder(coder), codes=ids, names=[c.name for c in merged], into=target.id,
                    codings=moved, duplicates=twins)
    return {"into": target, "merged": merged, "codings": moved, "duplicates": twins}


def _sources(conn, refs: list[str], into: str) -> list[cb.Code]:
    target, found = _code(conn, into), []
    for ref in refs:
        code = _code(conn, ref)
        if code.id == target.id:
            raise Conflict(f"'{ref}' is the code being merged into", "name the codes to fold in, then --into the one to keep")
        if code not in found:
            found.append(code)
    if not found:
        raise Conflict("no code to merge was named", "name one or more codes, then --into the code to keep")
    return found


def _recode(conn, source: str, target: str) -> tuple[int, int]:
    """Codings of ``source`` become ``target``'s; where the coder already gave ``target`` the
    utterance, the duplicate goes. Returns how many moved and how many were duplicates."""
    twins = conn.execute("DELETE FROM codings WHERE code = ? AND EXISTS (SELECT 1 FROM codings t WHERE "
                         "t.utterance = codings.utterance AND t.coder = codings.coder AND t.code = ?)", (source, target))
    dropped = twins.rowcount
    return conn.execute("UPDATE codings SET code = ? WHERE code = ?", (target, source)).rowcount, dropped


def _repoint_candidates(conn, ids: list[str], target: str) -> None:
    """Accepted candidates now stand for the code kept; a closeness measured to a merged code
    says nothing about the kept one, so it is forgotten until candidates are proposed again."""
    conn.execute(f"UPDATE candidates SET code = ? WHERE code IN ({marks(ids)})", (target, *ids))
    conn.execute(f"UPDATE candidates SET nearest_code = NULL, nearest_similarity = NULL WHERE nearest_code IN "
                 f"({marks(ids)})", ids)


def remove_code(project: Project, ref: str, with_codings: bool = False, coder: str | None = None) -> dict:
    """Take a code out of the codebook. People's codings of it are refused unless asked
    for (``with_codings``): folding them into another code is usually what is meant.
    Candidates accepted as it become rejected; ``autocode reopen`` brings them back."""
    with recorded(project) as conn:
        code = _code(conn, ref)
        people = _coders_of(conn, code.id)
        if people and not with_codings:
            raise Conflict(f"the code '{code.name}' holds {sum(people.values())} codings, by {and_list(sorted(people))}",
                           f"to keep them under another code: autocode code merge \"{code.name}\" --into OTHER_CODE; "
                           "to remove the code and its codings: add --with-codings ('autocode undo' takes it back)")
        removed = conn.execute("DELETE FROM codings WHERE code = ?", (code.id,)).rowcount
        rejected = [r[0] for r in conn.execute("SELECT id FROM candidates WHERE code = ? ORDER BY id", (code.id,))]
        conn.execute("UPDATE candidates SET status = 'rejected', code = NULL WHERE code = ?", (code.id,))
        conn.execute("UPDATE candidates SET nearest_code = NULL, nearest_similarity = NULL WHERE nearest_code = ?", (code.id,))
        conn.execute("DELETE FROM codes WHERE id = ?", (code.id,))
        project.log("remove-code", _coder(coder), code=code.id, name=code.name, codings=removed,
                    rejected_candidates=rejected)
    return {"code": code, "codings": removed, "people": people, "candidates": rejected}


def _coders_of(conn, code: str) -> dict[str, int]:
    rows = conn.execute("SELECT coder, COUNT(*) FROM codings WHERE code = ? AND coder != ? GROUP BY coder", (code, MACHINE))
    return dict(rows.fetchall())


def remove_theme(project: Project, ref: str, coder: str | None = None) -> cb.Theme:
    """Take an empty theme out of the codebook; one with codes is refused, naming them."""
    with recorded(project) as conn:
        theme = _theme(conn, ref)
        codes = [c.name for c in cb.load(conn).codes if c.theme == theme.id]
        if codes:
            raise Conflict(f"the theme '{theme.name}' still holds {len(codes)} code(s): {and_list(codes, most=5)}",
                           "move them under another theme first (autocode code move CODE THEME), merge them into "
                           "other codes (autocode code merge CODE --into OTHER), or remove them (autocode code remove CODE)")
        conn.execute("DELETE FROM themes WHERE id = ?", (theme.id,))
        project.log("remove-theme", _coder(coder), theme=theme.id, name=theme.name)
    return theme
