"""Undo and redo of review decisions, and the finer decisions the browser review makes."""
from __future__ import annotations

import pytest

from autocode import AutocodeError, confirm, review, undo
from autocode.errors import Conflict
from autocode.cluster import propose

from conftest import snapshot


@pytest.fixture
def proposed(demo_project):
    propose(demo_project)
    return demo_project


def _open(p):
    return [r[0] for r in p.conn.execute("SELECT id FROM candidates WHERE status = 'open' ORDER BY id")]


def test_undo_puts_every_row_back_and_redo_makes_it_again(proposed):
    p = proposed
    before = snapshot(p)
    first, second = _open(p)[:2]
    review.merge(p, [first, second], theme="contribution", name="Both together", coder="alice")
    after = snapshot(p)
    assert undo.undo(p, "alice")["what"].startswith("merging candidates")
    undone = snapshot(p)
    for table in ("candidates", "candidate_members", "codes", "themes", "codings"):
        assert undone[table] == before[table], table
    undo.redo(p, "alice")
    redone = snapshot(p)
    for table in ("candidates", "candidate_members", "codes", "themes", "codings"):
        assert redone[table] == after[table], table


def test_undo_walks_back_several_steps_and_a_new_decision_ends_redo(proposed):
    p = proposed
    a, b, c = _open(p)[:3]
    review.reject(p, [a], "alice")
    review.rename_candidate(p, b, "Better name", "alice")
    undo.undo(p, "alice")
    undo.undo(p, "alice")
    assert set(_open(p)) >= {a, b}
    assert p.conn.execute("SELECT label FROM candidates WHERE id = ?", (b,)).fetchone()[0] != "Better name"
    undo.redo(p, "alice")
    assert a not in _open(p)
    review.reject(p, [c], "alice")
    with pytest.raises(AutocodeError, match="nothing to redo"):
        undo.redo(p, "alice")
    actions = [r[0] for r in p.conn.execute("SELECT action FROM decisions ORDER BY id")][-5:]
    assert actions == ["rename-candidate", "undo", "undo", "redo", "reject"]


def test_undo_stops_at_a_bulk_step(proposed):
    p = proposed
    review.reject(p, [_open(p)[0]], "alice")
    propose(p)
    assert undo.available(p.conn)["undo"] is None
    with pytest.raises(AutocodeError, match=r"proposing candidates \(autocode propose\) changed the project"):
        undo.undo(p, "alice")


def test_redo_is_not_offered_past_a_bulk_step_and_says_redo(proposed):
    p = proposed
    review.reject(p, [_open(p)[0]], "alice")
    undo.undo(p, "alice")
    propose(p)
    assert undo.available(p.conn)["redo"] is None
    with pytest.raises(AutocodeError, match=r"can't redo rejecting candidate \d+: proposing candidates \(autocode propose\) changed the project since"):
        undo.redo(p, "alice")


def test_undo_names_utterances_by_transcript_and_number(demo_project):
    p = demo_project
    from autocode.learn import suggest, train

    train(p, "alice", evaluate=False)
    uid, doc, idx = p.conn.execute("SELECT u.id, u.document, u.idx FROM utterances u WHERE u.document = 'D07' "
                                   "AND NOT u.is_interviewer ORDER BY u.idx LIMIT 1").fetchone()
    suggest(p, ["D07"], include_coded=True)
    confirm.reject(p, uid, "carol")
    assert undo.undo(p, "carol")["what"] == f"rejecting the suggestion for utterance {doc} #{idx}"


def test_accepting_above_a_threshold_with_nothing_there_is_no_decision(demo_project):
    before = snapshot(demo_project)
    assert confirm.accept_above(demo_project, 0.99, ["D07"], "carol") == {"accepted": 0, "no_code": 0, "threshold": 0.99}
    assert snapshot(demo_project) == before


def test_nothing_to_undo_in_a_new_project(project):
    with pytest.raises(AutocodeError, match="nothing to undo"):
        undo.undo(project)


def test_split_makes_sub_candidates_from_the_members(proposed):
    p = proposed
    cid = max(_open(p), key=lambda c: p.conn.execute("SELECT size FROM candidates WHERE id=?", (c,)).fetchone()[0])
    members = {r[0] for r in p.conn.execute("SELECT utterance FROM candidate_members WHERE candidate = ?", (cid,))}
    new = review.split(p, cid, 2, "alice")
    assert len(new) == 2
    parts = [{r[0] for r in p.conn.execute("SELECT utterance FROM candidate_members WHERE candidate = ?", (n,))}
             for n in new]
    assert parts[0] | parts[1] == members and not parts[0] & parts[1]
    assert p.conn.execute("SELECT status FROM candidates WHERE id = ?", (cid,)).fetchone()[0] == "split"
    undo.undo(p)
    assert cid in _open(p) and not set(new) & set(_open(p))


def test_split_refuses_a_candidate_too_small(proposed):
    p = proposed
    cid = _open(p)[0]
    with pytest.raises(AutocodeError, match="too few to split"):
        review.split(p, cid, 1000)


def test_removing_and_moving_an_utterance_updates_the_counts(proposed):
    p = proposed
    cid = _open(p)[0]
    size = p.conn.execute("SELECT size FROM candidates WHERE id = ?", (cid,)).fetchone()[0]
    first, second = [r[0] for r in p.conn.execute(
        "SELECT utterance FROM candidate_members WHERE candidate = ? ORDER BY utterance LIMIT 2", (cid,))]
    review.remove_utterance(p, cid, first, "alice")
    review.move_utterance(p, cid, second, "credibility", "alice")
    assert p.conn.execute("SELECT size FROM candidates WHERE id = ?", (cid,)).fetchone()[0] == size - 2
    assert p.conn.execute("SELECT 1 FROM codings WHERE utterance = ? AND code = 'credibility'"
                          " AND coder = 'alice'", (second,)).fetchone()
    with pytest.raises(AutocodeError, match="not in candidate"):
        review.remove_utterance(p, cid, first)


def test_reorder_themes_and_refuse_unknown(demo_project):
    p = demo_project
    ids = [r[0] for r in p.conn.execute("SELECT id FROM themes ORDER BY position")]
    assert review.reorder_themes(p, ids[::-1])[:len(ids)] == ids[::-1]
    with pytest.raises(AutocodeError, match="no theme 'nope'"):
        review.reorder_themes(p, ["nope"])


def test_empty_names_are_refused(demo_project):
    before = snapshot(demo_project)
    with pytest.raises(AutocodeError, match="empty"):
        review.rename_code(demo_project, "credibility", "  ")
    assert snapshot(demo_project) == before


def _suggested(p):
    from autocode.learn import suggest, train
    train(p, "alice", evaluate=False)
    return suggest(p, ["D07"], include_coded=True)


def test_verdicts_on_suggestions_become_the_coders_codings(demo_project):
    p = demo_project
    rows = _suggested(p)
    u1, u2, u3 = (r["utterance_id"] for r in rows[:3])
    confirm.accept(p, u1, coder="carol")
    confirm.accept(p, u2, code="credibility", coder="carol")
    confirm.reject(p, u3, coder="carol")
    got = dict(p.conn.execute("SELECT utterance, code FROM codings WHERE coder = 'carol'").fetchall())
    assert got == {u1: rows[0]["code"], u2: "credibility", u3: ""}
    undo.undo(p, "carol")
    assert u3 not in dict(p.conn.execute("SELECT utterance, code FROM codings WHERE coder = 'carol'").fetchall())


def test_accept_above_takes_only_confident_undecided_suggestions(demo_project):
    p = demo_project
    rows = _suggested(p)
    threshold = sorted(r["confidence"] for r in rows)[len(rows) // 2]
    done = confirm.accept_above(p, threshold, coder="carol")["accepted"]
    assert done == sum(r["confidence"] >= threshold for r in rows)
    assert confirm.accept_above(p, threshold, coder="carol")["accepted"] == 0
    with pytest.raises(AutocodeError, match="between 0 and 1"):
        confirm.accept_above(p, 80, coder="carol")


def test_a_verdict_needs_a_suggestion(demo_project):
    with pytest.raises(AutocodeError, match="no machine suggestion"):
        confirm.accept(demo_project, 1)


def test_accepting_into_an_existing_code_says_what_it_did(proposed):
    """An existing code keeps its theme (the --theme asked for is reported unused), and the
    utterances alice had already coded otherwise are counted: they now carry both codes."""
    p = proposed
    first = _open(p)[0]
    with pytest.raises(Conflict, match="a code called 'Credibility and rapport' already exists"):   # by name: a new code meant
        review.accept(p, first, theme="contribution", name="Credibility and rapport", coder="alice")
    result = review.accept(p, first, theme="contribution", code_id="credibility", coder="alice")
    assert result["existing"] and result["code"] == "credibility" and result["theme"] == "lived_experience"
    assert result["theme_not_used"] == "contribution"
    members = [r[0] for r in p.conn.execute("SELECT utterance FROM candidate_members WHERE candidate = ?", (first,))]
    other = p.conn.execute(f"SELECT COUNT(DISTINCT utterance) FROM codings WHERE coder = 'alice' AND code NOT IN "
                           f"('credibility', '') AND utterance IN ({','.join('?' * len(members))})", members).fetchone()[0]
    assert result["also_coded"] == other
    fresh = review.accept(p, _open(p)[0], theme="contribution", name="A brand new code", coder="alice")
    assert not fresh["existing"] and fresh["theme_not_used"] is None


def test_accepting_a_candidate_replaces_the_coders_no_code_and_undo_puts_it_back(proposed):
    """An utterance alice had coded "no code" and a candidate's code had carried both."""
    p = proposed
    before = snapshot(p)
    cid, no_code = next((c, n) for c in _open(p) if (n := {r[0] for r in p.conn.execute(
        "SELECT m.utterance FROM candidate_members m JOIN codings k ON k.utterance = m.utterance AND k.coder = 'alice' "
        "AND k.code = '' WHERE m.candidate = ?", (c,))}))
    result = review.accept(p, cid, theme="contribution", name="Groups of no code", coder="alice")
    assert result["was_no_code"] == len(no_code) > 0
    both = p.conn.execute("SELECT COUNT(*) FROM codings a JOIN codings b ON a.utterance = b.utterance AND a.coder = "
                          "b.coder AND a.code = '' AND b.code != ''").fetchone()[0]
    assert both == 0
    undo.undo(p, "alice")
    assert snapshot(p)["codings"] == before["codings"]


def test_a_blocked_undo_names_the_command_that_reverses_it(proposed):
    from autocode.corpus import add_files
    from conftest import DATA

    p = proposed
    review.move_code(p, "credibility", "contribution", "alice")
    add_files(p, [DATA / "transcripts" / "D08.txt"])
    with pytest.raises(AutocodeError) as err:
        undo.undo(p, "alice")
    assert err.value.problem == ("can't undo moving code \u201cCredibility and rapport\u201d: adding transcripts (autocode add) changed "
                                 "the project since")
    assert err.value.fix == "make the opposite decision instead: autocode code move credibility lived_experience"


def test_nothing_to_undo_says_what_undo_covers(demo_project):
    with pytest.raises(AutocodeError) as err:
        undo.undo(demo_project, "alice")
    assert "importing and suggesting are not undone" in err.value.fix


def test_accepting_into_an_existing_code_under_a_new_theme_makes_no_empty_theme(proposed):
    p = proposed
    themes = p.conn.execute("SELECT COUNT(*) FROM themes").fetchone()[0]
    with pytest.raises(Conflict):   # by name under a new theme: a new code meant, whose name is taken
        review.accept(p, _open(p)[0], name="Credibility and rapport", coder="alice", new_theme="Honesty")
    assert p.conn.execute("SELECT COUNT(*) FROM themes").fetchone()[0] == themes
    result = review.accept(p, _open(p)[0], code_id="credibility", coder="alice", new_theme="Honesty")
    assert result["theme"] == "lived_experience" and result["theme_not_used"] == "Honesty"
    assert p.conn.execute("SELECT COUNT(*) FROM themes").fetchone()[0] == themes


def test_a_rejection_undo_cannot_reach_is_reopened_by_command(proposed, tmp_path):
    from autocode import import_codings

    p = proposed
    first = _open(p)[0]
    review.reject(p, [first], "alice")
    f = tmp_path / "c.csv"
    f.write_text("document,utterance,code\nD01,3,credibility\n", encoding="utf-8")
    import_codings(p, f, "carol")
    with pytest.raises(AutocodeError) as err:
        undo.undo(p, "alice")
    assert err.value.fix == f"make the opposite decision instead: autocode reopen {first}"
    assert review.reopen(p, [first], "alice") == 1 and first in _open(p)
    with pytest.raises(AutocodeError, match=f"candidate {first} is not rejected \\(it is open\\)"):
        review.reopen(p, [first], "alice")
    assert undo.undo(p, "alice")["what"] == f"reopening candidate {first}"
    assert first not in _open(p)


def test_a_blocked_undo_names_the_command_typed_not_the_logged_step(proposed):
    from conftest import DATA

    p = proposed
    review.reject(p, [_open(p)[0]], "alice")
    review.import_codebook(p, DATA / "codebook.yaml", "alice")
    with pytest.raises(AutocodeError, match=r"importing a codebook \(autocode codebook import\) changed the project"):
        undo.undo(p, "alice")


def test_a_candidate_number_is_never_given_twice(proposed):
    """After an undone split, a new split must not reuse the numbers: a stale page or an old
    log entry naming "#51" would then act on other utterances."""
    p = proposed
    first, second = _open(p)[:2]
    gone = review.split(p, first, 2)
    undo.undo(p)
    assert not p.conn.execute(f"SELECT 1 FROM candidates WHERE id IN ({gone[0]}, {gone[1]})").fetchone()
    again = review.split(p, second, 2)
    assert min(again) > max(gone)
    undo.undo(p)
    undo.redo(p)   # redo brings back the very candidates it took away
    assert sorted(r[0] for r in p.conn.execute("SELECT id FROM candidates WHERE status = 'open'"))[-2:] == sorted(again)
    before = max(r[0] for r in p.conn.execute("SELECT id FROM candidates"))
    propose(p, seed=1)   # proposing anew deletes the open candidates; their numbers stay used
    assert min(_open(p)) > before
