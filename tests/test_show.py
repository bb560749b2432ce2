"""Reading a transcript or a candidate in full, with the numbers the other commands use."""
from __future__ import annotations

import json

from typer.testing import CliRunner

from autocode.cli import app
from autocode.corpus import transcript_view


def cli(p, *args):
    result = CliRunner().invoke(app, [*map(str, args), "--project", str(p.root)], env={"COLUMNS": "300"})
    return result, " ".join(result.output.split())


def test_a_transcript_shows_every_utterance_with_its_number_and_each_coders_codes(demo_project):
    p = demo_project
    rows = transcript_view(p.conn, "D01")
    stored = p.conn.execute("SELECT idx, speaker, text FROM utterances WHERE document = 'D01' ORDER BY idx").fetchall()
    assert [(r["idx"], r["speaker"], r["text"]) for r in rows] == [tuple(s) for s in stored]
    coded = next(r for r in rows if "alice" in r["codings"] and r["codings"]["alice"] != ["no code"])
    name = p.conn.execute("SELECT c.name FROM codes c JOIN codings k ON k.code = c.id JOIN utterances u ON "
                          "u.id = k.utterance WHERE k.coder = 'alice' AND u.document = 'D01' AND u.idx = ?",
                          (coded["idx"],)).fetchone()[0]
    assert name in coded["codings"]["alice"]   # codes by name, as the codebook gives them
    result, said = cli(p, "show", "D01")
    assert result.exit_code == 0 and f"#{coded['idx']} {coded['speaker']}: " in said and "autocode confirm D01 NUMBER" in said


def test_uncoded_lists_only_the_participant_utterances_a_coder_has_left(demo_project):
    p = demo_project
    left = transcript_view(p.conn, "D04", uncoded_by="bob")
    coded_by_bob = {r[0] for r in p.conn.execute(
        "SELECT u.idx FROM codings c JOIN utterances u ON u.id = c.utterance WHERE c.coder = 'bob' AND u.document = 'D04'")}
    participants = {r[0] for r in p.conn.execute("SELECT idx FROM utterances WHERE document = 'D04' AND is_interviewer = 0")}
    assert {r["idx"] for r in left} == participants - coded_by_bob
    result, said = cli(p, "show", "D01", "--uncoded", "zed", "--json")
    assert result.exit_code == 0 and len(json.loads(result.output)) == len(participants_of(p, "D01"))
    result, said = cli(p, "show", "D01", "--uncoded", "alicee")   # a misspelt coder has coded nothing
    assert "'alicee' has no codings in this project yet: did you mean 'alice'?" in said


def participants_of(p, doc: str) -> list:
    return p.conn.execute("SELECT id FROM utterances WHERE document = ? AND is_interviewer = 0", (doc,)).fetchall()


def test_a_candidate_shows_all_its_utterances_not_three_examples(review_project):
    p = review_project
    cid, size = p.conn.execute("SELECT id, size FROM candidates WHERE status = 'open' ORDER BY size DESC").fetchone()
    result, said = cli(p, "show", "--candidate", cid)
    assert result.exit_code == 0 and f"{size} utterances" in said
    assert said.count(" #") >= size


def test_show_refusals_name_the_fix(demo_project):
    result, said = cli(demo_project, "show", "d01")
    assert result.exit_code == 1 and "did you mean 'D01'?" in said
    result, said = cli(demo_project, "show")
    assert result.exit_code == 1 and "autocode show D01, or autocode show --candidate 3" in said
