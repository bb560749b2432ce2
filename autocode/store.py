"""The project store: a folder with ``autocode.toml`` settings and a SQLite database.

The schema lives here and only here, as numbered migrations. Every change to a project goes
through :meth:`Project.transaction`, so a command that fails or is interrupted leaves the
project exactly as it was.
"""
from __future__ import annotations

import getpass
import json
import os
import shlex
import sqlite3
import tomllib
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import tomli_w

from .errors import AutocodeError, and_list

SETTINGS_FILE = "autocode.toml"
DATABASE_FILE = "autocode.db"

DEFAULT_SETTINGS = {
    "embedding": {"model": "all-MiniLM-L6-v2", "batch_size": 64, "backend": "torch"},
    "cluster": {"seed": 0, "min_cluster_size": 0, "dimensions": 5},
    "ingest": {"interviewer": []},
    # borrowed_weight: see learn.BORROWED
    "classifier": {"C": 1.0, "fine_tune": False, "fine_tune_passes": 2, "fine_tune_loss": "cross-entropy",
                   "fine_tune_learning_rate": 5e-5, "fine_tune_precision": "auto", "borrowed_weight": 0.5,
                   "fine_tune_model": "", "fine_tune_reading": "auto"},
}

# Settings whose type is right but whose value the libraries refuse deep inside, with their jargon.
RANGES = {("classifier", "C"): (lambda v: v > 0, "a number above 0 (larger trusts the codings more)"),
          ("classifier", "fine_tune_passes"): (lambda v: v >= 1, "a whole number, 1 or more"),
          ("embedding", "batch_size"): (lambda v: v >= 1, "a whole number, 1 or more"),
          ("cluster", "min_cluster_size"): (lambda v: v == 0 or v >= 2, "0 (automatic) or a whole number, 2 or more"),
          ("cluster", "dimensions"): (lambda v: v >= 2, "a whole number, 2 or more")}


def _kind(default) -> str:
    return {bool: "true or false", int: "a whole number", float: "a number", str: "text in quotes",
            list: 'a list such as ["Interviewer", "Dr Smith"]'}[type(default)]


def _toml(value) -> str:
    return tomli_w.dumps({"v": value}).split("=", 1)[1].strip()


def undo_triggers(table: str, columns: list[str]) -> str:
    """Triggers that write, for each change to ``table``, the SQL that reverses it.

    They fire only while a review decision is being recorded (``undo_state.step`` is set), so
    bulk work such as ``suggest`` costs nothing. The pattern is SQLite's own "automatic undo/redo
    using triggers".
    """
    step = "(SELECT step FROM undo_state)"
    when = f"WHEN {step} IS NOT NULL"
    values = " || ',' || ".join(f"quote(old.{c})" for c in columns)
    sets = " || ', ' || ".join(f"'{c} = ' || quote(old.{c})" for c in columns)
    record = "INSERT INTO undo_sql (step, sql) VALUES (" + step + ", {sql});"
    return f"""
    CREATE TRIGGER undo_{table}_insert AFTER INSERT ON {table} {when} BEGIN
        {record.format(sql=f"'DELETE FROM {table} WHERE rowid = ' || new.rowid")}
    END;
    CREATE TRIGGER undo_{table}_update AFTER UPDATE ON {table} {when} BEGIN
        {record.format(sql=f"'UPDATE {table} SET ' || {sets} || ' WHERE rowid = ' || old.rowid")}
    END;
    CREATE TRIGGER undo_{table}_delete AFTER DELETE ON {table} {when} BEGIN
        {record.format(sql=f"'INSERT INTO {table} (rowid, {', '.join(columns)}) VALUES (' || old.rowid || ',' || {values} || ')'")}
    END;
    """


MIGRATIONS = [
    # 1: the foundation schema.
    """
    CREATE TABLE documents (
        id TEXT PRIMARY KEY,
        source TEXT NOT NULL,
        format TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        text TEXT NOT NULL,
        added_at TEXT NOT NULL
    );
    CREATE TABLE utterances (
        id INTEGER PRIMARY KEY,
        document TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
        idx INTEGER NOT NULL,
        speaker TEXT NOT NULL,
        is_interviewer INTEGER NOT NULL DEFAULT 0,
        start INTEGER NOT NULL,
        end INTEGER NOT NULL,
        text TEXT NOT NULL,
        source_id TEXT,
        UNIQUE (document, idx)
    );
    CREATE TABLE embeddings (
        model TEXT NOT NULL,
        text_hash TEXT NOT NULL,
        vector BLOB NOT NULL,
        PRIMARY KEY (model, text_hash)
    );
    CREATE TABLE themes (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        definition TEXT NOT NULL DEFAULT '',
        position INTEGER NOT NULL
    );
    CREATE TABLE codes (
        id TEXT PRIMARY KEY,
        theme TEXT NOT NULL REFERENCES themes(id),
        name TEXT NOT NULL,
        definition TEXT NOT NULL DEFAULT '',
        position INTEGER NOT NULL
    );
    CREATE TABLE candidates (
        id INTEGER PRIMARY KEY,
        label TEXT NOT NULL,
        keywords TEXT NOT NULL,
        size INTEGER NOT NULL,
        n_documents INTEGER NOT NULL,
        n_participants INTEGER NOT NULL,
        status TEXT NOT NULL DEFAULT 'open',
        code TEXT,
        nearest_code TEXT,           -- the codebook code whose definition is most alike
        nearest_similarity REAL,
        created_at TEXT NOT NULL
    );
    CREATE TABLE candidate_members (
        candidate INTEGER NOT NULL REFERENCES candidates(id) ON DELETE CASCADE,
        utterance INTEGER NOT NULL REFERENCES utterances(id) ON DELETE CASCADE,
        distance REAL NOT NULL,
        example_rank INTEGER,
        PRIMARY KEY (candidate, utterance)
    );
    CREATE TABLE codings (
        id INTEGER PRIMARY KEY,
        utterance INTEGER NOT NULL REFERENCES utterances(id) ON DELETE CASCADE,
        code TEXT NOT NULL,          -- '' means "coded: no code"
        coder TEXT NOT NULL,
        confidence REAL,
        reason TEXT,
        created_at TEXT NOT NULL,
        UNIQUE (utterance, code, coder)
    );
    CREATE INDEX codings_by_coder ON codings(coder);
    CREATE TABLE decisions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        time TEXT NOT NULL,
        coder TEXT NOT NULL,
        action TEXT NOT NULL,
        details TEXT NOT NULL
    );
    CREATE TRIGGER decisions_append_only_update BEFORE UPDATE ON decisions
    BEGIN SELECT RAISE(ABORT, 'the decision log is append-only'); END;
    CREATE TRIGGER decisions_append_only_delete BEFORE DELETE ON decisions
    BEGIN SELECT RAISE(ABORT, 'the decision log is append-only'); END;
    CREATE TABLE classifiers (
        id INTEGER PRIMARY KEY,
        coder TEXT NOT NULL,
        created_at TEXT NOT NULL,
        metrics TEXT NOT NULL,
        model BLOB NOT NULL
    );
    """,
    # 2: undo and redo of review decisions (see undo.py), filled by the triggers below.
    """
    CREATE TABLE undo_steps (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,           -- 'action', 'undo' or 'redo'
        target INTEGER,               -- for undo and redo: the step it reverses
        decision INTEGER,             -- the decision-log entry of this step
        undone INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE undo_sql (
        id INTEGER PRIMARY KEY,
        step INTEGER NOT NULL REFERENCES undo_steps(id),
        sql TEXT NOT NULL
    );
    CREATE TABLE undo_state (step INTEGER);
    INSERT INTO undo_state VALUES (NULL);
    """ + "".join(
        undo_triggers(t, cols) for t, cols in {
            "themes": ["id", "name", "definition", "position"],
            "codes": ["id", "theme", "name", "definition", "position"],
            "candidates": ["id", "label", "keywords", "size", "n_documents", "n_participants", "status",
                           "code", "nearest_code", "nearest_similarity", "created_at"],
            "candidate_members": ["candidate", "utterance", "distance", "example_rank"],
            "codings": ["id", "utterance", "code", "coder", "confidence", "reason", "created_at"],
        }.items()),
    # 3: a candidate's number is never given again. SQLite reuses the highest rowid once it is
    # deleted (by undoing a split, or proposing anew), so "#51" could name other utterances than
    # the ones a stale page or an old log entry meant. Undo does not record this counter.
    """
    CREATE TABLE id_counters (name TEXT PRIMARY KEY, last INTEGER NOT NULL);
    INSERT INTO id_counters SELECT 'candidates', COALESCE(MAX(id), 0) FROM candidates;
    CREATE TRIGGER candidates_count_ids AFTER INSERT ON candidates BEGIN
        UPDATE id_counters SET last = MAX(last, new.id) WHERE name = 'candidates';
    END;
    """,
]


def _last_used(folder: Path) -> float:
    db = folder / DATABASE_FILE
    return db.stat().st_mtime if db.is_file() else 0.0


def marks(items) -> str:
    """SQL placeholders for ``IN (...)``: one per item, or NULL (matching nothing) for none."""
    return ",".join("?" * len(items)) or "NULL"


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def session_coder() -> str | None:
    """AUTOCODE_CODER, where set (such as 'export AUTOCODE_CODER=alice', so every command of a
    session is alice's)."""
    return os.environ.get("AUTOCODE_CODER", "").strip() or None


def default_coder() -> str:
    """Whose decisions these are when --coder is not given: AUTOCODE_CODER, else the login name."""
    if named := session_coder():
        return named
    try:
        return getpass.getuser() or "coder"
    except Exception:  # no user name on some systems (containers)
        return "coder"


def connect(path: Path) -> sqlite3.Connection:
    """Open the database in autocommit mode; transactions are explicit."""
    # One connection is only ever used by one thread at a time, but the review app may open
    # and close it on different worker threads of the same request.
    conn = sqlite3.connect(path, isolation_level=None, timeout=30, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA journal_mode = WAL")
    return conn


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the schema up to date; each migration is its own transaction."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > len(MIGRATIONS):
        raise AutocodeError(
            f"this project was made by a newer autocode (schema {version})",
            "upgrade autocode (pip install -U autocode) and try again",
        )
    for number, sql in enumerate(MIGRATIONS[version:], start=version + 1):
        conn.executescript(f"BEGIN IMMEDIATE; {sql}; PRAGMA user_version = {number}; COMMIT;")
    return len(MIGRATIONS)


class Project:
    """An open autocode project: its folder, settings and database connection."""

    def __init__(self, root: Path, new: bool = False):
        self.root = Path(root).resolve()
        self.settings = _read_settings(self.root / SETTINGS_FILE)
        if not new and not (self.root / DATABASE_FILE).is_file():
            raise AutocodeError(f"the project's database, {DATABASE_FILE}, is missing, so its transcripts and codings "
                                "cannot be read", "put it back from a backup copy of the project folder (autocode does "
                                "not start an empty one in its place)", str(self.root))
        self.conn = connect(self.root / DATABASE_FILE)
        migrate(self.conn)

    # -- finding and creating -------------------------------------------------------------
    @classmethod
    def find(cls, project: str | Path | None = None) -> "Project":
        """Open the project at ``project``, or the one containing the current directory."""
        start = Path(project or os.environ.get("AUTOCODE_PROJECT") or Path.cwd()).resolve()
        orphan = None   # a database without its settings: a project that lost them, or a backup copy
        for folder in [start, *start.parents]:
            if (folder / SETTINGS_FILE).is_file():
                return cls(folder)
            if orphan is None and (folder / DATABASE_FILE).is_file():
                orphan = folder
            if project:
                break
        if orphan is not None:
            raise AutocodeError(f"the project's settings file, {SETTINGS_FILE}, is missing beside its database",
                                f"put it back from a backup, or run 'autocode init {orphan}' to write default "
                                "settings (the database and its work are kept)", str(orphan))
        below = sorted(f.parent for f in start.glob(f"*/{SETTINGS_FILE}")) if start.is_dir() else []
        if below:   # the researcher is one folder too high
            named = and_list([f.name for f in below], most=3)
            latest = shlex.quote(str(max(below, key=_last_used)))
            which = f"cd {latest}" if len(below) == 1 else \
                f"cd into the one you mean, such as the one used last: cd {latest},"
            raise AutocodeError(f"no autocode project found at {start}, though it holds the project "
                                f"folder{'s' if len(below) > 1 else ''} {named}",
                                f"{which} and run the command again, or add --project FOLDER")
        raise AutocodeError(
            f"no autocode project found at {start}",
            "create one with 'autocode init DIR' and run commands inside it, "
            "or point to it with --project DIR",
        )

    @classmethod
    def create(cls, root: str | Path, settings: dict | None = None) -> "Project":
        root = Path(root)
        if (root / SETTINGS_FILE).exists():
            raise AutocodeError(
                f"{root} is already an autocode project", "use it as it is, or choose another folder"
            )
        if root.exists() and not root.is_dir():
            raise AutocodeError(f"{root} is a file, not a folder", "choose a folder name")
        root.mkdir(parents=True, exist_ok=True)
        merged = {k: {**v, **(settings or {}).get(k, {})} for k, v in DEFAULT_SETTINGS.items()}
        (root / SETTINGS_FILE).write_text(tomli_w.dumps(merged), encoding="utf-8")
        return cls(root, new=True)

    # -- writing --------------------------------------------------------------------------
    @contextmanager
    def transaction(self):
        """All-or-nothing: commit when the block ends, roll back on any error or interrupt.

        Nested use joins the outer transaction (as a savepoint), so a command made of several
        steps, such as adding files and then coding them, succeeds or fails as a whole.
        """
        if self.conn.in_transaction:
            self.conn.execute("SAVEPOINT nested")
            try:
                yield self.conn
            except BaseException:
                self.conn.execute("ROLLBACK TO nested")
                self.conn.execute("RELEASE nested")
                raise
            self.conn.execute("RELEASE nested")
            return
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def log(self, action: str, coder: str, **details) -> None:
        """Append a decision to the log; call inside the transaction that makes the change."""
        self.conn.execute(
            "INSERT INTO decisions (time, coder, action, details) VALUES (?, ?, ?, ?)",
            (now(), coder, action, json.dumps(details, ensure_ascii=False, sort_keys=True)),
        )

    # -- settings -------------------------------------------------------------------------
    def setting(self, section: str, key: str):
        value = self.settings.get(section, {}).get(key, DEFAULT_SETTINGS[section][key])
        default = DEFAULT_SETTINGS[section][key]
        if isinstance(default, list) and isinstance(value, str):
            return [value]
        number = isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool)
        if value is not None and not isinstance(value, type(default)) and not number:
            raise AutocodeError(f"setting '{key}' under [{section}] is {_toml(value)}, but should be {_kind(default)}",
                                f"fix it in autocode.toml, for example: {key} = {_toml(default)}", str(self.root / SETTINGS_FILE))
        rule = RANGES.get((section, key))
        if rule and value is not None and not rule[0](value):
            raise AutocodeError(f"setting '{key}' under [{section}] is {value!r}, but should be {rule[1]}",
                                f"fix it in autocode.toml, for example: {key} = {_toml(default)}", str(self.root / SETTINGS_FILE))
        return value

    def close(self) -> None:
        self.conn.close()


def _read_settings(path: Path) -> dict:
    try:
        settings = tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise AutocodeError("the settings file is not UTF-8 text", "save it as UTF-8 in a text editor", str(path)) from None
    except tomllib.TOMLDecodeError as exc:
        raise AutocodeError(
            f"the settings file is not valid TOML ({exc})",
            "fix the line it names, or delete the file's broken line",
            where=str(path),
        ) from None
    for section, value in settings.items():
        if section not in DEFAULT_SETTINGS:
            raise AutocodeError(f"[{section}] (line {_line_of(path, '[' + section)}) is not a section autocode knows",
                                _did_you_mean(section, list(DEFAULT_SETTINGS), "[{}]"), str(path))
        if not isinstance(value, dict):
            raise AutocodeError(f"'{section}' should be a section like [{section}], not a value",
                                f"write it as a [{section}] heading with settings under it", str(path))
        for key in value:
            if key not in DEFAULT_SETTINGS[section]:
                raise AutocodeError(f"'{key}' under [{section}] (line {_line_of(path, key)}) is not a setting autocode "
                                    "knows, so it would be ignored", _did_you_mean(key, list(DEFAULT_SETTINGS[section]), "'{}'"),
                                    str(path))
    return settings


def _line_of(path: Path, start: str) -> int | str:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next((i for i, line in enumerate(lines, 1) if line.strip().startswith(start)), "?")


def _did_you_mean(name: str, known: list[str], shape: str) -> str:
    from difflib import get_close_matches

    near = [k for k in known if k.lower() == name.lower()] or get_close_matches(name, known, n=1, cutoff=0.6)
    listed = ", ".join(shape.format(k) for k in known)
    return (f"did you mean {shape.format(near[0])}? " if near else "") + f"autocode reads {listed}"
