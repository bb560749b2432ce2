"""Removing transcripts from a project: a file added by mistake, or a participant who
withdraws consent.

Withdrawal means the words must go, not just out of sight: the transcript, its utterances,
every coding of them, their cached embeddings, the quotes the stored classifiers keep as
examples, and those quotes in other utterances' reasons. Undo's record of older decisions goes
too (undo cannot reach past a removal anyway), and the database file is compacted so the
deleted text does not linger in its free pages. Removal itself is not undoable, by design.
"""
from __future__ import annotations

import re

from .corpus import check_documents, clip
from .embed import text_hash
from .codings import MACHINE
from .review import _coder, _recount
from .store import Project


def removal_plan(conn, documents: list[str]) -> dict:
    """What removing ``documents`` would take with it, for the question asked before it."""
    check_documents(conn, documents)
    marks = ",".join("?" * len(documents))
    utterances = conn.execute(f"SELECT COUNT(*) FROM utterances WHERE document IN ({marks})", documents).fetchone()[0]
    coders = dict(conn.execute(
        f"SELECT c.coder, COUNT(*) FROM codings c JOIN utterances u ON u.id = c.utterance "
        f"WHERE u.document IN ({marks}) GROUP BY c.coder ORDER BY c.coder", documents).fetchall())
    trained = conn.execute(f"SELECT 1 FROM classifiers WHERE created_at >= (SELECT MIN(added_at) FROM documents "
                           f"WHERE id IN ({marks}))", documents).fetchone()
    return {"documents": list(dict.fromkeys(documents)), "utterances": utterances, "codings": coders,
            "retrain": bool(trained) and any(c != MACHINE for c in coders)}


def remove_documents(project: Project, documents: list[str], coder: str | None = None) -> dict:
    """Delete the transcripts and everything drawn from their words; returns what went."""
    with project.transaction() as conn:
        plan = removal_plan(conn, documents)
        texts = _texts(conn, plan["documents"])
        touched = _candidates_of(conn, plan["documents"])
        conn.executemany("DELETE FROM documents WHERE id = ?", [(d,) for d in plan["documents"]])
        emptied = _tidy_candidates(conn, touched)
        gone = texts - {r[0] for r in conn.execute("SELECT text FROM utterances")}
        plan["embeddings"] = _forget_embeddings(conn, gone)
        plan["quotes"] = _forget_quotes(conn, gone) + _forget_in_reasons(conn, gone)
        conn.execute("DELETE FROM undo_sql")
        plan["candidates_emptied"] = emptied
        project.log("remove", _coder(coder), documents=plan["documents"], utterances=plan["utterances"],
                    codings=plan["codings"])
    project.conn.execute("VACUUM")   # the deleted text out of the file's free pages too
    project.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return plan


def _texts(conn, documents: list[str]) -> set[str]:
    marks = ",".join("?" * len(documents))
    return {r[0] for r in conn.execute(f"SELECT text FROM utterances WHERE document IN ({marks})", documents)}


def _candidates_of(conn, documents: list[str]) -> list[int]:
    marks = ",".join("?" * len(documents))
    return [r[0] for r in conn.execute(
        f"SELECT DISTINCT m.candidate FROM candidate_members m JOIN utterances u ON u.id = m.utterance "
        f"WHERE u.document IN ({marks})", documents)]


def _tidy_candidates(conn, candidates: list[int]) -> int:
    """Recount the candidates that lost utterances; open ones left with none are dropped."""
    for cid in candidates:
        _recount(conn, cid)
    marks = ",".join("?" * len(candidates))
    return conn.execute(f"DELETE FROM candidates WHERE status = 'open' AND size = 0 AND id IN ({marks})",
                        candidates).rowcount


def _forget_embeddings(conn, texts: set[str]) -> int:
    hashes = [(text_hash(t),) for t in texts]
    before = conn.total_changes
    conn.executemany("DELETE FROM embeddings WHERE text_hash = ?", hashes)
    return conn.total_changes - before


def _forget_quotes(conn, texts: set[str]) -> int:
    """Drop the removed utterances from every stored classifier's examples, so no reason
    quotes them again. What the classifier learnt from them stays until it is trained again."""
    from .classify import ThemeClassifier

    dropped = 0
    for row in conn.execute("SELECT id, model FROM classifiers").fetchall():
        clf = ThemeClassifier.from_bytes(row["model"])
        keep = [i for i, t in enumerate(clf.examples_text_) if t not in texts]
        if len(keep) < len(clf.examples_text_):
            dropped += len(clf.examples_text_) - len(keep)
            clf.examples_X_ = clf.examples_X_[keep]
            clf.examples_text_ = [clf.examples_text_[i] for i in keep]
            clf.examples_label_ = [clf.examples_label_[i] for i in keep]
            conn.execute("UPDATE classifiers SET model = ? WHERE id = ?", (clf.to_bytes(), row["id"]))
    return dropped


def _forget_in_reasons(conn, texts: set[str]) -> int:
    """Take the removed utterances out of the reasons given for other utterances' suggestions,
    which quote their closest confirmed examples (see ``learn.reason``)."""
    quotes = [re.escape(f"\u201c{clip(t, 90)}\u201d") for t in texts]
    if not quotes:
        return 0
    pattern = re.compile(f"(?:{'|'.join(quotes)}) \\(similarity -?[0-9.]+\\)(?:; )?")
    dropped = 0
    for row in conn.execute("SELECT id, reason FROM codings WHERE reason LIKE '%\u201c%'").fetchall():
        new, n = pattern.subn("", row["reason"])
        if n:
            dropped += n
            conn.execute("UPDATE codings SET reason = ? WHERE id = ?", (_tidy_reason(new), row["id"]))
    return dropped


def _tidy_reason(reason: str) -> str:
    """A reason whose quotes all went loses their heading too."""
    reason = re.sub("closest confirmed examples: (?!\u201c)", "", reason)
    return re.sub(r"; $", "", reason).strip()
