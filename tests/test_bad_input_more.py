"""Bad input found by a walk-through as a researcher feeding the tool wrong files (2026-12-07):
each gets one message naming the place and the fix, and leaves the project as it was."""
from __future__ import annotations

from pathlib import Path

import pytest

from autocode import codebook as cb
from autocode.errors import AutocodeError

from conftest import DATA
from test_bad_input import CODEBOOK, TRANSCRIPTS, assert_clear_error, cli, state, with_d01, write  # noqa: F401


def test_a_codings_file_added_as_a_transcript_points_to_import_codings(project):
    before = state(project)
    assert_clear_error(cli("add", DATA / "codings" / "alice_D07.csv", "--project", project.root),
                       "looks like a codings file", "autocode import-codings")
    assert state(project) == before


def test_excels_empty_rows_at_the_end_of_codings_are_dropped(with_d01, tmp_path):
    rows = (DATA / "codings" / "bob_D01.csv").read_text(encoding="utf-8")
    columns = rows.split("\n", 1)[0].count(",")
    f = write(tmp_path / "bob.csv", rows.rstrip("\n") + "\n" + ("," * columns + "\n") * 3)
    result = cli("import-codings", f, "--project", with_d01.root)
    assert result.exit_code == 0, result.output


def test_an_empty_row_between_codings_is_named(with_d01, tmp_path):
    lines = (DATA / "codings" / "bob_D01.csv").read_text(encoding="utf-8").splitlines()
    f = write(tmp_path / "bob.csv", "\n".join([*lines[:3], "," * lines[0].count(","), *lines[3:]]) + "\n")
    before = state(with_d01)
    assert_clear_error(cli("import-codings", f, "--project", with_d01.root), "row 4 is empty", "delete the empty rows")
    assert state(with_d01) == before


@pytest.mark.parametrize("typed, guess", [("D01.txt", "D01"), ("d01", "D01"), ("D011", "D01")])
def test_a_document_written_as_the_file_name_gets_a_guess(with_d01, tmp_path, typed, guess):
    f = write(tmp_path / "c.csv", f"document,utterance,code\n{typed},2,credibility\n")
    before = state(with_d01)
    assert_clear_error(cli("import-codings", f, "--coder", "ann", "--project", with_d01.root),
                       f"row 2: document '{typed}'", f"did you mean '{guess}'?", f"write it as '{guess}'")
    assert state(with_d01) == before


def test_a_table_transcript_clashing_by_its_document_column_says_to_change_that_column(with_d01, tmp_path):
    f = write(tmp_path / "other-name.csv", "document,speaker,text\nD01,P,Something else entirely.\n")
    before = state(with_d01)
    stderr = assert_clear_error(cli("add", f, "--project", with_d01.root), "D01")
    assert "'document' column" in " ".join(stderr.split()) and "renaming the file does not change it" in " ".join(stderr.split())
    assert state(with_d01) == before


def test_train_out_where_no_file_can_be_made_is_refused_before_training(project):
    before = state(project)
    assert_clear_error(cli("train", "--coder", "alice", "--out", "/proc/model.npz", "--project", project.root),
                       "you may not write in this folder")
    assert state(project) == before


@pytest.mark.parametrize("text, line, fix", [
    ("themes:\n  - id: a\n\tname: A\n", 3, "a tab is there"),
    ("themes:\n  - id: a\n    name: A\n    definition: Pay: what PSWs earn\n", 4, "a second colon"),
    ('themes:\n  - id: a\n    name: "A\n    definition: x\n', 3, "never closed"),
])
def test_codebook_yaml_slips_are_named(tmp_path, text, line, fix):
    with pytest.raises(AutocodeError) as caught:
        cb.load_yaml(write(tmp_path / "book.yaml", text))
    assert caught.value.where.endswith(f"line {line}") and fix in caught.value.fix


def test_a_codebook_in_another_encoding_names_the_line(tmp_path):
    with pytest.raises(AutocodeError, match="line 3: the codebook is not UTF-8") as caught:
        cb.load_yaml(write(tmp_path / "book.yaml", b"themes:\n  - id: a\n    name: caf\xe9\n"))
    assert "Save As" in caught.value.fix


def test_a_theme_may_not_share_a_codes_id(project, tmp_path):
    f = write(tmp_path / "book.yaml", "themes:\n  - id: credibility\n    name: Trust\n    codes:\n"
                                      "      - id: credibility\n        name: Credibility\n")
    with pytest.raises(AutocodeError, match="both have the id 'credibility'"):
        cb.load_yaml(f)
    clash = write(tmp_path / "clash.yaml", "themes:\n  - id: credibility\n    name: Trust themes\n    codes: []\n")
    before = state(project)
    assert_clear_error(cli("codebook", "import", clash, "--project", project.root), "has the id 'credibility'",
                       "the project's code 'Credibility and rapport'")
    assert state(project) == before
    result = cli("theme", "add", "Credibility", "--project", project.root)
    assert result.exit_code == 0 and cb.load(project.conn).find_theme("Credibility").id == "credibility_2"


def test_an_interviewer_named_by_no_speaker_is_warned_about(project):
    result = cli("add", TRANSCRIPTS / "D01.txt", "--interviewer", "Dr Smiht", "--project", project.root)
    assert result.exit_code == 0
    assert "no speaker in these files is called 'Dr Smiht'" in " ".join(result.stderr.split())


def test_suggest_on_a_qdpx_points_to_add(project, tmp_path):
    f = write(tmp_path / "study.qdpx", b"PK\x03\x04")
    assert_clear_error(cli("suggest", f, "--project", project.root), "only 'autocode add' reads", "autocode add")


def test_suggest_on_a_transcript_of_only_the_interviewer_says_so(tmp_path):
    from autocode.cli_suggest import print_suggestions
    from autocode.cli import out

    with out.capture() as captured:
        print_suggestions([], None, participants=0)
    assert "read as the interviewer's" in captured.get()


def test_a_folder_given_for_codings_asks_for_the_codings_files(project, tmp_path):
    assert_clear_error(cli("import-codings", tmp_path, "--coder", "ann", "--project", project.root),
                       "is a folder", "codings files (.csv)")


def test_several_codings_files_import_together_or_not_at_all(project, tmp_path):
    for d in ("D01", "D04"):
        assert cli("add", TRANSCRIPTS / f"{d}.txt", "--project", project.root).exit_code == 0
    bad = write(tmp_path / "bad.csv", "document,utterance,code,coder\nD04,2,no_such_code,bob\n")
    before = state(project)
    assert_clear_error(cli("import-codings", DATA / "codings" / "bob_D01.csv", bad, "--project", project.root),
                       "unknown code 'no_such_code'")
    assert state(project) == before
    result = cli("import-codings", DATA / "codings" / "bob_D01.csv", DATA / "codings" / "bob_D04.csv", "--project", project.root)
    assert result.exit_code == 0, result.output
    assert "bob_D01.csv: Imported 79 codings" in " ".join(result.output.split()) and "bob_D04.csv: Imported" in result.output


def test_a_theme_cell_that_contradicts_the_codebook_is_pointed_out(with_d01, tmp_path):
    f = write(tmp_path / "c.csv", "document,utterance,code,theme\nD01,2,credibility,contribution\n"
                                  "D01,3,credibility,What lived experience brings\n")
    result = cli("import-codings", f, "--coder", "ann", "--project", with_d01.root)
    assert result.exit_code == 0, result.output
    text = " ".join(result.stderr.split())
    assert "row 2: code 'Credibility and rapport' is under theme 'What lived experience brings' in the codebook, but " \
           "the file's 'theme' column says 'contribution'" in text
    assert "if you changed only the code, nothing is wrong" in text and "autocode code move credibility contribution" in text
    assert "row 3" not in text   # a theme given by name, the codebook's own


def test_confirm_with_a_word_for_a_number_says_what_a_number_is(with_d01):
    assert_clear_error(cli("confirm", "D01", "abc", "--project", with_d01.root),
                       "'abc' is not an utterance number", "autocode confirm D01 12 15")


def test_a_model_not_on_this_computer_says_how_to_go_back_to_the_bundled_one(tmp_path):
    assert_clear_error(cli("init", tmp_path / "p", "--model", "/no/such/model"),
                       "there is no model folder at /no/such/model", "under [embedding] in its autocode.toml")


def test_a_codebook_export_for_one_coder_is_refused_with_what_to_do(with_d01, tmp_path):
    assert_clear_error(cli("export", "--format", "qdc", "--coder", "alice", "--out", tmp_path / "c.qdc",
                           "--project", with_d01.root), "--coder has nothing to choose", "--format qdpx --coder NAME")


def test_an_interval_that_misses_its_estimate_is_not_shown():
    from autocode.compare import _bracketing

    assert _bracketing(-0.15, (-0.20, -0.16)) is None and _bracketing(0.5, (0.4, 0.6)) == (0.4, 0.6)
    assert _bracketing(None, (0.1, 0.2)) == (0.1, 0.2) and _bracketing(0.3, None) is None


def test_two_files_with_one_coders_codings_of_one_transcript_are_refused(project, tmp_path):
    assert cli("add", TRANSCRIPTS / "D01.txt", "--project", project.root).exit_code == 0
    first = write(tmp_path / "part1.csv", "document,utterance,code,coder\nD01,2,credibility,ann\n")
    second = write(tmp_path / "part2.csv", "document,utterance,code,coder\nD01,3,hope_recovery,ann\n")
    before = state(project)
    assert_clear_error(cli("import-codings", first, second, "--project", project.root),
                       "part1.csv and part2.csv both hold ann's codings of D01", "none of the 2 files was imported",
                       "--add")
    assert state(project) == before
