"""Removing transcripts from a project: a file added by mistake, or a participant who
withdraws consent.

Withdrawal means the words must go, not just out of sight: the transcript, its utterances,
every coding of them, their cached embeddings, their words among candidates' keywords, the
classifiers that learnt from their codings (with their word lists and tuned models), the
quotes older classifiers keep as examples, and those quotes in other utterances' reasons.
Undo's record of older decisions goes too (undo cannot reach past a removal anyway). Deleted
pages are overwritten (``secure_delete``) and the file compacted. The decision log is
append-only and keeps what it logged (document ids, candidate labels a rename replaced).
Removal itself is not undoable, by design.
"""
from __future__ import annotations

import re

from .cluster import _label, _short_replies
from .codings import MACHINE
from .corpus import check_documents, clip
from .embed import text_hash
from .review import _coder, _recount
from .store import Project, marks


def removal_plan(conn, documents: list[str]) -> dict:
    """What removing ``documents`` would take with it, for the question asked before it."""
    check_documents(conn, documents)
    utterances = conn.execute(f"SELECT COUNT(*) FROM utterances WHERE document IN ({marks(documents)})",
                              documents).fetchone()[0]
    coders = dict(conn.execute(
        f"SELECT c.coder, COUNT(*) FROM codings c JOIN utterances u ON u.id = c.utterance "
        f"WHERE u.document IN ({marks(documents)}) GROUP BY c.coder ORDER BY c.coder", documents).fetchall())
    since = conn.execute(f"SELECT MIN(added_at) FROM documents WHERE id IN ({marks(documents)})", documents).fetchone()[0]
    learnt = any(c != MACHINE for c in coders)
    classifiers = conn.execute("SELECT COUNT(*) FROM classifiers WHERE created_at >= ?", (since,)).fetchone()[0]
    return {"documents": list(dict.fromkeys(documents)), "utterances": utterances, "codings": coders,
            "since": since, "classifiers": classifiers if learnt else 0}


def remove_documents(project: Project, documents: list[str], coder: str | None = None) -> dict:
    """Delete the transcripts and everything drawn from their words; returns what went."""
    project.conn.execute("PRAGMA secure_delete = ON")   # freed pages are overwritten, not left readable
    try:
        with project.transaction() as conn:
            plan = removal_plan(conn, documents)
            texts = _texts(conn, plan["documents"])
            touched = _candidates_of(conn, plan["documents"])
            conn.executemany("DELETE FROM documents WHERE id = ?", [(d,) for d in plan["documents"]])
            gone = texts - {r[0] for r in conn.execute("SELECT text FROM utterances")}
            plan["candidates_emptied"] = _tidy_candidates(conn, touched)
            plan["embeddings"] = _forget_embeddings(conn, gone)
            if plan["classifiers"]:
                conn.execute("DELETE FROM classifiers WHERE created_at >= ?", (plan["since"],))
            plan["quotes"] = _forget_quotes(conn, gone) + _forget_in_reasons(conn, gone)
            conn.execute("DELETE FROM undo_sql")
            project.log("remove", _coder(coder), documents=plan["documents"], utterances=plan["utterances"],
                        codings=plan["codings"], classifiers=plan["classifiers"])
    finally:
        project.conn.execute("PRAGMA secure_delete = OFF")
    _forget_tunings(project)
    plan["compacted"] = compact(project)
    return plan


def compact(project: Project) -> bool:
    """Rewrite the database file without its free pages; False when another program (a review
    page left open) holds it, so that the file is rewritten only once that closes."""
    import sqlite3

    try:
        project.conn.execute("VACUUM")
        busy, log, done = project.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    except sqlite3.OperationalError:
        return False
    return not busy and log == done


def _texts(conn, documents: list[str]) -> set[str]:
    return {r[0] for r in conn.execute(f"SELECT text FROM utterances WHERE document IN ({marks(documents)})", documents)}


def _candidates_of(conn, documents: list[str]) -> list[int]:
    return [r[0] for r in conn.execute(
        f"SELECT DISTINCT m.candidate FROM candidate_members m JOIN utterances u ON u.id = m.utterance "
        f"WHERE u.document IN ({marks(documents)})", documents)]


def _tidy_candidates(conn, candidates: list[int]) -> int:
    """Candidates left with no utterance go, whatever their status; the others are recounted
    and keep only keywords their remaining utterances still say."""
    import json

    for cid in candidates:
        _recount(conn, cid)
    emptied = conn.execute(f"DELETE FROM candidates WHERE size = 0 AND id IN ({marks(candidates)})", candidates).rowcount
    for row in conn.execute(f"SELECT id, label, keywords FROM candidates WHERE id IN ({marks(candidates)})",
                            candidates).fetchall():
        said = [r[0] for r in conn.execute("SELECT u.text FROM candidate_members m JOIN utterances u ON u.id = m.utterance "
                                           "WHERE m.candidate = ?", (row["id"],))]
        old = json.loads(row["keywords"])
        kept = _still_said(old, said)
        automatic = row["label"] in (_label(old), "(no distinctive words)") or row["label"].startswith("Short replies")
        label = (_short_replies(said) or _label(kept)) if automatic else row["label"]
        conn.execute("UPDATE candidates SET keywords = ?, label = ? WHERE id = ?", (json.dumps(kept), label, row["id"]))
    return emptied


def _still_said(keywords: list[str], texts: list[str]) -> list[str]:
    words = set(re.findall(r"[a-z]+", " ".join(texts).lower()))
    return [k for k in keywords if all(w in words for w in k.split())]


def _forget_embeddings(conn, texts: set[str]) -> int:
    before = conn.total_changes
    conn.executemany("DELETE FROM embeddings WHERE text_hash = ?", [(text_hash(t),) for t in texts])
    return conn.total_changes - before


def _forget_tunings(project: Project) -> None:
    """Tuned models no remaining classifier reads learnt from the removed codings too."""
    from .classify import ThemeClassifier
    from .learn import _forget_old_tunings

    keep: list[str] = []
    for (blob,) in project.conn.execute("SELECT model FROM classifiers").fetchall():
        model = ThemeClassifier.from_bytes(blob).model
        keep += [model] if isinstance(model, str) else list(model)
    _forget_old_tunings(project, keep)


def _forget_quotes(conn, texts: set[str]) -> int:
    """Drop the removed utterances from every stored classifier's examples, so no reason
    quotes them again."""
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
