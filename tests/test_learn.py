"""Training on a coder's codings and suggesting codes, on the demo corpus with real embeddings."""
from __future__ import annotations

import numpy as np
import pytest

from autocode import AutocodeError, ThemeClassifier, suggest
from autocode.corpus import add_files, utterances
from autocode.store import Project
from autocode.learn import MACHINE, latest_classifier, train, training_set
from conftest import DATA, snapshot


@pytest.fixture
def trained(_trained_template, tmp_path):
    """A private copy of the trained project, safe to change, and the training's metrics."""
    import shutil

    root, metrics = _trained_template
    shutil.copytree(root, tmp_path / "trained")
    p = Project(tmp_path / "trained")
    yield p, metrics
    p.close()


def test_training_set_is_the_coders_codings(demo_project):
    utts, main, all_codes = training_set(demo_project.conn, "alice")
    n = demo_project.conn.execute("SELECT COUNT(DISTINCT utterance) FROM codings WHERE coder = 'alice'").fetchone()[0]
    assert len(utts) == len(main) == len(all_codes) == n
    assert all(m == next((c for c in codes if c), "") for m, codes in zip(main, all_codes))


def test_train_reports_document_fold_agreement_for_codes_and_themes(trained):
    _, m = trained
    cv = m["cross_validation"]
    assert cv["documents"] == 7 and cv["folds"] == 5
    for level in ("codes", "themes"):
        assert cv[level]["n_units"] == m["utterances"]
        assert 0.2 < cv[level]["cohen_kappa"] < 1.0   # well above chance on held-out interviews
        assert 0 < cv[level]["macro_f1"] <= 1
    assert cv["themes"]["cohen_kappa"] >= cv["codes"]["cohen_kappa"] - 0.05
    assert len(m["codes"]) == 17


def test_train_stores_a_loadable_model_and_logs_it(trained):
    p, _ = trained
    clf, metrics = latest_classifier(p.conn)
    assert isinstance(clf, ThemeClassifier) and metrics["coder"] == "alice"
    assert clf.theme_of("credibility") == "lived_experience"
    assert p.conn.execute("SELECT COUNT(*) FROM decisions WHERE action = 'train'").fetchone()[0] == 1


def test_suggest_codes_an_unseen_transcript(trained):
    p, _ = trained
    add_files(p, [DATA / "transcripts" / "D08.txt"])
    rows = suggest(p, ["D08"])
    n = p.conn.execute("SELECT COUNT(*) FROM utterances WHERE document = 'D08' AND is_interviewer = 0").fetchone()[0]
    assert len(rows) == n
    assert all(r["coder"] == MACHINE and 0 < r["confidence"] <= 1 for r in rows)
    coded = [r for r in rows if r["code"]]
    assert len(coded) > n / 3
    assert all(r["theme"] for r in coded)
    assert all(r["reason"].startswith("closest confirmed examples") for r in coded)
    stored = p.conn.execute("SELECT COUNT(*) FROM codings WHERE coder = 'machine'").fetchone()[0]
    assert stored == len(rows)


def test_suggestions_follow_a_code_moved_since_training(trained):
    from autocode.review import move_code

    p, _ = trained
    add_files(p, [DATA / "transcripts" / "D08.txt"])
    move_code(p, "credibility", "role_ambiguity")
    rows = suggest(p, ["D08"])
    assert {r["theme"] for r in rows if r["code"] == "credibility"} == {"role_ambiguity"}


def test_suggest_skips_utterances_a_person_coded(trained):
    p, _ = trained
    rows = suggest(p, ["D01"])
    human = {r[0] for r in p.conn.execute("SELECT utterance FROM codings WHERE coder != 'machine'")}
    assert not any(r["utterance_id"] in human for r in rows)


def test_suggest_again_replaces_earlier_suggestions(trained):
    p, _ = trained
    add_files(p, [DATA / "transcripts" / "D08.txt"])
    first = suggest(p, ["D08"])
    second = suggest(p, ["D08"])
    assert [(r["code"], r["confidence"]) for r in first] == [(r["code"], r["confidence"]) for r in second]
    assert p.conn.execute("SELECT COUNT(*) FROM codings WHERE coder = 'machine'").fetchone()[0] == len(first)


def test_suggest_without_a_model_changes_nothing(demo_project):
    before = snapshot(demo_project)
    with pytest.raises(AutocodeError, match="no classifier"):
        suggest(demo_project, ["D01"])
    assert snapshot(demo_project) == before


def test_saved_model_file_suggests_the_same(trained, tmp_path):
    p, _ = trained
    clf, _ = latest_classifier(p.conn)
    copy = ThemeClassifier.load(clf.save(tmp_path / "m.npz"))
    add_files(p, [DATA / "transcripts" / "D08.txt"])
    a = suggest(p, ["D08"])
    b = suggest(p, ["D08"], classifier=copy)
    assert [r["code"] for r in a] == [r["code"] for r in b]


def test_reason_names_the_examples_and_the_words_that_drove_the_code(trained):
    import re

    p, _ = trained
    add_files(p, [DATA / "transcripts" / "D08.txt"])
    rows = [r for r in suggest(p, ["D08"]) if r["code"]]
    with_words = [r for r in rows if "; words that drove it: \u201c" in r["reason"]]
    assert len(with_words) > len(rows) / 2
    for r in with_words:
        words = re.findall("\u201c([^\u201d]+)\u201d", r["reason"].split("words that drove it: ")[1])
        assert 1 <= len(words) <= 3
        tokens = set(re.findall(r"\w+|\?", r["text"].lower()))
        assert all(set(w.split()) <= tokens for w in words), (words, r["text"])
        assert not any(set(w.split()) <= {"the", "and", "to", "t", "s", "ve"} for w in words), words


def test_abstention_finds_the_confidence_above_which_agreement_is_substantial():
    import numpy as np

    from autocode import pair_agreement
    from autocode.learn import abstention

    rng = np.random.default_rng(0)
    truth = rng.choice(list("abc"), 400)
    confidence = rng.uniform(0, 1, 400)
    predicted = np.where(confidence > 0.5, truth, rng.choice(list("abc"), 400))  # right when confident
    a = abstention(truth, predicted, confidence)
    assert 0.1 < a["threshold"] <= 0.5 and a["kappa"] >= 0.61
    assert pair_agreement(truth, predicted)["cohen_kappa"] < 0.61   # all of them would not do
    assert abs(a["coverage"] - (confidence >= a["threshold"]).mean()) < 1e-9
    assert abstention(truth, rng.choice(list("abc"), 400), confidence)["threshold"] is None


def test_train_reports_the_abstention_threshold(trained):
    _, m = trained
    a = m["cross_validation"]["abstention"]
    assert a["threshold"] is None or (0 < a["coverage"] <= 1 and a["kappa"] >= a["target_kappa"])


def test_abstention_curve_trades_coverage_for_agreement():
    import numpy as np

    from autocode.learn import abstention

    rng = np.random.default_rng(1)
    truth = rng.choice(list("ab"), 300)
    confidence = rng.uniform(0, 1, 300)
    predicted = np.where(rng.uniform(0, 1, 300) < confidence, truth, np.where(truth == "a", "b", "a"))
    curve = abstention(truth, predicted, confidence)["curve"]
    assert curve[0]["coverage"] == 1.0 and curve[-1]["coverage"] < 0.2
    assert curve[-1]["kappa"] > curve[0]["kappa"]


def test_the_classifier_reads_the_question_asked_and_the_whole_answer(tmp_path):
    """Each utterance's context: the one before and after, the interviewer's last utterance
    before it, and the speaker's run of consecutive utterances (the whole answer)."""
    from autocode.features import Surroundings

    f = tmp_path / "T1.txt"
    f.write_text("Interviewer: What do peer workers bring to the team?\n"
                 "Dr A: They bring lived experience of recovery and it shows every single day on the ward. "
                 "Patients open up to them about things they never tell us, over many months of care.\n"
                 "Interviewer: And the risks?\n"
                 "Dr A: Boundaries worry me most of all, because friendships can form with patients very quickly.\n",
                 encoding="utf-8")
    p = Project.create(tmp_path / "proj")
    add_files(p, [f], embed=False)
    with p.transaction() as conn:
        every = utterances(conn, participants_only=False)
        around = Surroundings.of(conn, every)
    answer = [i for i, u in enumerate(every) if u.speaker == "Dr A"]
    first, last = answer[0], answer[-1]
    assert len(answer) == 3  # two utterances in the first answer, one in the second
    assert around.asked[first] == around.asked[answer[1]] == "What do peer workers bring to the team?"
    assert around.asked[last] == "And the risks?"
    assert around.runs[first] == around.runs[answer[1]] == [every[first].text, every[answer[1]].text]
    assert around.runs[last] == [every[last].text]
    assert around.before[0] == "" and around.after[-1] == "" and around.before[first] == every[0].text
    # each run is numbered: one answer, one number, and no two runs share one
    assert around.answers[first] == around.answers[answer[1]] != around.answers[last]
    assert len(set(around.answers)) == 4  # two questions, two answers


def test_two_models_are_read_side_by_side_part_by_part(demo_project):
    """Each context part holds both models' vectors of the same neighbour, so a model that
    learnt fewer parts still reads whole ones."""
    from autocode.features import Inputs, Surroundings, inputs, reading, side_by_side

    a = Inputs(np.array(["x"], dtype=object), np.array([[1.0, 2.0]]), np.array([[3.0, 4.0, 5.0, 6.0]]))
    b = Inputs(a.texts, np.array([[7.0, 8.0]]), np.array([[9.0, 10.0, 11.0, 12.0]]))
    both = side_by_side([a, b])
    assert both.X.tolist() == [[1, 2, 7, 8]] and both.context.tolist() == [[3, 4, 9, 10, 5, 6, 11, 12]]
    for keep, one in (([0], a), ([1], b)):   # and each model's columns can be read alone again
        assert reading(both, keep).X.tolist() == one.X.tolist()
        assert reading(both, keep).context.tolist() == one.context.tolist()
    utts = training_set(demo_project.conn, "alice")[0][:20]
    one, two = inputs(demo_project.conn, utts), inputs(demo_project.conn, utts, [None, None])
    d = one.X.shape[1]
    assert np.allclose(two.X, np.hstack([one.X, one.X])) and np.allclose(two.context[:, 2 * d:3 * d], one.context[:, d:2 * d])
    # each utterance's answer travels with it, through every way of reading
    answers = Surroundings.of(demo_project.conn, utts).answers
    assert one.answers.tolist() == two.answers.tolist() == reading(two, [1]).answers.tolist() == answers
    assert one.rows([3, 1]).answers.tolist() == [answers[3], answers[1]]


def test_models_of_different_widths_read_side_by_side_and_apart_again():
    """A larger tuned model beside the bundled one (fine_tune_model): its columns, and its
    context parts, are found by the widths side_by_side recorded, for utterances and definitions."""
    from autocode.features import Definitions, Inputs, reading, side_by_side

    a = Inputs(np.array(["x", "y"], dtype=object), np.array([[1.0, 2.0]] * 2), np.array([[3.0, 4.0, 5.0, 6.0]] * 2))
    b = Inputs(a.texts, np.array([[7.0, 8.0, 9.0]] * 2), np.array([[10.0, 11.0, 12.0, 13.0, 14.0, 15.0]] * 2))
    both = side_by_side([a, b])
    assert both.widths == (2, 3) and both.context[0].tolist() == [3, 4, 10, 11, 12, 5, 6, 13, 14, 15]
    for keep, one in (([0], a), ([1], b)):
        assert reading(both, keep).X.tolist() == one.X.tolist()
        assert reading(both, keep).context.tolist() == one.context.tolist()
    assert reading(both, [0, 1]).X.tolist() == both.X.tolist() and reading(both, [0, 1]).widths == (2, 3)
    assert both.rows([1]).widths == (2, 3)   # a fold's rows keep them
    defs = Definitions(["name"], np.array([[1.0, 2.0, 7.0, 8.0, 9.0]]), ["c"], (2, 3))
    assert defs.reading([1]).X.tolist() == [[7, 8, 9]] and defs.reading([0]).X.tolist() == [[1, 2]]
    extra, _ = defs.for_codes({"c"}, 2)
    assert extra.widths == (2, 3) and extra.context.shape == (1, 10)


def test_cross_validation_keeps_the_reading_that_agrees_best(demo_project):
    """A fine-tuned classifier may read the general model, the tuned one or both; each is
    cross-validated on the same tuned folds (tuned once each) and the best is kept, a tie going
    to the simpler. Here one model is blank, so the other, alone, is the simplest best."""
    from autocode import codebook as cb
    from autocode.features import Inputs, inputs, side_by_side
    from autocode.learn import choose_reading

    conn = demo_project.conn
    utts, main, all_codes = training_set(conn, "alice")
    first = sorted({u.document for u in utts})[:3]   # three documents, three folds: the rule, not the corpus, is tested
    keep = [i for i, u in enumerate(utts) if u.document in first]
    utts, main, all_codes = [utts[i] for i in keep], [main[i] for i in keep], [all_codes[i] for i in keep]
    real = inputs(conn, utts)
    blank = Inputs(real.texts, np.zeros_like(real.X), np.zeros_like(real.context))
    themes, groups = {c.id: c.theme for c in cb.load(conn).codes}, [u.document for u in utts]
    for two, expected, worse in (([real, blank], "general", "tuned"), ([blank, real], "tuned", "general")):
        calls = []
        inp = side_by_side(two)
        chosen = choose_reading(inp, main, all_codes, groups, themes, 1.0, lambda rows: calls.append(1) or (inp, None))
        assert chosen["reading"] == expected, chosen["readings"]
        assert chosen["readings"][expected] == chosen["readings"]["both"] > chosen["readings"][worse]
        assert len(calls) == chosen["cross_validation"]["folds"]   # each fold's model made once, not three times


def test_the_codebooks_definitions_teach_the_classifier_but_are_never_quoted(trained):
    from autocode import codebook as cb
    from autocode.features import definitions

    p, m = trained
    utts, main, all_codes = training_set(p.conn, "alice")
    defs = definitions(p.conn)
    book = cb.load(p.conn)
    with_definition = [c for c in book.codes if c.definition]
    assert len(defs.texts) == len(defs.codes) == len(defs.X) == 3 * len(with_definition)
    code = with_definition[0]
    assert defs.texts[:3] == [code.name, code.definition, f"{code.name}. {code.definition}"]
    used = {c for codes in all_codes for c in codes if c}
    assert m["definitions"] == len({c.id for c in with_definition} & used) > 0
    clf, _ = latest_classifier(p.conn)
    assert len(clf.examples_text_) == len(clf.examples_label_) == sum(len(cs) for cs in all_codes)
    assert not set(clf.examples_text_) & set(defs.texts)


def test_a_code_without_a_definition_lends_its_name(demo_project):
    """A code's name is the shortest definition it has (it raised macro-F1 on NHS feedback)."""
    from autocode import codebook as cb
    from autocode.features import definitions

    with demo_project.transaction() as conn:
        theme = cb.load(conn).themes[0].id
        cb.add_code(conn, "waiting_times", theme, "waiting_times")
    defs = definitions(demo_project.conn)
    assert [t for t, c in zip(defs.texts, defs.codes) if c == "waiting_times"] == ["waiting times"]
    defined = [c for c in cb.load(demo_project.conn).codes if c.definition]
    assert len(defs.texts) == 3 * len(defined) + 1 and defs.X.shape == (len(defs.texts), 384)


def test_a_model_learns_only_the_definitions_of_codes_its_coder_used(demo_project):
    from autocode.features import Inputs, definitions, inputs
    from autocode.learn import fit_classifier

    utts, _, all_codes = training_set(demo_project.conn, "alice")
    defs = definitions(demo_project.conn)
    rows = [i for i, codes in enumerate(all_codes) if codes[0] in ("credibility", "")][:40]
    inp = inputs(demo_project.conn, [utts[i] for i in rows])
    extra, labels = defs.for_codes({"credibility"}, 4)
    assert {c for (c,) in labels} == {"credibility"} and extra.context.shape == (3, 4 * extra.X.shape[1])
    clf = fit_classifier(inp, [all_codes[i] for i in rows], {}, 1.0, defs)
    assert set(clf.classes_) == {"credibility", ""}                  # no code nobody used
    assert defs.for_codes(set(), 4)[1] == []
    width = inp.X.shape[1]
    before_only = Inputs(inp.texts, inp.X, inp.context[:, :width])   # a model reading one context part
    assert fit_classifier(before_only, [all_codes[i] for i in rows], {}, 1.0, defs).context_parts_ == 1


def test_an_uncoded_utterance_borrows_the_codes_of_the_nearest_coded_one_in_its_answer():
    from autocode.learn import answer_mates

    answers = [1, 1, 1, 1, 2, 2, 3]   # three answers; rows 0, 3 and 6 are coded
    mates, sources = answer_mates(answers, [0, 3, 6], [1, 2, 4, 5])
    assert mates.tolist() == [1, 2] and sources.tolist() == [0, 3]   # answer 2 has no coded row
    assert answer_mates([1, 1, 1], [0, 2], [1])[1].tolist() == [0]   # a tie goes to the earlier one
    assert answer_mates([1, 2], [], [0, 1])[0].tolist() == []


def test_one_per_answer_asks_about_different_answers_first():
    from autocode.learn import one_per_answer

    answers = [7, 7, 8, 8, 7]
    assert one_per_answer([4, 0, 1, 3, 2], answers) == [4, 3, 0, 1, 2]
    assert one_per_answer([2, 0, 1], None) == [2, 0, 1]


def test_an_answer_partly_coded_teaches_its_uncoded_utterances_without_scoring_or_quoting_them(demo_project):
    """Uncode the middle utterance of some answers: train learns them with a neighbour's code,
    but cross-validation scores only coded utterances and reasons never quote them."""
    from autocode.features import Surroundings
    from autocode.learn import train

    conn = demo_project.conn
    utts = training_set(conn, "alice")[0]
    answers = Surroundings.of(conn, utts).answers
    runs = {}
    for u, a in zip(utts, answers):
        runs.setdefault(a, []).append(u)
    middles = [run[1] for run in runs.values() if len(run) >= 3][:6]
    assert len(middles) == 6
    with demo_project.transaction() as c:
        c.executemany("DELETE FROM codings WHERE coder = 'alice' AND utterance = ?", [(u.id,) for u in middles])
    metrics = train(demo_project, "alice")
    assert metrics["borrowed"] == 6 and metrics["utterances"] == len(utts) - 6
    assert metrics["cross_validation"]["themes"]["n_units"] == len(utts) - 6
    clf, _ = latest_classifier(demo_project.conn)
    assert not {u.text for u in middles} & set(clf.examples_text_)
    logged = demo_project.conn.execute("SELECT details FROM decisions WHERE action = 'train'").fetchone()[0]
    assert '"borrowed": 6' in logged
    # the setting turns it off: the same coded utterances, nothing borrowed, another model
    (demo_project.root / "autocode.toml").write_text("[classifier]\nborrowed_weight = 0\n", encoding="utf-8")
    alone = train(Project(demo_project.root), "alice", evaluate=False)
    assert alone["borrowed"] == 0 and alone["utterances"] == metrics["utterances"]
    assert not np.allclose(latest_classifier(demo_project.conn)[0].intercept_, clf.intercept_)


def test_a_borrowed_weight_outside_0_to_1_is_refused_and_nothing_is_trained(demo_project):
    from autocode.learn import train

    (demo_project.root / "autocode.toml").write_text("[classifier]\nborrowed_weight = 2\n", encoding="utf-8")
    p = Project(demo_project.root)
    with pytest.raises(AutocodeError, match="'borrowed_weight' under \\[classifier\\].*from 0 to 1, not 2") as e:
        train(p, "alice", evaluate=False)
    assert "set it to 0.5" in e.value.fix
    assert p.conn.execute("SELECT COUNT(*) FROM classifiers").fetchone()[0] == 0


def test_a_document_in_one_voice_is_no_answer(tmp_path):
    """Without speaker labels the whole transcript is one speaker's run; it must not be taken
    for one long answer that every utterance leans on and borrows codes from."""
    from autocode.features import Surroundings

    f = tmp_path / "T2.txt"
    f.write_text("Peer workers bring their own lived experience of recovery to the ward every single day, "
                 "and patients notice it straight away. Boundaries are what worry me most of all, because close "
                 "friendships can form very quickly between peer workers and the patients they support. "
                 "Supervision has to be regular and it has to be protected time for them, not squeezed in "
                 "between ward rounds and the rest of the day.\n", encoding="utf-8")
    p = Project.create(tmp_path / "proj")
    add_files(p, [f], embed=False)
    every = utterances(p.conn, participants_only=False)
    assert len(every) == 3 and len({u.speaker for u in every}) == 1
    assert len(set(Surroundings.of(p.conn, every).answers)) == 3


def test_suggestions_on_what_the_classifier_learnt_are_flagged(trained, tmp_path):
    """Comparing the machine with alice on alice's own training utterances flatters it: the CLI
    warns, from learnt_from's count; a transcript she coded after training is a fair test."""
    from autocode.codings import import_codings
    from autocode.learn import learnt_from

    p, _ = trained
    on_d01 = suggest(p, ["D01"], include_coded=True)
    coder, seen = learnt_from(p, on_d01)
    alice_d01 = p.conn.execute("SELECT COUNT(DISTINCT c.utterance) FROM codings c JOIN utterances u ON u.id = c.utterance "
                               "WHERE c.coder = 'alice' AND u.document = 'D01'").fetchone()[0]
    assert coder == "alice" and seen == alice_d01 > 0
    later = tmp_path / "later.csv"
    later.write_text("document,utterance,code\nD08,1,credibility\n", encoding="utf-8")
    add_files(p, [DATA / "transcripts" / "D08.txt"])
    import_codings(p, later, "alice")   # coded after the training
    assert learnt_from(p, suggest(p, ["D08"], include_coded=True)) == ("alice", 0)



def test_comparing_the_machine_with_its_teacher_is_flagged(trained):
    from autocode.learn import machine_on_training

    p, _ = trained
    suggest(p, ["D01"], include_coded=True)
    coder, seen = machine_on_training(p, ["alice", "machine"])
    assert coder == "alice" and seen > 0
    assert machine_on_training(p, ["bob", "machine"]) == ("", 0)   # bob did not teach it
    assert machine_on_training(p, ["alice", "machine"], ["D07"])[1] == 0   # no suggestions there


def test_a_suggestion_made_before_its_utterance_was_learnt_is_not_flagged(trained, tmp_path):
    """Suggestions for D08 came from a classifier that had not seen alice's codings of D08; a
    later training learnt them, but the stored suggestions are still the earlier classifier's,
    so comparing them with alice is a fair test until D08 is suggested again."""
    from autocode.codings import import_codings
    from autocode.learn import machine_on_training, train

    p, _ = trained
    add_files(p, [DATA / "transcripts" / "D08.txt"])
    suggest(p, ["D08"])
    later = tmp_path / "later.csv"
    later.write_text("document,utterance,code\nD08,1,credibility\nD08,3,credibility\n", encoding="utf-8")
    import_codings(p, later, "alice")
    train(p, "alice", evaluate=False)
    assert machine_on_training(p, ["alice", "machine"], ["D08"]) == ("", 0)
    suggest(p, ["D08"], include_coded=True)   # now by the classifier that learnt them
    assert machine_on_training(p, ["alice", "machine"], ["D08"]) == ("alice", 2)
    skip = {r[0] for r in p.conn.execute("SELECT u.id FROM utterances u WHERE u.document = 'D08' AND u.idx = 1")}
    assert machine_on_training(p, ["alice", "machine"], ["D08"], skip) == ("alice", 1)


def test_suggestions_are_flagged_though_removed_codings_freed_their_ids(trained):
    """SQLite gives new rows the ids of the newest rows deleted: a suggestion with such an id is
    still known as the latest classifier's by its time."""
    from autocode.confirm import remove_codings
    from autocode.learn import machine_on_training

    import time

    p, metrics = trained
    assert p.conn.execute("SELECT coder FROM codings ORDER BY id DESC LIMIT 1").fetchone()[0] == "bob"
    remove_codings(p, "bob")   # the newest rows
    time.sleep(1.1)   # the clock counts seconds
    suggest(p, ["D01"], include_coded=True)
    assert p.conn.execute("SELECT MIN(id) FROM codings WHERE coder = 'machine'").fetchone()[0] <= metrics["last_coding"]
    assert machine_on_training(p, ["alice", "machine"])[1] > 0


def test_suggestions_accepted_unread_teach_but_are_not_scored(trained):
    """Accepting suggestions in bulk then cross-validating would score the classifier on its own
    output; those codings are marked and left out of the figures."""
    from autocode import confirm
    from autocode.confirm import UNREAD

    p, before = trained
    add_files(p, [DATA / "transcripts" / "D08.txt"])
    suggest(p, ["D08"])
    accepted = confirm.accept_above(p, 0.0, ["D08"], "alice")["accepted"]
    assert accepted > 0
    assert p.conn.execute("SELECT COUNT(*) FROM codings WHERE coder = 'alice' AND reason = ?", (UNREAD,)).fetchone()[0] == accepted
    m = train(p, "alice")
    assert m["accepted_unread"] == accepted and m["utterances"] == before["utterances"] + accepted
    assert m["cross_validation"]["codes"]["n_units"] == before["cross_validation"]["codes"]["n_units"]


def test_a_second_coders_codings_leave_utterances_open_for_suggestions(trained, tmp_path):
    """carol double-codes part of D08 for a reliability check; alice, whom the classifier learnt
    from, has not coded it, so the machine still suggests there and can be compared with carol."""
    from autocode import import_codings
    from autocode.learn import next_to_confirm

    p, _ = trained
    add_files(p, [DATA / "transcripts" / "D08.txt"])
    first = p.conn.execute("SELECT idx FROM utterances WHERE document = 'D08' AND is_interviewer = 0 ORDER BY idx").fetchone()[0]
    f = tmp_path / "carol.csv"
    f.write_text(f"document,utterance,code\nD08,{first},credibility\n", encoding="utf-8")
    import_codings(p, f, "carol")
    rows = suggest(p, ["D08"])
    assert first in {r["utterance"] for r in rows}
    assert first in {r["utterance"] for r in next_to_confirm(p, 1000, ["D08"])}


def test_training_on_suggestions_accepted_unread_alone_gives_a_note_not_a_figure(demo_project):
    from autocode import confirm
    from autocode.learn import ALL_UNREAD

    train(demo_project, "alice", evaluate=False)
    suggest(demo_project, ["D01", "D02", "D03"], include_coded=True)
    assert confirm.accept_above(demo_project, 0.0, ["D01", "D02", "D03"], "zoe")["accepted"] > 0
    m = train(demo_project, "zoe")
    assert m["cross_validation"] == {"note": ALL_UNREAD}
