"""The project store: creation, discovery, migrations, transactions, append-only log."""
from __future__ import annotations

import sqlite3

import pytest

from autocode import AutocodeError, Project
from autocode.store import MIGRATIONS, connect, migrate
from conftest import snapshot


def test_create_writes_settings_and_database(tmp_path):
    p = Project.create(tmp_path / "study")
    assert (tmp_path / "study" / "autocode.toml").is_file()
    assert (tmp_path / "study" / "autocode.db").is_file()
    assert p.conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert p.setting("embedding", "model") == "all-MiniLM-L6-v2"


def test_tables_hold_what_the_issue_lists(tmp_path):
    p = Project.create(tmp_path / "s")
    tables = {r[0] for r in p.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"documents", "utterances", "embeddings", "candidates", "themes", "codes", "codings", "decisions"} <= tables


def test_find_walks_up_from_a_subfolder(tmp_path, monkeypatch):
    Project.create(tmp_path / "s")
    (tmp_path / "s" / "transcripts" / "deep").mkdir(parents=True)
    monkeypatch.delenv("AUTOCODE_PROJECT", raising=False)
    monkeypatch.chdir(tmp_path / "s" / "transcripts" / "deep")
    assert Project.find().root == (tmp_path / "s").resolve()


def test_find_with_explicit_folder_does_not_walk_up(tmp_path):
    Project.create(tmp_path / "s")
    (tmp_path / "s" / "sub").mkdir()
    with pytest.raises(AutocodeError, match="no autocode project"):
        Project.find(tmp_path / "s" / "sub")


def test_transaction_rolls_back_on_error(project):
    before = snapshot(project)
    with pytest.raises(RuntimeError):
        with project.transaction() as conn:
            conn.execute("INSERT INTO themes (id, name, position) VALUES ('x', 'X', 99)")
            project.log("test", "me")
            raise RuntimeError("boom")
    assert snapshot(project) == before


def test_transaction_rolls_back_on_interrupt(project):
    before = snapshot(project)
    with pytest.raises(KeyboardInterrupt):
        with project.transaction() as conn:
            conn.execute("DELETE FROM codes")
            raise KeyboardInterrupt
    assert snapshot(project) == before


def test_decision_log_is_append_only(project):
    with project.transaction():
        project.log("test", "me", note="x")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        project.conn.execute("UPDATE decisions SET coder = 'someone else'")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        project.conn.execute("DELETE FROM decisions")


def test_migrate_is_idempotent(tmp_path):
    conn = connect(tmp_path / "x.db")
    assert migrate(conn) == migrate(conn) == len(MIGRATIONS)


def test_newer_schema_is_refused(tmp_path):
    conn = connect(tmp_path / "x.db")
    conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    with pytest.raises(AutocodeError, match="newer autocode"):
        migrate(conn)


def test_settings_override_defaults(tmp_path):
    p = Project.create(tmp_path / "s", {"embedding": {"model": "/models/mine"}})
    assert p.setting("embedding", "model") == "/models/mine"
    assert p.setting("embedding", "batch_size") == 64


def test_migration_3_starts_the_candidate_counter_after_the_highest_number(tmp_path):
    conn = connect(tmp_path / "x.db")
    for number, sql in enumerate(MIGRATIONS[:2], start=1):
        conn.executescript(f"BEGIN; {sql}; PRAGMA user_version = {number}; COMMIT;")
    conn.execute("INSERT INTO candidates (id, label, keywords, size, n_documents, n_participants, created_at) "
                 "VALUES (7, 'x', '[]', 0, 0, 0, 'now')")
    migrate(conn)
    assert conn.execute("SELECT last FROM id_counters WHERE name = 'candidates'").fetchone()[0] == 7
