"""Whose codings: a coder's name mistyped on import is caught and can be taken out again, a
bulk acceptance can be taken back after later steps, and undo says whose decision it reached.

A team shares one project, so these are the places where one person's slip lands on another's
work or on a coder who does not exist."""
from __future__ import annotations

import pytest
from typer.testing import CliRunner

from autocode import AutocodeError, confirm
from autocode.cli import app
from autocode.codings import coders, import_codings
from conftest import DATA, snapshot

runner = CliRunner()


def run(p, *args, env=None):
    result = runner.invoke(app, [*map(str, args), "--project", str(p.root)], env={"COLUMNS": "300", **(env or {})})
    return result, " ".join(result.output.split())


def count(p, coder: str) -> int:
    return p.conn.execute("SELECT COUNT(*) FROM codings WHERE coder = ?", (coder,)).fetchone()[0]


def write(tmp_path, text: str):
    f = tmp_path / "codings.csv"
    f.write_text(text, encoding="utf-8")
    return f


def test_a_mistyped_coder_on_import_is_named_and_can_be_removed_and_put_back(demo_project, tmp_path):
    f = write(tmp_path, "document,utterance,code\nD05,1,credibility\nD05,2,credibility\n")
    result, said = run(demo_project, "import-codings", f, "--coder", "alicee", "--add")
    assert result.exit_code == 0 and "as the codings of alicee" in said
    assert "'alicee' is a new coder in this project: did you mean 'alice'?" in said
    assert "autocode remove-codings --coder alicee" in said
    before = snapshot(demo_project)
    result, said = run(demo_project, "remove-codings", "--coder", "alicee")
    assert result.exit_code == 0 and "Removed 2 coding(s) by alicee from 2 utterance(s)" in said, said
    assert "alicee" not in coders(demo_project.conn)
    result, said = run(demo_project, "log")   # the log names utterances as researchers find them
    assert "remove-codings" in said and "whose: alicee" in said and "2 utterances D05 #1, D05 #2" in said
    result, said = run(demo_project, "undo")
    assert result.exit_code == 0 and "removing alicee's codings of 2 utterances D05 #1, D05 #2" in said
    assert count(demo_project, "alicee") == 2 and snapshot(demo_project)["codings"] == before["codings"]


def test_a_new_coder_far_from_every_name_is_not_taken_for_a_typo(demo_project, tmp_path):
    f = write(tmp_path, "document,utterance,code\nD05,1,credibility\n")
    result, said = run(demo_project, "import-codings", f, "--coder", "priya")
    assert result.exit_code == 0 and "as the codings of priya" in said and "did you mean" not in said


def test_removing_a_coder_who_has_no_codings_names_the_nearest_and_changes_nothing(demo_project):
    before = snapshot(demo_project)
    result, said = run(demo_project, "remove-codings", "--coder", "alce")
    assert result.exit_code == 1 and "coder 'alce' has no codings in this project (did you mean 'alice'?)" in said
    assert "Traceback" not in result.output and snapshot(demo_project) == before
    with pytest.raises(AutocodeError, match="bob has no suggestions accepted unread"):
        confirm.remove_codings(demo_project, "bob", unread=True)
    assert snapshot(demo_project) == before


def test_a_file_without_a_coder_column_is_the_session_coders(demo_project, tmp_path):
    f = write(tmp_path, "document,utterance,code\nD05,1,credibility\n")
    with pytest.raises(AutocodeError, match="no 'coder' column and no coder was named"):
        import_codings(demo_project, f)
    result, said = run(demo_project, "import-codings", f, env={"AUTOCODE_CODER": "priya"})
    assert result.exit_code == 0 and "as the codings of priya" in said and count(demo_project, "priya") == 1


def test_a_file_with_a_coder_column_keeps_it_and_says_whose_the_codings_became(demo_project, tmp_path):
    f = write(tmp_path, "document,utterance,code,coder\nD05,1,credibility,bob\n")
    result, said = run(demo_project, "import-codings", f, "--add", env={"AUTOCODE_CODER": "priya"})
    assert result.exit_code == 0 and "as the codings of bob" in said and count(demo_project, "priya") == 0


def test_suggestions_accepted_unread_can_be_taken_back_after_undo_can_no_longer_reach_them(review_project):
    p = review_project
    r = confirm.accept_above(p, 0.0, ["D08"], "alice")
    assert r["accepted"] > 0 and 0 <= r["no_code"] <= r["accepted"]
    read = count(p, "alice") - r["accepted"]
    from autocode.learn import suggest

    suggest(p, ["D08"], include_coded=True)   # a bulk step: undo stops here
    result, said = run(p, "undo", env={"AUTOCODE_CODER": "alice"})
    assert result.exit_code == 1 and "autocode remove-codings --coder alice --unread --documents D08" in said
    result, said = run(p, "remove-codings", "--coder", "alice", "--unread", "--documents", "D08")
    assert result.exit_code == 0 and f"Removed {r['accepted']} suggestion(s) accepted unread by alice" in said
    assert count(p, "alice") == read   # what alice read is untouched


def test_undo_says_whose_decision_it_took_back_when_it_was_someone_elses(review_project):
    confirm.accept_above(review_project, 0.5, ["D08"], "priya")
    result, said = run(review_project, "undo", env={"AUTOCODE_CODER": "tom"})
    assert result.exit_code == 0 and "(priya's decision)" in said
    result, said = run(review_project, "redo", env={"AUTOCODE_CODER": "priya"})
    assert result.exit_code == 0 and "decision)" not in said   # priya's own, back again


def test_accepting_in_bulk_says_how_many_were_no_code(review_project):
    result, said = run(review_project, "accept-suggestions", "--above", "0", "--documents", "D08", "--coder", "alice")
    no_code = review_project.conn.execute("SELECT COUNT(*) FROM codings WHERE coder = 'alice' AND code = '' AND reason = ?",
                                          (confirm.UNREAD,)).fetchone()[0]
    assert result.exit_code == 0 and no_code > 0 and f"or more ({no_code} of them 'no code') as alice's codings" in said
    assert confirm.accept_above(review_project, 0.0, ["D08"], "alice") == {"accepted": 0, "no_code": 0, "threshold": 0.0}


# -- confirm: a verdict on one suggestion at a time, from the command line ---------------------------

def _suggested(p, document: str) -> list[tuple[int, str]]:
    return p.conn.execute("SELECT u.idx, c.code FROM codings c JOIN utterances u ON u.id = c.utterance WHERE "
                          "c.coder = 'machine' AND u.document = ? ORDER BY u.idx", (document,)).fetchall()


def test_confirm_accepts_recodes_or_rejects_suggestions_by_their_numbers(review_project):
    p = review_project
    (a, code_a), (b, _), (c, _) = _suggested(p, "D08")[:3]
    result, said = run(p, "confirm", "D08", a, "--coder", "zoe")
    assert result.exit_code == 0 and f"D08 #{a}: accepted" in said and "autocode train --coder zoe" in said
    result, said = run(p, "confirm", "D08", b, "--code", "credibility", "--coder", "zoe")
    assert result.exit_code == 0 and f"D08 #{b}:" in said and "Credibility" in said
    result, said = run(p, "confirm", "D08", c, "--no-code", "--coder", "zoe")
    assert result.exit_code == 0 and f"D08 #{c}: " in said and "'no code'" in said
    mine = dict(p.conn.execute("SELECT u.idx, c.code FROM codings c JOIN utterances u ON u.id = c.utterance "
                               "WHERE c.coder = 'zoe'").fetchall())
    assert mine == {a: code_a, b: "credibility", c: ""}
    result, said = run(p, "undo", "--coder", "zoe")
    assert result.exit_code == 0 and f"D08 #{c}" in said and count(p, "zoe") == 2


def test_a_coder_name_in_another_case_is_pointed_out_where_decisions_make_codings(review_project):
    p = review_project
    (a, _), (b, _) = _suggested(p, "D08")[:2]
    result, said = run(p, "confirm", "D08", a, "--coder", "Alice")
    assert result.exit_code == 0 and "'Alice' is a new coder in this project: did you mean 'alice'?" in said
    assert "autocode remove-codings --coder Alice, then run the command again with --coder alice" in said
    _, said = run(p, "confirm", "D08", b, "--coder", "Alice")
    assert "new coder" not in said   # once the name has codings it is a coder of its own, as the import treats it
    _, said = run(p, "accept-suggestions", "--above", "0.9", "--coder", "bobb")
    assert "did you mean 'bob'?" in said and "autocode undo, then" in said
    _, said = run(p, "confirm", "D08", b, "--coder", "zoe")
    assert "new coder" not in said   # a name far from every other is a new coder, not a typo


def test_confirm_with_a_code_codes_an_utterance_that_has_no_suggestion(review_project):
    p = review_project
    spoken, said_by = p.conn.execute("SELECT idx, speaker FROM utterances WHERE document = 'D01' AND is_interviewer = 0 "
                                     "ORDER BY idx").fetchone()
    asked = p.conn.execute("SELECT idx FROM utterances WHERE document = 'D01' AND is_interviewer = 1").fetchone()[0]
    result, said = run(p, "confirm", "D01", spoken, "--code", "hope_recovery", "--coder", "zoe")
    assert result.exit_code == 0 and f"D01 #{spoken}: coded 'Hope and recovery' (no suggestion)" in said
    assert count(p, "zoe") == 1
    result, said = run(p, "undo", "--coder", "zoe")
    assert result.exit_code == 0 and f"coding utterance D01 #{spoken}" in said and count(p, "zoe") == 0
    before = snapshot(p)
    result, said = run(p, "confirm", "D01", asked, "--no-code", "--coder", "zoe")
    assert result.exit_code == 1 and "is the interviewer's" in said and snapshot(p) == before


@pytest.mark.parametrize("args, problem", [
    (["D99", "1"], "no document called 'D99'"),
    (["D08", "9999"], "D08 has no utterance 9999"),
    (["D08", "1", "--code", "no_such_code"], "no_such_code"),
    (["D08", "1", "--code", "credibility", "--no-code"], "--code and --no-code say opposite things"),
    (["D01", "1"], "D01 #1 has no suggestion from the machine"),
    (["D01", "1"], "autocode confirm D01 1 --code CODE"),
    (["D08", "FIRST", "LAST", "--code", "no_such_code"], "no_such_code"),
])
def test_confirm_refuses_what_it_cannot_do_and_changes_nothing(review_project, args, problem):
    first, last = (n for n, _ in _suggested(review_project, "D08")[:2])
    args = [{"FIRST": first, "LAST": last}.get(a, a) for a in args]
    before = snapshot(review_project)
    result, said = run(review_project, "confirm", *args, "--coder", "zoe")
    assert result.exit_code == 1 and problem in said and "Traceback" not in result.output, said
    assert snapshot(review_project) == before


def test_confirm_checks_every_number_before_deciding_any(review_project):
    first = _suggested(review_project, "D08")[0][0]
    before = snapshot(review_project)
    result, said = run(review_project, "confirm", "D08", first, 9999, "--coder", "zoe")
    assert result.exit_code == 1 and "D08 has no utterance 9999" in said and snapshot(review_project) == before


def test_next_points_to_confirm_and_to_suggest_where_its_suggestions_are_not_the_stored_ones(review_project, tmp_path):
    from autocode.corpus import add_files

    result, said = run(review_project, "next", "--n", "3", "--documents", "D08")
    assert result.exit_code == 0 and "autocode confirm D08" in said and "autocode suggest" not in said
    add_files(review_project, [DATA / "transcripts" / "D09.vtt"])   # added, not yet suggested
    result, said = run(review_project, "next", "--n", "3", "--documents", "D09")
    assert result.exit_code == 0 and "autocode suggest --documents D09 first" in said and "autocode confirm D09" in said


def test_suggest_points_to_next_and_confirm(review_project):
    result, said = run(review_project, "suggest", "--documents", "D08")
    assert result.exit_code == 0 and "autocode next" in said and "autocode confirm DOCUMENT NUMBER" in said
