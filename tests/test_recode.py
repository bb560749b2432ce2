"""Refining a codebook in use (merging and removing codes and themes) and removing
transcripts, as when a participant withdraws."""
from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from autocode import codebook as cb, review
from autocode.cli import app
from autocode.classify import ThemeClassifier
from autocode.embed import text_hash
from autocode.errors import AutocodeError, Conflict, NotFound
from autocode.recode import merge_codes, remove_code, remove_theme
from autocode.undo import redo, undo
from autocode.withdraw import removal_plan, remove_documents

from conftest import snapshot


def codings_of(p, code: str) -> set[tuple]:
    return {tuple(r) for r in p.conn.execute("SELECT utterance, coder FROM codings WHERE code = ?", (code,))}


def cli(p, *args, **kwargs):
    return CliRunner().invoke(app, [*map(str, args), "--project", str(p.root)], env={"COLUMNS": "300"}, **kwargs)


def flat(text: str) -> str:
    return " ".join(text.split())


# -- merging codes --------------------------------------------------------------------------------

def test_merge_moves_every_coders_codings_and_drops_the_merged_codes(review_project):
    p = review_project
    a, b, keep = codings_of(p, "hope_recovery"), codings_of(p, "credibility"), codings_of(p, "clinician_disclosure")
    assert a and b and keep and {c for _, c in a | b} >= {"alice", "bob"}
    r = merge_codes(p, ["hope_recovery", "Credibility and rapport"], "clinician_disclosure", "ed")
    assert r["codings"] + r["duplicates"] == len(a) + len(b) and [c.id for c in r["merged"]] == ["hope_recovery", "credibility"]
    assert codings_of(p, "clinician_disclosure") == a | b | keep     # an utterance given two of them keeps one
    assert not codings_of(p, "hope_recovery") and not codings_of(p, "credibility")
    assert {c.id for c in cb.load(p.conn).codes}.isdisjoint({"hope_recovery", "credibility"})
    action, coder = p.conn.execute("SELECT action, coder FROM decisions ORDER BY id DESC LIMIT 1").fetchone()
    assert (action, coder) == ("merge-codes", "ed")


def test_suggesting_with_a_classifier_that_knows_merged_codes_is_refused_until_trained(review_project):
    from autocode.learn import next_to_confirm, suggest, train

    p = review_project
    merge_codes(p, ["hope_recovery"], "credibility")
    with pytest.raises(Conflict, match="hope_recovery is no longer in it") as caught:
        suggest(p, ["D08"])
    assert "autocode train --coder alice" in caught.value.fix
    with pytest.raises(Conflict):
        next_to_confirm(p)
    train(p, "alice", evaluate=False)
    assert {r["code"] for r in suggest(p, ["D08"])} <= {c.id for c in cb.load(p.conn).codes} | {""}


def test_merge_keeps_one_coding_where_a_coder_gave_both_codes(review_project):
    p = review_project
    with p.transaction() as conn:
        uid = conn.execute("SELECT utterance FROM codings WHERE code = 'credibility' AND coder = 'alice'").fetchone()[0]
        conn.execute("INSERT OR IGNORE INTO codings (utterance, code, coder, created_at) VALUES (?, 'hope_recovery', 'alice', 'now')", (uid,))
    r = merge_codes(p, ["hope_recovery"], "credibility")
    n = p.conn.execute("SELECT COUNT(*) FROM codings WHERE utterance = ? AND coder = 'alice' AND code = 'credibility'",
                       (uid,)).fetchone()[0]
    assert n == 1 and r["duplicates"] == 1


def test_merge_points_candidates_to_the_code_kept(review_project):
    p = review_project
    cid = p.conn.execute("SELECT id FROM candidates WHERE status = 'open' ORDER BY id LIMIT 1").fetchone()[0]
    review.accept(p, cid, code_id="hope_recovery", coder="ed")
    merge_codes(p, ["hope_recovery"], "credibility")
    assert p.conn.execute("SELECT code FROM candidates WHERE id = ?", (cid,)).fetchone()[0] == "credibility"
    assert not p.conn.execute("SELECT 1 FROM candidates WHERE nearest_code = 'hope_recovery'").fetchone()
    assert not p.conn.execute("SELECT 1 FROM candidates WHERE nearest_code IS NULL AND nearest_similarity IS NOT NULL").fetchone()


def test_undo_takes_a_merge_back_whole_and_redo_makes_it_again(review_project):
    p = review_project
    before = snapshot(p)
    merge_codes(p, ["hope_recovery", "credibility"], "clinician_disclosure")
    after = snapshot(p)
    done = undo(p)
    assert "merging \u201cHope and recovery\u201d and \u201cCredibility and rapport\u201d into code" in done["what"]
    for table in ("codings", "codes", "candidates"):
        assert sorted(map(tuple, snapshot(p)[table])) == sorted(map(tuple, before[table]))
    redo(p)
    for table in ("codings", "codes"):
        assert sorted(map(tuple, snapshot(p)[table])) == sorted(map(tuple, after[table]))


@pytest.mark.parametrize("sources, into, error, words", [
    (["credibility"], "credibility", Conflict, "the code being merged into"),
    (["credibilty"], "hope_recovery", NotFound, "did you mean 'Credibility and rapport'"),
    (["credibility"], "no_such", NotFound, "no code 'no_such'"),
    ([], "credibility", Conflict, "no code to merge"),
])
def test_a_merge_that_cannot_be_made_changes_nothing(review_project, sources, into, error, words):
    before = snapshot(review_project)
    with pytest.raises(error, match=words):
        merge_codes(review_project, sources, into)
    assert snapshot(review_project) == before


def test_cli_merge_says_what_moved_and_to_train_again(review_project):
    result = cli(review_project, "code", "merge", "hope_recovery", "--into", "Credibility and rapport")
    assert result.exit_code == 0, result.output
    text = flat(result.output)
    assert "Merged 'Hope and recovery' into 'Credibility and rapport'" in text and "codings moved" in text
    assert "run 'autocode train' again" in text


# -- removing codes and themes --------------------------------------------------------------------

def test_removing_a_code_people_coded_is_refused_and_points_to_merge(review_project):
    p = review_project
    before = snapshot(p)
    with pytest.raises(Conflict) as caught:
        remove_code(p, "service_feedback")
    assert "by alice and bob" in caught.value.problem and "code merge" in caught.value.fix
    assert "--with-codings" in caught.value.fix
    assert snapshot(p) == before


def test_removing_a_code_with_its_codings_rejects_its_candidates_and_undo_restores_it(review_project):
    p = review_project
    cid = p.conn.execute("SELECT id FROM candidates WHERE status = 'open' ORDER BY id LIMIT 1").fetchone()[0]
    review.accept(p, cid, code_id="service_feedback", coder="ed")
    before = snapshot(p)
    r = remove_code(p, "Feedback into the service", with_codings=True)
    assert r["codings"] == len(codings_of(p, "service_feedback")) + r["codings"] > 0 and r["candidates"] == [cid]
    assert tuple(p.conn.execute("SELECT status, code FROM candidates WHERE id = ?", (cid,)).fetchone()) == ("rejected", None)
    assert cb.load(p.conn).find_code("service_feedback") is None
    assert undo(p)["what"] == "removing code \u201cFeedback into the service\u201d"
    for table in ("codings", "codes", "candidates"):
        assert sorted(map(tuple, snapshot(p)[table])) == sorted(map(tuple, before[table]))


def test_a_code_only_the_machine_used_is_removed_without_asking(review_project):
    p = review_project
    review.add_theme(p, "Spare")
    with p.transaction() as conn:
        cb.add_code(conn, "spare_code", "spare", "Spare code")
        conn.execute("INSERT INTO codings (utterance, code, coder, created_at) SELECT id, 'spare_code', 'machine', 'now' "
                     "FROM utterances LIMIT 1")
    assert remove_code(p, "spare_code")["codings"] == 1


def test_a_theme_is_removed_only_when_empty(review_project):
    p = review_project
    with pytest.raises(Conflict, match=r"still holds 4 code\(s\): Recruitment and training, .* and Feedback into the service"):
        remove_theme(p, "What PSWs add, and at what cost")
    review.add_theme(p, "Spare", coder="ed")
    assert remove_theme(p, "spare").name == "Spare"
    assert cb.load(p.conn).find_theme("Spare") is None
    undo(p)
    assert cb.load(p.conn).find_theme("Spare") is not None


def test_cli_refusals_say_what_to_do_without_a_traceback(review_project):
    result = cli(review_project, "code", "remove", "credibility")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "What to do: to keep them under another code: autocode code merge" in flat(result.output)
    result = cli(review_project, "theme", "remove", "lived_experience")
    assert result.exit_code == 1 and "move them under another theme first" in flat(result.output)


# -- removing transcripts -------------------------------------------------------------------------

def test_removal_plan_counts_what_would_go_and_changes_nothing(review_project):
    p = review_project
    before = snapshot(p)
    plan = removal_plan(p.conn, ["D01"])
    assert plan["utterances"] == p.conn.execute("SELECT COUNT(*) FROM utterances WHERE document = 'D01'").fetchone()[0]
    assert set(plan["codings"]) == {"alice", "bob"} and plan["classifiers"] == 1
    assert snapshot(p) == before
    with pytest.raises(AutocodeError, match="no document called 'D0'"):
        removal_plan(p.conn, ["D0"])


def test_removing_a_transcript_takes_its_words_out_of_everything(review_project):
    p = review_project
    mine = [r[0] for r in p.conn.execute("SELECT text FROM utterances WHERE document = 'D01'")]
    others = {r[0] for r in p.conn.execute("SELECT text FROM utterances WHERE document != 'D01'")}
    only_mine = [t for t in mine if t not in others and len(t) > 60]
    r = remove_documents(p, ["D01"], "ed")
    assert r["documents"] == ["D01"] and r["embeddings"] > 0 and r["quotes"] > 0 and r["compacted"]
    assert r["classifiers"] == 1 and not p.conn.execute("SELECT 1 FROM classifiers").fetchone()   # it learnt D01
    assert not p.conn.execute("SELECT 1 FROM utterances WHERE document = 'D01'").fetchone()
    assert not p.conn.execute("SELECT 1 FROM codings WHERE utterance NOT IN (SELECT id FROM utterances)").fetchone()
    hashes = {text_hash(t) for t in only_mine}
    assert not any(h in hashes for (h,) in p.conn.execute("SELECT text_hash FROM embeddings"))
    shared = [t for t in mine if t in others]
    if shared:   # a text another transcript says too keeps its embedding
        assert p.conn.execute("SELECT 1 FROM embeddings WHERE text_hash = ?", (text_hash(shared[0]),)).fetchone()
    reasons = " ".join(r[0] for r in p.conn.execute("SELECT reason FROM codings WHERE reason IS NOT NULL"))
    assert not any(t[:80] in reasons for t in only_mine)
    p.close()
    data = (p.root / "autocode.db").read_bytes()
    assert not any(t.encode() in data for t in only_mine)


def test_quotes_in_older_classifiers_and_candidate_keywords_go_too(review_project):
    """A classifier trained before the transcript came cannot have learnt it; any quote of its
    words (a transcript added again) goes, and keywords only it said leave the candidates."""
    p = review_project
    texts = [r[0] for r in p.conn.execute("SELECT text FROM utterances WHERE document = 'D08' AND is_interviewer = 0")]
    row = p.conn.execute("SELECT id, model FROM classifiers").fetchone()
    clf = ThemeClassifier.from_bytes(row["model"])
    clf.examples_text_[0] = texts[0]
    with p.transaction() as conn:
        conn.execute("UPDATE classifiers SET model = ?, created_at = '2000-01-01' WHERE id = ?", (clf.to_bytes(), row["id"]))
        cid = conn.execute("SELECT m.candidate FROM candidate_members m JOIN utterances u ON u.id = m.utterance "
                           "GROUP BY m.candidate HAVING SUM(u.document = 'D01') > 0 AND SUM(u.document != 'D01') > 0 "
                           "ORDER BY m.candidate LIMIT 1").fetchone()[0]
        other = conn.execute("SELECT u.text FROM candidate_members m JOIN utterances u ON u.id = m.utterance "
                             "WHERE m.candidate = ? AND u.document NOT IN ('D01', 'D08')", (cid,)).fetchone()[0]
        word = max(re.findall(r"[a-z]+", other.lower()), key=len)   # a word still said after the removal
        conn.execute("UPDATE candidates SET keywords = ?, label = ? WHERE id = ?",
                     (json.dumps(["zyzzyva", word]), f"zyzzyva / {word}", cid))
        conn.execute("UPDATE utterances SET text = text || ' zyzzyva' WHERE id = (SELECT u.id FROM candidate_members m "
                     "JOIN utterances u ON u.id = m.utterance WHERE m.candidate = ? AND u.document = 'D01' LIMIT 1)", (cid,))
    r = remove_documents(p, ["D01", "D08"])
    assert r["classifiers"] == 0 and r["quotes"] >= 1   # older than the transcripts: kept, less the quote
    assert texts[0] not in ThemeClassifier.from_bytes(p.conn.execute("SELECT model FROM classifiers").fetchone()[0]).examples_text_
    label, keywords = p.conn.execute("SELECT label, keywords FROM candidates WHERE id = ?", (cid,)).fetchone()
    assert json.loads(keywords) == [word] and label == word   # the automatic label follows its keywords


def test_candidates_are_recounted_and_emptied_ones_dropped(review_project):
    p = review_project
    sizes = dict(p.conn.execute("SELECT id, size FROM candidates"))
    lost = dict(p.conn.execute("SELECT m.candidate, COUNT(*) FROM candidate_members m JOIN utterances u "
                               "ON u.id = m.utterance WHERE u.document = 'D01' GROUP BY m.candidate"))
    remove_documents(p, ["D01"])
    after = dict(p.conn.execute("SELECT id, size FROM candidates"))
    for cid, n in lost.items():
        assert after.get(cid, 0) == sizes[cid] - n
    assert not p.conn.execute("SELECT 1 FROM candidates WHERE size = 0").fetchone()


def test_undo_cannot_reach_past_a_removal(review_project):
    p = review_project
    review.add_theme(p, "Spare")
    remove_documents(p, ["D02"])
    with pytest.raises(Conflict, match="removing transcripts"):
        undo(p)


def test_cli_asks_first_and_no_keeps_everything(review_project):
    p = review_project
    before = snapshot(p)
    result = cli(p, "remove", "D01", input="n\n")
    assert result.exit_code == 0 and "This cannot be undone" in result.output and "Nothing was removed" in result.output
    assert snapshot(p) == before
    result = cli(p, "remove", "D01", "--yes")
    assert result.exit_code == 0, result.output
    text = flat(result.output)
    assert "Removed D01:" in text and "1 classifier had learnt from their codings and went with them" in text
    assert "Files exported before" in text


def test_cli_unknown_transcript_names_the_known_ones(review_project):
    before = snapshot(review_project)
    result = cli(review_project, "remove", "D1", "--yes")
    assert result.exit_code == 1 and "no document called 'D1'" in result.output and "D01" in result.output
    assert "Traceback" not in result.output and snapshot(review_project) == before
