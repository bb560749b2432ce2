"""Bad input through the real CLI: one clear message, a non-zero exit, no traceback, nothing changed.

The product rule: each bad input gets ONE message that names the file (and the line or row
where there is one) and says what to do ("What to do: ..."); the command exits non-zero
without a traceback, and the project (database, decision log and settings) is exactly as it was.
"""
from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from autocode import Project
from autocode.cli import app

from conftest import DATA, snapshot

TRANSCRIPTS = DATA / "transcripts"
CODEBOOK = DATA / "codebook.yaml"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


# -- helpers ---------------------------------------------------------------------------------

def squash(text: str) -> str:
    """Text without colour codes or any whitespace: rich wraps long messages (and folds long
    paths) at the console width, so compare messages with the line breaks taken out."""
    return re.sub(r"\s+", "", ANSI.sub("", text))


def mentions(text: str, fragment) -> bool:
    return squash(str(fragment)) in squash(text)


def cli(*args, **kwargs):
    return CliRunner().invoke(app, [str(a) for a in args], **kwargs)


def state(p: Project):
    """Everything a failed command must leave alone: every table (the decision log
    included), the settings file, and which files the project folder holds."""
    tables = {name: [tuple(r) for r in rows] for name, rows in snapshot(p).items()}
    files = sorted(f.name for f in p.root.iterdir() if not f.name.endswith(("-wal", "-shm", "-journal")))
    return tables, (p.root / "autocode.toml").read_bytes(), files


def assert_clear_error(result, *fragments, exit_code: int = 1):
    """One friendly message naming ``fragments`` and saying what to do; no traceback."""
    text = ANSI.sub("", result.output)
    stderr = ANSI.sub("", result.stderr)
    assert result.exit_code == exit_code, f"exit {result.exit_code}, output:\n{text}"
    assert result.exc_info is None or result.exc_info[0] is SystemExit, (
        f"an exception escaped the CLI: {result.exc_info!r}\n{text}")
    assert "Traceback" not in text
    assert "unexpected problem" not in text, f"the generic fallback was used:\n{text}"
    assert stderr.count("Error:") == 1, f"expected exactly one message, got:\n{stderr}"
    assert stderr.count("What to do:") == 1, f"the message does not say what to do:\n{stderr}"
    assert "Error:" not in result.stdout, "the error went to stdout"
    after = stderr.split("What to do:", 1)[1]
    assert after.strip(), "'What to do:' is followed by nothing"
    for fragment in fragments:
        assert mentions(stderr, fragment), f"{fragment!r} not in the message:\n{stderr}"
    return stderr


def write(path: Path, content) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def run_subprocess(args, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("AUTOCODE_PROJECT", "AUTOCODE_DEBUG")}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    return subprocess.run([sys.executable, "-m", "autocode.cli", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(autouse=True)
def _no_project_from_env(monkeypatch):
    monkeypatch.delenv("AUTOCODE_PROJECT", raising=False)
    monkeypatch.delenv("AUTOCODE_DEBUG", raising=False)


@pytest.fixture
def with_d01(project) -> Project:
    """The empty project with D01 added (no embeddings needed)."""
    result = cli("add", TRANSCRIPTS / "D01.txt", "--project", project.root, "--coder", "tester")
    assert result.exit_code == 0, result.output
    return project


@pytest.fixture(scope="module")
def _proposed_template(tmp_path_factory) -> Path:
    """Codebook, D01 added and candidates proposed with seed 0; built once for this module."""
    from autocode.cluster import propose
    from autocode.corpus import add_files
    from autocode.review import import_codebook

    root = tmp_path_factory.mktemp("proposed") / "proj"
    p = Project.create(root)
    import_codebook(p, CODEBOOK, "tester")
    add_files(p, [TRANSCRIPTS / "D01.txt"], coder="tester")
    found = propose(p, seed=0, coder="tester")
    assert len(found) >= 3
    p.close()
    return root


@pytest.fixture
def proposed(_proposed_template, tmp_path) -> Project:
    root = tmp_path / "proposed"
    shutil.copytree(_proposed_template, root)
    p = Project(root)
    yield p
    p.close()


def open_candidate_ids(p: Project) -> list[int]:
    return [r[0] for r in p.conn.execute("SELECT id FROM candidates WHERE status = 'open' ORDER BY id")]


# -- autocode add: files that cannot be read --------------------------------------------------

def test_add_missing_file(project, tmp_path):
    before = state(project)
    missing = tmp_path / "no_such_interview.txt"
    msg = assert_clear_error(cli("add", missing, "--project", project.root), missing, "not found")
    assert "check the name" in msg
    assert state(project) == before


def test_add_folder_with_no_transcripts(project, tmp_path):
    folder = tmp_path / "nothing_here"
    folder.mkdir()
    write(folder / "notes.pdf", b"%PDF-1.4")  # not a transcript format: ignored in a folder
    before = state(project)
    assert_clear_error(cli("add", folder, "--project", project.root), "no transcript files", ".txt")
    assert state(project) == before


def test_add_folder_with_no_transcripts_names_the_folder(project, tmp_path):
    folder = tmp_path / "empty_interviews_folder"
    folder.mkdir()
    before = state(project)
    assert_clear_error(cli("add", folder, "--project", project.root), folder)
    assert state(project) == before


def test_add_unsupported_extension(project, tmp_path):
    pdf = write(tmp_path / "interview.pdf", b"%PDF-1.4 not really")
    before = state(project)
    msg = assert_clear_error(cli("add", pdf, "--project", project.root), pdf, "'.pdf'", ".txt", ".docx")
    assert "save it as one of" in msg
    assert state(project) == before


def test_add_file_without_extension(project, tmp_path):
    bare = write(tmp_path / "interview", "Interviewer: hi\nP1: hello there\n")
    before = state(project)
    assert_clear_error(cli("add", bare, "--project", project.root), bare, "no extension")
    assert state(project) == before


def test_add_non_utf8_file_names_file_and_line(project, tmp_path):
    latin = write(tmp_path / "latin1.txt", b"Interviewer: caf\xe9\n")
    before = state(project)
    assert_clear_error(cli("add", latin, "--project", project.root), latin, "line 1", "UTF-8", "0xE9")
    assert state(project) == before


def test_add_non_utf8_byte_on_a_later_line(project, tmp_path):
    latin = write(tmp_path / "later.txt",
                  b"Interviewer: hello\nP1: fine thanks\nInterviewer: and the caf\xe9?\nP1: closed\n")
    before = state(project)
    msg = assert_clear_error(cli("add", latin, "--project", project.root), latin, "line 3")
    assert "line 1 " not in msg
    assert state(project) == before


def test_add_non_utf8_csv_table_names_the_line(project, tmp_path):
    table = write(tmp_path / "table.csv", b"document,speaker,text\nA,P1,hello\nA,P1,na\xefve\n")
    before = state(project)
    assert_clear_error(cli("add", table, "--project", project.root), table, "line 3", "UTF-8")
    assert state(project) == before


@pytest.mark.parametrize("content", [b"", b"  \n\n\t \r\n   "], ids=["empty", "whitespace-only"])
def test_add_empty_file(project, tmp_path, content):
    empty = write(tmp_path / "blank.txt", content)
    before = state(project)
    assert_clear_error(cli("add", empty, "--project", project.root), empty, "empty")
    assert state(project) == before


def test_add_csv_without_text_column_lists_columns(project, tmp_path):
    table = write(tmp_path / "utterances.csv", "document,speaker,words\nA,P1,hello there\n")
    before = state(project)
    msg = assert_clear_error(cli("add", table, "--project", project.root), table, "'text'",
                             "document, speaker, words")
    assert "rename the column" in msg
    assert state(project) == before


def test_add_xlsx_without_text_column_lists_columns(project, tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["document", "Speaker", "Transcript"])
    book.active.append(["A", "P1", "hello there"])
    xlsx = tmp_path / "utterances.xlsx"
    book.save(xlsx)
    before = state(project)
    assert_clear_error(cli("add", xlsx, "--project", project.root), xlsx, "'text'", "document, Speaker, Transcript")
    assert state(project) == before


def test_add_csv_with_empty_document_names_the_row(project, tmp_path):
    table = write(tmp_path / "rows.csv", "document,speaker,text\nA,P1,hello\n,P1,who am I\n")
    before = state(project)
    assert_clear_error(cli("add", table, "--project", project.root), table, "row 3", "'document'")
    assert state(project) == before


def test_add_broken_docx(project, tmp_path):
    docx = write(tmp_path / "interview.docx", b"this is plain text, not a Word file")
    before = state(project)
    assert_clear_error(cli("add", docx, "--project", project.root), docx, "Word")
    assert state(project) == before


def test_add_broken_vtt(project, tmp_path):
    vtt = write(tmp_path / "call.vtt", "this is not a caption file\nat all\n")
    before = state(project)
    assert_clear_error(cli("add", vtt, "--project", project.root), vtt, "WebVTT")
    assert state(project) == before


def test_add_broken_srt_names_the_line(project, tmp_path):
    srt_file = write(tmp_path / "call.srt", "Interviewer: hello\nthis is not a subtitle file\n")
    before = state(project)
    msg = assert_clear_error(cli("add", srt_file, "--project", project.root), srt_file)
    assert "near ''" not in msg and "line" in msg
    assert state(project) == before


def test_add_two_files_with_the_same_document_id(project, tmp_path):
    a = write(tmp_path / "a" / "P01.txt", "Interviewer: hi\nP1: hello\n")
    b = write(tmp_path / "b" / "P01.md", "Interviewer: hi\nP1: bye\n")
    before = state(project)
    assert_clear_error(cli("add", a, b, "--project", project.root), "P01", a, b, "rename")
    assert state(project) == before


def test_error_message_keeps_square_brackets_in_file_names(project, tmp_path):
    missing = tmp_path / "notes [v2].txt"
    before = state(project)
    assert_clear_error(cli("add", missing, "--project", project.root), "notes [v2].txt")
    assert state(project) == before


# -- all or nothing ---------------------------------------------------------------------------

def test_batch_add_with_one_bad_file_adds_nothing(project, tmp_path):
    good = TRANSCRIPTS / "D01.txt"
    bad = write(tmp_path / "bad.txt", b"Interviewer: hello\nP1: caf\xe9\n")
    before = state(project)
    assert_clear_error(cli("add", good, bad, "--project", project.root), bad, "line 2")
    assert state(project) == before
    assert project.conn.execute("SELECT COUNT(*) FROM documents").fetchone()[0] == 0


def test_batch_add_good_folder_plus_missing_file_adds_nothing(project, tmp_path):
    folder = tmp_path / "batch"
    folder.mkdir()
    shutil.copy(TRANSCRIPTS / "D01.txt", folder / "D01.txt")
    missing = tmp_path / "D99.txt"
    before = state(project)
    assert_clear_error(cli("add", folder, missing, "--project", project.root), missing, "not found")
    assert state(project) == before


def test_folder_with_several_bad_files_names_them_all_at_once(project, tmp_path):
    folder = tmp_path / "batch"
    folder.mkdir()
    shutil.copy(TRANSCRIPTS / "D01.txt", folder / "D01.txt")
    empty, nocues = write(folder / "empty.txt", ""), write(folder / "nocues.vtt", "WEBVTT\n\n")
    write(folder / "~$D01.docx", b"\x05owner")          # Word's lock file: passed over, not an error
    before = state(project)
    result = cli("add", folder, "--project", project.root)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert mentions(result.output, "2 files cannot be read, so nothing was added")
    assert mentions(result.output, empty) and mentions(result.output, nocues) and "~$" not in result.output
    assert state(project) == before


def test_batch_add_into_a_project_with_documents_changes_nothing(with_d01, tmp_path):
    before = state(with_d01)
    bad = write(tmp_path / "empty.txt", "")
    assert_clear_error(cli("add", TRANSCRIPTS / "D02.txt", bad, "--project", with_d01.root), bad, "empty")
    assert state(with_d01) == before


# -- no speaker labels: a warning, not an error ----------------------------------------------

def test_transcript_without_speaker_labels_is_one_speaker_with_a_warning(project, tmp_path):
    plain = write(tmp_path / "memo.txt",
                  "I started on the ward in 2015 and the peer workers came later.\n\n"
                  "At first nobody knew what they were for, honestly. Then it got better.\n")
    result = cli("add", plain, "--project", project.root, "--coder", "tester")
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    assert "Error:" not in result.output
    assert "Warning:" in result.stderr
    assert mentions(result.stderr, plain) and mentions(result.stderr, "no speaker labels")
    assert mentions(result.stdout, "Added 1 document(s)")
    speakers = {r[0] for r in project.conn.execute("SELECT DISTINCT speaker FROM utterances WHERE document = 'memo'")}
    assert speakers == {"Participant"}
    assert project.conn.execute(
        "SELECT COUNT(*) FROM utterances WHERE document = 'memo' AND is_interviewer = 1").fetchone()[0] == 0
    assert project.conn.execute("SELECT COUNT(*) FROM utterances WHERE document = 'memo'").fetchone()[0] >= 2
    assert project.conn.execute("SELECT action FROM decisions ORDER BY id DESC LIMIT 1").fetchone()[0] == "add"


# -- outside a project ------------------------------------------------------------------------

OUTSIDE_COMMANDS = [
    ["add", "x.txt"],
    ["propose", "--seed", "0"],
    ["candidates"],
    ["candidates", "--json"],
    ["accept", "1", "--theme", "t"],
    ["merge", "1", "2", "--theme", "t"],
    ["reject", "1"],
    ["codebook"],
    ["codebook", "--json"],
    ["codebook", "export"],
    ["codebook", "import", str(CODEBOOK)],
    ["code", "rename", "a", "b"],
    ["code", "move", "a", "b"],
    ["code", "merge", "a", "--into", "b"],
    ["code", "remove", "a"],
    ["theme", "add", "New"],
    ["theme", "rename", "a", "b"],
    ["theme", "remove", "a"],
    ["remove", "D01", "--yes"],
    ["import-codings", str(DATA / "codings" / "alice_D07.csv")],
    ["train", "--coder", "alice"],
    ["suggest"],
    ["export", "--out", "out.csv"],
    ["log"],
]


@pytest.mark.parametrize("args", OUTSIDE_COMMANDS, ids=[" ".join(a[:2]) for a in OUTSIDE_COMMANDS])
def test_command_outside_a_project(args, tmp_path, monkeypatch):
    empty = tmp_path / "not_a_project"
    empty.mkdir()
    monkeypatch.chdir(empty)
    msg = assert_clear_error(cli(*args), "no autocode project found", empty, "autocode init")
    assert "--project" in msg
    assert list(empty.iterdir()) == [], "a failed command created files"


def test_command_one_folder_above_a_project_names_the_project(tmp_path, monkeypatch):
    from autocode import Project

    Project.create(tmp_path / "study").close()
    monkeypatch.chdir(tmp_path)
    for i in range(1, 5):
        Project.create(tmp_path / f"other {i}").close()
    os.utime(tmp_path / "study" / "autocode.db", (2e9, 2e9))   # the researcher's own, used last
    assert_clear_error(cli("log"), "though it holds the project folders other 1, other 2, other 3 and 2 more",
                       tmp_path, f"the one used last: cd {shlex.quote(str(tmp_path / 'study'))}", "--project FOLDER")


def test_project_option_pointing_at_a_plain_folder(tmp_path, monkeypatch):
    plain = tmp_path / "plain"
    plain.mkdir()
    monkeypatch.chdir(tmp_path)
    assert_clear_error(cli("log", "--project", plain), "no autocode project found", plain)
    assert list(plain.iterdir()) == []


# -- init --------------------------------------------------------------------------------------

def test_init_on_an_existing_project(project):
    before = state(project)
    assert_clear_error(cli("init", project.root, "--codebook", CODEBOOK), project.root, "already an autocode project")
    assert state(project) == before


@pytest.mark.parametrize("yaml_text, fragments", [
    ("themes:\n  - id: a\n   name: [broken\n", ["not valid YAML", "line 3"]),
    ("themes: {a: 1}\n", ["'themes:' list"]),
    ("themes:\n  - id: a\n    codes:\n      - id: x\n      - id: x\n", ["both have the id 'x'"]),
    ("themes:\n  - definition: no id or name\n", ["theme 1", "'id' or a 'name'"]),
], ids=["bad-yaml", "no-themes-list", "duplicate-code", "theme-without-id"])
def test_init_with_broken_codebook_creates_nothing(tmp_path, yaml_text, fragments):
    book = write(tmp_path / "codebook.yaml", yaml_text)
    target = tmp_path / "new_project"
    assert_clear_error(cli("init", target, "--codebook", book), book, *fragments)
    assert not target.exists()


def test_init_with_non_utf8_codebook_creates_nothing(tmp_path):
    book = write(tmp_path / "codebook.yaml", b"themes:\n  - name: caf\xe9\n")
    target = tmp_path / "new_project"
    assert_clear_error(cli("init", target, "--codebook", book), book, "UTF-8")
    assert not target.exists()


def test_init_with_missing_codebook_leaves_existing_folder_empty(tmp_path):
    target = tmp_path / "existing_empty"
    target.mkdir()
    book = tmp_path / "nope.yaml"
    assert_clear_error(cli("init", target, "--codebook", book), book, "not found")
    assert list(target.iterdir()) == []


def test_init_with_codebook_codes_not_a_list(tmp_path):
    book = write(tmp_path / "codebook.yaml", "themes:\n  - id: a\n    codes: 5\n")
    target = tmp_path / "new_project"
    assert_clear_error(cli("init", target, "--codebook", book), book, "codes")
    assert not target.exists()


def test_init_on_a_file(tmp_path):
    afile = write(tmp_path / "iamafile", "x")
    assert_clear_error(cli("init", afile), afile, "not a folder")
    assert afile.read_text() == "x"


def test_codebook_import_broken_yaml_changes_nothing(project, tmp_path):
    book = write(tmp_path / "broken.yaml", "themes:\n  - id: a\n   name: [broken\n")
    before = state(project)
    assert_clear_error(cli("codebook", "import", book, "--project", project.root), book, "line 3")
    assert state(project) == before


# -- import-codings ----------------------------------------------------------------------------

GOOD_ROW = "D01,293,369,credibility,alice"


@pytest.mark.parametrize("rows, fragments", [
    ([GOOD_ROW, "D01,370,393,nonsense_code,alice"],
     ["row 3", "unknown code 'nonsense_code'", "credibility", "hope_recovery", "fresh_perspective"]),
    ([GOOD_ROW, "NOPE,1,5,credibility,alice"], ["row 3", "'NOPE'", "not in this project", "autocode add"]),
    ([GOOD_ROW, "D01,abc,393,credibility,alice"], ["row 3", "'start'", "'abc'", "whole number"]),
    ([GOOD_ROW, "D01,370,xyz,credibility,alice"], ["row 3", "'end'", "'xyz'", "whole number"]),
    ([GOOD_ROW, "D01,,393,credibility,alice"], ["row 3", "'start'", "whole number"]),
    ([GOOD_ROW, "D01,370,370,credibility,alice"], ["row 3", "end (370)", "start (370)"]),
    ([GOOD_ROW, "D01,393,370,credibility,alice"], ["row 3", "end (370)", "start (393)"]),
    ([GOOD_ROW, "D01,370,393,credibility,"], ["row 3", "coder is empty", "--coder"]),
], ids=["unknown-code", "unknown-document", "start-not-a-number", "end-not-a-number", "start-empty",
        "end-equals-start", "end-before-start", "empty-coder"])
def test_import_codings_bad_row(with_d01, tmp_path, rows, fragments):
    csv = write(tmp_path / "codings.csv", "document,start,end,code,coder\n" + "\n".join(rows) + "\n")
    before = state(with_d01)
    assert_clear_error(cli("import-codings", csv, "--project", with_d01.root), csv, *fragments)
    assert state(with_d01) == before, "the good row was imported although the file had a bad one"


@pytest.mark.parametrize("header, row, fragments", [
    ("document,code,coder", "D01,credibility,alice", ["missing column", "start and end, or utterance",
                                                      "found: document, code, coder"]),
    ("start,end,code,coder", "293,369,credibility,alice", ["missing column", "document",
                                                           "found: start, end, code, coder"]),
    ("document,start,end,coder", "D01,293,369,alice", ["missing column", "code"]),
    ("document,start,code,coder", "D01,293,credibility,alice", ["missing column", "start and end"]),
], ids=["no-offsets", "no-document", "no-code", "no-end"])
def test_import_codings_missing_columns(with_d01, tmp_path, header, row, fragments):
    csv = write(tmp_path / "codings.csv", f"{header}\n{row}\n")
    before = state(with_d01)
    assert_clear_error(cli("import-codings", csv, "--project", with_d01.root), csv, *fragments)
    assert state(with_d01) == before


def test_import_codings_without_coder_column_or_option(with_d01, tmp_path):
    csv = write(tmp_path / "codings.csv", "document,start,end,code\nD01,293,369,credibility\n")
    before = state(with_d01)
    assert_clear_error(cli("import-codings", csv, "--project", with_d01.root), csv, "'coder' column", "--coder")
    assert state(with_d01) == before


def test_import_codings_unknown_utterance_number(with_d01, tmp_path):
    csv = write(tmp_path / "codings.csv", "document,utterance,code,coder\nD01,1,credibility,alice\nD01,99999,credibility,alice\n")
    before = state(with_d01)
    assert_clear_error(cli("import-codings", csv, "--project", with_d01.root), csv, "row 3", "'99999'")
    assert state(with_d01) == before


def test_import_codings_missing_file(with_d01, tmp_path):
    missing = tmp_path / "nope.csv"
    before = state(with_d01)
    assert_clear_error(cli("import-codings", missing, "--project", with_d01.root), missing, "not found")
    assert state(with_d01) == before


def test_import_codings_non_utf8(with_d01, tmp_path):
    csv = write(tmp_path / "codings.csv", b"document,start,end,code,coder\nD01,293,369,credibility,b\xe9a\n")
    before = state(with_d01)
    assert_clear_error(cli("import-codings", csv, "--project", with_d01.root), csv, "line 2", "UTF-8")
    assert state(with_d01) == before


def test_import_codings_infinite_offset(with_d01, tmp_path):
    csv = write(tmp_path / "codings.csv", f"document,start,end,code,coder\n{GOOD_ROW}\nD01,inf,393,credibility,alice\n")
    before = state(with_d01)
    assert_clear_error(cli("import-codings", csv, "--project", with_d01.root), csv, "row 3", "'start'")
    assert state(with_d01) == before


def test_import_codings_fractional_offset(with_d01, tmp_path):
    csv = write(tmp_path / "codings.csv", f"document,start,end,code,coder\n{GOOD_ROW}\nD01,370.5,393,credibility,alice\n")
    before = state(with_d01)
    assert_clear_error(cli("import-codings", csv, "--project", with_d01.root), csv, "row 3", "whole number")
    assert state(with_d01) == before


# -- review decisions: accept, merge, reject, codebook edits -----------------------------------

def test_accept_unknown_candidate(proposed):
    before = state(proposed)
    assert_clear_error(cli("accept", "999", "--theme", "contribution", "--project", proposed.root),
                       "no candidate 999", "autocode candidates")
    assert state(proposed) == before


def test_accept_twice(proposed):
    cid = open_candidate_ids(proposed)[0]
    first = cli("accept", cid, "--theme", "contribution", "--name", "First", "--coder", "rev", "--project", proposed.root)
    assert first.exit_code == 0, first.output
    before = state(proposed)
    assert_clear_error(cli("accept", cid, "--theme", "contribution", "--name", "Second", "--coder", "rev",
                           "--project", proposed.root), f"candidate {cid}", "already accepted", "autocode log")
    assert state(proposed) == before


def test_accepting_a_rejected_candidate_says_to_reopen_it(proposed):
    cid = open_candidate_ids(proposed)[0]
    assert cli("reject", cid, "--coder", "rev", "--project", proposed.root).exit_code == 0
    before = state(proposed)
    assert_clear_error(cli("accept", cid, "--theme", "contribution", "--project", proposed.root),
                       f"candidate {cid} was already rejected", f"autocode reopen {cid}")
    assert state(proposed) == before


def test_accept_unknown_theme(proposed):
    cid = open_candidate_ids(proposed)[0]
    before = state(proposed)
    assert_clear_error(cli("accept", cid, "--theme", "no_such_theme", "--project", proposed.root),
                       "no theme 'no_such_theme'", "contribution", "autocode theme add")
    assert state(proposed) == before
    assert cid in open_candidate_ids(proposed)


def test_accept_without_theme(proposed):
    cid = open_candidate_ids(proposed)[0]
    before = state(proposed)
    assert_clear_error(cli("accept", cid, "--project", proposed.root), "theme", "contribution")
    assert state(proposed) == before


def test_merge_with_one_unknown_candidate_changes_nothing(proposed):
    a, b = open_candidate_ids(proposed)[:2]
    before = state(proposed)
    assert_clear_error(cli("merge", a, b, 999, "--theme", "contribution", "--project", proposed.root),
                       "no candidate 999")
    assert state(proposed) == before


def test_reject_with_one_unknown_candidate_changes_nothing(proposed):
    a = open_candidate_ids(proposed)[0]
    before = state(proposed)
    assert_clear_error(cli("reject", a, 999, "--project", proposed.root), "no candidate 999")
    assert state(proposed) == before
    assert a in open_candidate_ids(proposed)


def test_code_rename_unknown_code(project):
    before = state(project)
    assert_clear_error(cli("code", "rename", "no_such_code", "New name", "--project", project.root),
                       "no code 'no_such_code'", "autocode codebook")
    assert state(project) == before


def test_code_move_unknown_code_or_theme(project):
    before = state(project)
    assert_clear_error(cli("code", "move", "no_such_code", "contribution", "--project", project.root), "no_such_code")
    assert_clear_error(cli("code", "move", "credibility", "no_such_theme", "--project", project.root),
                       "no theme 'no_such_theme'", "lived_experience")
    assert state(project) == before


def test_theme_add_existing_and_rename_unknown(project):
    before = state(project)
    assert_clear_error(cli("theme", "add", "contribution", "--project", project.root), "already exists")
    assert_clear_error(cli("theme", "rename", "no_such_theme", "X", "--project", project.root), "no theme 'no_such_theme'")
    assert state(project) == before


# -- train and suggest --------------------------------------------------------------------------

def test_train_coder_without_codings_in_empty_project(project):
    before = state(project)
    assert_clear_error(cli("train", "--coder", "nobody", "--project", project.root),
                       "coder 'nobody' has no codings", "import codings")
    assert state(project) == before


def test_train_coder_without_codings_lists_coders(demo_project):
    before = state(demo_project)
    assert_clear_error(cli("train", "--coder", "nobody", "--project", demo_project.root),
                       "coder 'nobody' has no codings", "alice", "bob")
    assert state(demo_project) == before


def test_suggest_before_any_training(with_d01):
    before = state(with_d01)
    assert_clear_error(cli("suggest", "--project", with_d01.root), "no classifier has been trained", "autocode train")
    assert state(with_d01) == before


def test_suggest_unknown_document(with_d01):
    before = state(with_d01)
    assert_clear_error(cli("suggest", "--documents", "NOPE", "--project", with_d01.root),
                       "no document called 'NOPE'", "D01")
    assert state(with_d01) == before


def test_suggest_new_file_before_training_changes_nothing(with_d01):
    before = state(with_d01)
    assert_clear_error(cli("suggest", TRANSCRIPTS / "D08.txt", "--project", with_d01.root), "no classifier")
    assert state(with_d01) == before


def test_suggest_bad_file_changes_nothing(with_d01, tmp_path):
    bad = write(tmp_path / "new.txt", b"Interviewer: caf\xe9\n")
    before = state(with_d01)
    assert_clear_error(cli("suggest", bad, "--project", with_d01.root), bad, "line 1")
    assert state(with_d01) == before


# -- export --------------------------------------------------------------------------------------

def test_export_unknown_format_and_missing_folder(demo_project, tmp_path):
    before = state(demo_project)
    assert_clear_error(cli("export", "--format", "pdf", "--out", tmp_path / "x.pdf", "--project", demo_project.root),
                       "'pdf'", "csv, xlsx, docx, qdpx, qdc")
    nowhere = tmp_path / "no_such_folder"
    assert_clear_error(cli("export", "--out", nowhere / "codings.csv", "--project", demo_project.root),
                       nowhere, "does not exist")
    assert not (tmp_path / "x.pdf").exists() and not nowhere.exists()
    assert state(demo_project) == before


def test_compare_refuses_a_mix_of_files_and_coders(demo_project, tmp_path):
    alice = tmp_path / "alice.csv"
    assert cli("export", "--coder", "alice", "--out", alice, "--project", demo_project.root).exit_code == 0
    assert_clear_error(cli("compare", alice, "bob", "--project", demo_project.root),
                       "is a file and bob is a coder", "--coder bob --out bob.csv")


def test_export_follows_the_file_name_and_refuses_a_name_saying_another_format(demo_project, tmp_path):
    book = tmp_path / "codings.xlsx"
    assert cli("export", "--out", book, "--project", demo_project.root).exit_code == 0
    assert book.read_bytes()[:2] == b"PK"   # a workbook, as the name says, not CSV text
    wrong = tmp_path / "x.csv"
    assert_clear_error(cli("export", "--format", "xlsx", "--out", wrong, "--project", demo_project.root),
                       "x.csv", "x.xlsx")
    assert not wrong.exists()


def test_export_csv_for_a_coder_with_no_codings(demo_project, tmp_path):
    out = tmp_path / "n.csv"
    assert_clear_error(cli("export", "--coder", "nobody", "--out", out, "--project", demo_project.root),
                       "coder 'nobody'", "alice, bob")
    assert not out.exists()


# -- an add or import that would only remove coding work ------------------------------------------

def test_add_refuses_another_interview_under_a_coded_name_until_replace(demo_project, tmp_path):
    other = write(tmp_path / "siteB" / "D01.txt", "Interviewer: How was the week?\nP1: Quiet, for once.\n")
    before = state(demo_project)
    assert_clear_error(cli("add", other, "--project", demo_project.root), other, "D01", "--replace")
    assert state(demo_project) == before


def test_import_of_codings_from_another_version_changes_nothing(demo_project, tmp_path):
    shifted = write(tmp_path / "shifted.csv", "document,start,end,code\nD01,99999990,99999999,credibility\n")
    before = state(demo_project)
    assert_clear_error(cli("import-codings", shifted, "--coder", "alice", "--project", demo_project.root),
                       shifted, "row 2", "beyond the end")
    assert state(demo_project) == before


# -- autocode.toml --------------------------------------------------------------------------------

def test_invalid_settings_toml(project, tmp_path):
    settings = project.root / "autocode.toml"
    settings.write_text('[embedding\nmodel = "x"\n', encoding="utf-8")
    before = state(project)
    for args in (["candidates"], ["log"], ["add", TRANSCRIPTS / "D01.txt"], ["codebook", "--json"]):
        assert_clear_error(cli(*args, "--project", project.root), settings, "not valid TOML", "line 1")
    assert state(project) == before


def test_invalid_settings_toml_found_from_cwd(project, monkeypatch):
    settings = project.root / "autocode.toml"
    settings.write_text("[cluster]\nseed = \n", encoding="utf-8")
    before = state(project)
    monkeypatch.chdir(project.root)
    assert_clear_error(cli("log"), settings, "not valid TOML", "line 2")
    assert state(project) == before


def test_settings_toml_not_utf8(project):
    settings = project.root / "autocode.toml"
    settings.write_bytes(b'[embedding]\nmodel = "caf\xe9"\n')
    before = state(project)
    assert_clear_error(cli("log", "--project", project.root), settings)
    assert state(project) == before


def test_settings_toml_section_not_a_table(project):
    settings = project.root / "autocode.toml"
    settings.write_text("ingest = 5\n", encoding="utf-8")
    before = state(project)
    assert_clear_error(cli("add", TRANSCRIPTS / "D01.txt", "--project", project.root), settings, "ingest")
    assert state(project) == before


@pytest.mark.parametrize("toml, args, fragments", [
    ("[clasifier]\nC = 2.0\n", ["log"], ["[clasifier]", "line 1", "did you mean [classifier]?"]),
    ("[classifier]\nc = 2.0\n", ["log"], ["'c' under [classifier]", "line 2", "did you mean 'C'?"]),
    ("[ingest]\ninterviewr = [\"Dr Okafor\"]\n", ["log"], ["'interviewr'", "did you mean 'interviewer'?"]),
    ("[classifier]\nC = -1.0\n", ["train", "--coder", "alice", "--no-cv"], ["'C' under [classifier] is -1.0", "above 0"]),
    ("[embedding]\nbatch_size = 0\n", ["add", TRANSCRIPTS / "D08.txt"], ["'batch_size'", "1 or more"]),
    ("[cluster]\nmin_cluster_size = 1\n", ["propose"], ["'min_cluster_size'", "2 or more"]),
    ("[ingest]\ninterviewer = 5\n", ["add", TRANSCRIPTS / "D08.txt"], ["'interviewer'", "a list such as"]),
])
def test_a_mistyped_or_impossible_setting_is_named_before_any_work(demo_project, toml, args, fragments):
    (demo_project.root / "autocode.toml").write_text(toml, encoding="utf-8")
    before = state(demo_project)
    assert_clear_error(cli(*args, "--project", demo_project.root), "autocode.toml", *fragments)
    assert state(demo_project) == before


@pytest.mark.parametrize("size, said", [("-1", "2 or more utterances, not -1"), ("100000", "larger than the")])
def test_propose_refuses_a_group_size_that_cannot_work_and_keeps_the_candidates(proposed, size, said):
    before = state(proposed)
    assert_clear_error(cli("propose", "--min-cluster-size", size, "--project", proposed.root), said)
    assert state(proposed) == before


def test_an_unknown_tuning_loss_names_the_setting_and_trains_nothing(demo_project):
    settings = demo_project.root / "autocode.toml"
    settings.write_text('[classifier]\nfine_tune_loss = "hinge"\n', encoding="utf-8")
    before = state(demo_project)
    result = cli("train", "--fine-tune", "--coder", "alice", "--project", demo_project.root)
    assert_clear_error(result, "no loss called 'hinge'", "fine_tune_loss", "'contrastive'", "'best'")
    assert state(demo_project) == before


# -- as a real process: no traceback on stderr ----------------------------------------------------

def test_subprocess_missing_file(project, tmp_path):
    before = state(project)
    missing = tmp_path / "missing.txt"
    proc = run_subprocess(["add", missing, "--project", project.root], cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert mentions(proc.stderr, missing) and "What to do:" in proc.stderr
    assert proc.stderr.count("Error:") == 1
    assert state(project) == before


def test_subprocess_outside_a_project(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    proc = run_subprocess(["candidates"], cwd=empty)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert mentions(proc.stderr, "no autocode project found") and "What to do:" in proc.stderr
    assert list(empty.iterdir()) == []


def test_subprocess_non_utf8_file(project, tmp_path):
    latin = write(tmp_path / "latin.txt", b"Interviewer: hello\nP1: caf\xe9\n")
    before = state(project)
    proc = run_subprocess(["add", latin, "--project", project.root], cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert mentions(proc.stderr, latin) and mentions(proc.stderr, "line 2") and "What to do:" in proc.stderr
    assert state(project) == before


def test_subprocess_bracketed_value_gives_no_traceback(with_d01, tmp_path):
    csv = write(tmp_path / "codings.csv", "document,start,end,code,coder\nD01,293,369,[/x],alice\n")
    before = state(with_d01)
    proc = run_subprocess(["import-codings", csv, "--project", with_d01.root], cwd=tmp_path)
    assert "Traceback" not in proc.stderr + proc.stdout
    assert proc.returncode == 1 and mentions(proc.stderr, "[/x]")
    assert state(with_d01) == before


# -- a place to write the output, checked before any work --------------------------------------------

@pytest.mark.parametrize("args, fragments", [
    (["suggest", "--documents", "D08", "--include-coded", "--out", "{tmp}/nodir/s.csv"], ["nodir", "does not exist"]),
    (["suggest", TRANSCRIPTS / "D07.txt", "--out", "{tmp}/nodir/s.csv"], ["nodir", "does not exist"]),
    (["suggest", "--documents", "D08", "--out", "{tmp}/s.xlsx"], ["s.xlsx", "s.csv"]),
    (["suggest", "--documents", "D08", "--out", "{tmp}"], ["is a folder"]),
    (["train", "--coder", "alice", "--no-cv", "--out", "{tmp}/nodir/m.npz"], ["nodir", "does not exist"]),
    (["train", "--coder", "alice", "--no-cv", "--out", "{tmp}/m.csv"], ["m.npz"]),
    (["report", "--out", "{tmp}/r.csv"], ["r.html"]),
    (["compare", "alice", "bob", "--disagreements", "{tmp}/file.txt/d.csv"], ["file.txt", "not a folder"]),
])
def test_output_nowhere_to_go_is_refused_before_the_project_changes(review_project, tmp_path, args, fragments):
    (tmp_path / "file.txt").write_text("x", encoding="utf-8")
    args = [str(a).replace("{tmp}", str(tmp_path)) for a in args]
    before = state(review_project)
    assert_clear_error(cli(*args, "--project", review_project.root), *fragments)
    assert state(review_project) == before


def test_a_damaged_database_says_so_and_how_to_recover(project):
    db = project.root / "autocode.db"
    project.close()
    data = bytearray(db.read_bytes())
    data[:16] = b"not a database!!"
    db.write_bytes(bytes(data))
    assert_clear_error(cli("documents", "--project", project.root), "autocode.db", "damaged", "backup")


def test_compare_given_a_spreadsheet_says_to_save_it_as_csv(project, tmp_path):
    sheet = write(tmp_path / "codings.xlsx", b"PK")
    assert_clear_error(cli("compare", sheet, tmp_path / "b.csv", "--project", project.root), "codings.xlsx", "CSV UTF-8")


def test_a_missing_database_is_named_not_replaced_by_an_empty_one(project):
    db = project.root / "autocode.db"
    project.close()
    db.rename(project.root / "moved.db")
    assert_clear_error(cli("documents", "--project", project.root), "autocode.db, is missing", "backup")
    assert not db.exists()


def test_a_missing_settings_file_beside_a_database_says_how_to_go_on(project):
    (project.root / "autocode.toml").unlink()
    assert_clear_error(cli("documents", "--project", project.root), "autocode.toml, is missing", "autocode init")
    assert cli("init", project.root).exit_code == 0
    assert cli("documents", "--project", project.root).exit_code == 0


@pytest.mark.parametrize("extra, fragments", [
    (["--model", "/nonexistent/model"], ["no model folder at /nonexistent/model"]),
    (["--model", "no-such-model-anywhere"], ["'no-such-model-anywhere' is not on this computer", "never downloads"]),
    (["--codebook", "{tmp}/p.qdpx"], ["REFI-QDA project, not a codebook", "autocode add"]),
])
def test_init_checks_the_model_and_the_codebook_before_making_the_folder(tmp_path, extra, fragments):
    write(tmp_path / "p.qdpx", b"PK")
    extra = [e.replace("{tmp}", str(tmp_path)) for e in extra]
    assert_clear_error(cli("init", tmp_path / "new", *extra), *fragments)
    assert not (tmp_path / "new").exists()


def test_init_takes_a_refi_qda_codebook(project, tmp_path):
    from autocode.refi import export_qdc

    qdc = export_qdc(project.conn, tmp_path / "book.qdc")
    result = cli("init", tmp_path / "new", "--codebook", qdc)
    assert result.exit_code == 0, result.output
    assert "Codebook:5themes" in squash(result.output)


def test_small_slips_get_a_precise_message(proposed, tmp_path):
    cand = open_candidate_ids(proposed)[0]
    assert_clear_error(cli("accept", cand, "--code", "credibilty", "--project", proposed.root),
                       "there is no code 'credibilty'", "did you mean 'Credibility and rapport'?", "--theme")
    f = write(tmp_path / "neg.csv", "document,start,end,code\nD01,-5,40,credibility\n")
    assert_clear_error(cli("import-codings", f, "--coder", "carol", "--project", proposed.root),
                       "row 2", "cannot be negative")
    write(tmp_path / "ok.csv", "document,utterance,code\nD01,1,credibility\n")
    assert cli("import-codings", tmp_path / "ok.csv", "--coder", "carol", "--project", proposed.root).exit_code == 0
    assert_clear_error(cli("train", "--coder", "Carol", "--no-cv", "--project", proposed.root), "did you mean 'carol'?")


def test_export_without_out_never_writes_over_a_file_of_that_name(project, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    edited = write(tmp_path / "codings.csv", "my hand-edited codings\n")
    assert_clear_error(cli("export", "--project", project.root), "codings.csv exists already", "--out")
    assert edited.read_text(encoding="utf-8") == "my hand-edited codings\n"
    assert_clear_error(cli("export", "--out", tmp_path / "new.csv", "--project", project.root), "nothing to export")
