"""ThemeClassifier: scikit-learn-style API, real embeddings, safe save/load."""
from __future__ import annotations

import zipfile

import numpy as np
import pytest

from autocode import AutocodeError, ThemeClassifier
from autocode.embed import encode

TEXTS = [
    "She has been there herself, so patients trust her straight away.",
    "Service users open up to someone with lived experience.",
    "They believe her because she has been through it.",
    "The pay is terrible, it's a band three post for skilled work.",
    "I worry they are being used as cheap labour to plug gaps.",
    "Volunteers doing a job that should be paid is exploitation.",
    "We still don't know what the peer worker is supposed to do.",
    "Nobody on the team could tell you what her role is.",
    "The job description was vague and nobody defined the role.",
]
LABELS = ["credibility"] * 3 + ["cost_and_exploitation"] * 3 + ["unclear_role"] * 3


@pytest.fixture(scope="module")
def fitted() -> ThemeClassifier:
    themes = {"credibility": "lived_experience", "cost_and_exploitation": "contribution", "unclear_role": "role_ambiguity"}
    return ThemeClassifier(C=4.0, themes=themes).fit(TEXTS, LABELS)


def test_constructor_only_stores_parameters():
    clf = ThemeClassifier(model="x", C=3.0)
    assert (clf.model, clf.C) == ("x", 3.0)
    assert not hasattr(clf, "classes_")


def test_fit_returns_self_and_learns_classes(fitted):
    assert list(fitted.classes_) == ["cost_and_exploitation", "credibility", "unclear_role"]
    # embedding, weighted context embedding, then one weight per word or word pair
    assert fitted.coef_.shape == (3, 384 * 2 + len(fitted.vocabulary_)) and "pay" in fitted.vocabulary_


def test_predicts_unseen_paraphrases_with_real_embeddings(fitted):
    new = ["Patients relate to her because she has lived it.",
           "Paying them so little is exploiting them.",
           "I honestly have no idea what a peer support worker does day to day."]
    assert list(fitted.predict(new)) == ["credibility", "cost_and_exploitation", "unclear_role"]


def test_predict_proba_rows_sum_to_one(fitted):
    proba = fitted.predict_proba(TEXTS[:4])
    assert proba.shape == (4, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)


def test_embeddings_can_be_given_instead_of_texts(fitted):
    X = encode(TEXTS[:3])
    np.testing.assert_allclose(fitted.predict_proba(TEXTS[:3], embeddings=X), fitted.predict_proba(TEXTS[:3]), atol=1e-5)


def test_nearest_examples_are_the_reason(fitted):
    X = encode(["Patients trust someone who has been there."])
    [reason] = fitted.nearest_examples(X, ["credibility"], k=2)
    assert len(reason) == 2
    assert all(text in TEXTS[:3] for text, _ in reason)
    assert reason[0][1] >= reason[1][1]


def test_save_and_load_give_identical_predictions(fitted, tmp_path):
    path = fitted.save(tmp_path / "model.npz")
    loaded = ThemeClassifier.load(path)
    np.testing.assert_allclose(loaded.predict_proba(TEXTS), fitted.predict_proba(TEXTS), atol=1e-6)
    assert loaded.theme_of("credibility") == "lived_experience"
    assert loaded.examples_text_ == fitted.examples_text_


def test_saved_model_holds_no_pickles(fitted, tmp_path):
    path = fitted.save(tmp_path / "model.npz")
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
    assert sorted(names) == ["coef.npy", "examples_X.npy", "idf.npy", "intercept.npy", "meta.npy",
                             "theme_coef.npy", "theme_intercept.npy"]
    # allow_pickle=False would raise if any array needed unpickling
    arrays = np.load(path, allow_pickle=False)
    assert all(arrays[n].dtype != object for n in arrays.files)


def test_code_is_chosen_within_the_predicted_theme(fitted):
    codes, confidence = fitted.suggest(["Patients relate to her because she has lived it."])
    assert fitted.theme_of(codes[0]) == "lived_experience"
    assert 0 < confidence[0] <= 1
    assert fitted.theme_classes_ is not None


def test_without_themes_there_is_no_theme_model():
    clf = ThemeClassifier().fit(TEXTS, LABELS)
    assert clf.theme_coef_ is None
    codes, confidence = clf.suggest(TEXTS[:2])
    np.testing.assert_allclose(confidence, clf.predict_proba(TEXTS[:2]).max(axis=1))


def test_context_changes_the_decision():
    """A short answer is read through the question before it."""
    clf = ThemeClassifier(C=10, words=False).fit(
        ["Yes, definitely."] * 2 + ["No, not at all."] * 2, ["credibility", "unclear_role"] * 2,
        context=encode(["Do patients trust peer workers?", "Is the role clear to your team?"] * 2))
    asked = encode(["Do service users trust them more?", "Does the team know what the role is?"])
    assert list(clf.predict(["Yes, definitely.", "Yes, definitely."], context=asked)) == ["credibility", "unclear_role"]


def test_a_model_reads_only_the_context_it_learnt_from():
    """A classifier trained on the utterance before keeps working when given more context
    (projects and saved models from before the context grew), and missing parts are zeros."""
    before = encode(["Do patients trust peer workers?", "Is the role clear to your team?"] * 2)
    clf = ThemeClassifier(C=10, words=False).fit(
        ["Yes, definitely."] * 2 + ["No, not at all."] * 2, ["credibility", "unclear_role"] * 2, context=before)
    wider = np.hstack([before, np.ones_like(before), np.ones_like(before)])
    np.testing.assert_allclose(clf.predict_proba(["Yes."] * 4, context=wider), clf.predict_proba(["Yes."] * 4, context=before))
    loaded = ThemeClassifier.from_bytes(clf.to_bytes())
    assert loaded.context_parts_ == 1 and list(loaded.predict(["Yes."] * 4, context=wider)) == list(clf.predict(["Yes."] * 4, context=before))
    two = ThemeClassifier(C=10, words=False).fit(["Yes."] * 2 + ["No."] * 2, ["a", "b"] * 2, context=wider[:, :768])
    assert two.context_parts_ == 2 and two.predict_proba(["Yes."], context=before[:1]).shape == (1, 2)


def test_words_alone_can_be_switched_off():
    clf = ThemeClassifier(words=False, context_weight=0).fit(TEXTS, LABELS)
    assert clf.coef_.shape == (3, 384) and clf.vocabulary_ == []


def test_two_classes_work_like_many(tmp_path):
    clf = ThemeClassifier().fit(TEXTS[:6], LABELS[:6])
    assert clf.coef_.shape[0] == 2
    assert list(clf.predict(["They are cheap labour."])) == ["cost_and_exploitation"]
    again = ThemeClassifier.load(clf.save(tmp_path / "m.npz"))
    assert list(again.predict(["They are cheap labour."])) == ["cost_and_exploitation"]


def test_one_class_is_refused_plainly():
    with pytest.raises(AutocodeError, match="at least two different codes"):
        ThemeClassifier().fit(TEXTS[:3], LABELS[:3])


def test_labels_must_match_texts():
    with pytest.raises(ValueError, match="labels"):
        ThemeClassifier().fit(TEXTS, LABELS[:-1])


def test_unfitted_classifier_says_so():
    with pytest.raises(AutocodeError, match="not been trained"):
        ThemeClassifier().predict(["x"])


def test_loading_a_non_model_file_is_a_plain_error(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a model")
    with pytest.raises(AutocodeError, match="not an autocode classifier"):
        ThemeClassifier.load(bad)


def test_assess_adds_uncertainty_to_suggest(fitted):
    texts = ["Patients relate to her because she has lived it.", "It depends, really."]
    codes, confidence, uncertainty = fitted.assess(texts)
    same_codes, same_confidence = fitted.suggest(texts)
    assert list(codes) == list(same_codes) and np.allclose(confidence, same_confidence)
    assert ((0 <= uncertainty) & (uncertainty <= 1)).all()
    assert uncertainty[1] > uncertainty[0]   # a vague answer is less certain than a clear one


def test_driving_words_are_the_words_that_point_to_the_code(fitted):
    [words] = fitted.driving_words(["The pay is terrible and it is cheap labour."], ["cost_and_exploitation"])
    assert 1 <= len(words) <= 3 and any("pay" in w or "cheap" in w for w in words)
    [none] = fitted.driving_words(["Absolutely unrelated gibberish zzz."], ["credibility"])
    assert none == []


MIXED = [  # the NHS comments' situation: a comment can praise the staff and complain about waiting
    ("The nurses were kind and caring", ["staff"]), ("Staff were friendly and helpful", ["staff"]),
    ("Lovely doctor who listened to me", ["staff"]), ("The receptionist was rude", ["staff"]),
    ("I waited three hours to be seen", ["waiting"]), ("The wait for an appointment was far too long", ["waiting"]),
    ("Delays everywhere, nobody was seen on time", ["waiting"]), ("Two weeks to get an appointment", ["waiting"]),
    ("Kind staff but a very long wait", ["staff", "waiting"]),
    ("The nurse was lovely, though we waited for hours", ["staff", "waiting"]),
    ("Friendly doctor, shame about the four hour delay", ["staff", "waiting"]),
    ("The car park was full", ["parking"]), ("Nowhere to park and the parking fees are high", ["parking"]),
    ("Parking is impossible", ["parking"]),
]


def test_an_utterance_can_be_given_two_codes_and_get_two_back(tmp_path):
    texts, labels = [t for t, _ in MIXED], [c for _, c in MIXED]
    clf = ThemeClassifier(context_weight=0).fit(texts, labels)
    assert list(clf.extra_classes_) == ["parking", "staff", "waiting"]
    new = ["Helpful staff but the wait was endless", "The parking was awful"]
    got = clf.predict_sets(new)
    assert sorted(got[0]) == ["staff", "waiting"] and got[1] == ["parking"]
    again = ThemeClassifier.load(clf.save(tmp_path / "m.npz"))
    assert again.predict_sets(new) == got
    assert again.extras(["staff"], new[:1])[0][0][0] == "waiting"


def test_one_code_per_utterance_gives_one_code_back():
    clf = ThemeClassifier(context_weight=0).fit([t for t, _ in MIXED[:8]], [c[0] for _, c in MIXED[:8]])
    assert clf.extra_coef_ is None
    assert all(len(s) == 1 for s in clf.predict_sets(["Kind staff but a very long wait"]))


def test_no_code_has_no_companions():
    texts = [t for t, _ in MIXED] + ["Thanks for having me", "Hello there", "Okay, shall we start?"]
    labels = [c for _, c in MIXED] + [[""]] * 3
    clf = ThemeClassifier(context_weight=0, extra_threshold=0.0).fit(texts, labels)
    assert clf.extras([""], ["Hello, thanks"]) == [[]]


def test_rows_past_quotable_teach_but_are_never_quoted():
    X = np.eye(4, dtype=np.float32)
    clf = ThemeClassifier(words=False, context_weight=0).fit(["a", "b", "def a", "def b"], ["x", "y", "x", "y"],
                                                               embeddings=X, quotable=2)
    assert clf.examples_text_ == ["a", "b"] and clf.examples_label_ == ["x", "y"]
    assert clf.examples_X_.shape == (2, 4)
    assert list(clf.predict(embeddings=X[2:])) == ["x", "y"]


def test_theme_weight_blends_the_theme_model_with_the_code_models_themes():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 8)).astype(np.float32)
    codes = list(rng.choice(["a1", "a2", "b1", "b2"], 80))       # noisy labels: the two models disagree at times
    themes = {"a1": "A", "a2": "A", "b1": "B", "b2": "B"}
    clf = ThemeClassifier(words=False, context_weight=0, themes=themes).fit(None, codes, embeddings=X)
    assert clf.theme_weight == 0.75
    T = rng.normal(size=(300, 8)).astype(np.float32)
    P = clf.predict_proba(embeddings=T)
    in_a = np.asarray([clf.theme_of(c) == "A" for c in clf.classes_])
    by_codes = np.where(P[:, in_a].sum(axis=1) > P[:, ~in_a].sum(axis=1), "A", "B")
    T_logits = T @ clf.theme_coef_.T + clf.theme_intercept_
    by_theme_model = clf.theme_classes_[T_logits.argmax(axis=1)]
    assert (by_codes != by_theme_model).any()
    themes_at = {}
    for w in (0.0, 0.75, 1.0):
        clf.theme_weight = w
        themes_at[w] = np.asarray([clf.theme_of(c) for c in clf.predict(embeddings=T)])
    assert (themes_at[0.0] == by_codes).all() and (themes_at[1.0] == by_theme_model).all()
    assert 0 < (themes_at[0.75] != themes_at[1.0]).sum() < (by_codes != by_theme_model).sum() + 1
    assert ThemeClassifier.from_bytes(clf.to_bytes()).theme_weight == 1.0


def test_a_classifier_reading_two_models_side_by_side_quotes_cosine_similarities():
    """A fine-tuned classifier reads the bundled and the tuned model side by side; the similarity
    shown in a reason must still read as a cosine (at most 1), not the sum of two."""
    E = encode(TEXTS)
    one = ThemeClassifier(C=4.0).fit(TEXTS, LABELS, embeddings=E)
    two = ThemeClassifier(model=[None, None], C=4.0).fit(TEXTS, LABELS, embeddings=np.hstack([E, E]))
    q = encode(["Patients trust someone who has been there."])
    [a], [b] = one.nearest_examples(q, ["credibility"]), two.nearest_examples(np.hstack([q, q]), ["credibility"])
    assert [t for t, _ in a] == [t for t, _ in b] and np.allclose([s for _, s in a], [s for _, s in b], atol=1e-5)
    assert two.suggest(["Patients trust someone who has been there."])[0] == "credibility"  # texts read by both


def test_a_model_list_survives_saving(tmp_path):
    E = encode(TEXTS)
    clf = ThemeClassifier(model=[None, "fine-tuned/alice"], C=4.0).fit(TEXTS, LABELS, embeddings=np.hstack([E, E]))
    assert ThemeClassifier.load(clf.save(tmp_path / "m.npz")).model == [None, "fine-tuned/alice"]


def test_an_utterance_leans_on_the_rest_of_its_answer(fitted):
    """An utterance that says little on its own takes the theme of the answer it belongs to;
    alone in its answer, or with answer_weight 0, it reads as before."""
    answer = ["Patients trust her because she has been through it herself.", "That is how it is.",
              "Service users believe someone with lived experience."]
    assert fitted.predict(answer)[1] != "credibility"  # alone, it says nothing of credibility
    assert list(fitted.predict(answer, answers=[7, 7, 7])) == ["credibility"] * 3
    np.testing.assert_array_equal(fitted.predict(answer, answers=[1, 2, 3]), fitted.predict(answer))
    fitted.answer_weight = 0.0
    try:
        np.testing.assert_allclose(fitted.assess(answer, answers=[7, 7, 7])[1], fitted.assess(answer)[1])
    finally:
        fitted.answer_weight = 0.5


def test_answer_mixing_takes_the_mean_of_the_other_utterances():
    from autocode.classify import _within_answers

    p = np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5], [0.2, 0.8]])
    mixed = _within_answers(p, ["a", "a", "a", "b"], 0.5)
    np.testing.assert_allclose(mixed[0], 0.5 * p[0] + 0.5 * (p[1] + p[2]) / 2)
    np.testing.assert_allclose(mixed[3], p[3])  # alone in its answer
    np.testing.assert_allclose(mixed.sum(axis=1), 1.0)
    assert _within_answers(p, None, 0.5) is p and _within_answers(p, [1, 1, 1, 1], 0.0) is p
    with pytest.raises(ValueError, match=r"answers: expected one per row \(4\), got 3"):
        _within_answers(p, ["a", "a", "b"], 0.5)


def test_answer_weight_survives_saving_and_old_models_read_alone(fitted, tmp_path):
    import io
    import json

    fitted.answer_weight = 0.3
    try:
        assert ThemeClassifier.load(fitted.save(tmp_path / "m.npz")).answer_weight == 0.3
    finally:
        fitted.answer_weight = 0.5
    arrays = dict(np.load(io.BytesIO(fitted.to_bytes()), allow_pickle=False))
    meta = json.loads(arrays["meta"].tobytes().decode("utf-8"))
    del meta["answer_weight"]  # as saved before the weight existed
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    assert ThemeClassifier.from_bytes(buf.getvalue()).answer_weight == 0.0


def test_a_row_of_weight_two_counts_as_that_row_twice():
    """Borrowed codes count half: weights must mean what duplicating rows means, in the code
    model, the theme model and the yes/no models of utterances with two codes."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 8))
    y = [["a", "b", "c"][int(v > 0) + int(v > 1)] for v in X[:, 0] + rng.normal(scale=0.8, size=60)]
    y[0], y[5] = ["a", "c"], ["b", "c"]   # two utterances with two codes
    make = lambda: ThemeClassifier(class_weight=None, words=False, context_weight=0, themes={"a": "T1", "b": "T1", "c": "T2"})
    weighted = make().fit(None, y, embeddings=X, sample_weight=[2.0] + [1.0] * 59)
    doubled = make().fit(None, [y[0]] + y, embeddings=np.vstack([X[:1], X]))
    plain = make().fit(None, y, embeddings=X)
    for part in ("coef_", "theme_coef_", "extra_coef_"):
        assert np.allclose(getattr(weighted, part), getattr(doubled, part), atol=1e-3), part
        assert not np.allclose(getattr(weighted, part), getattr(plain, part), atol=1e-3), part


def test_borrowed_rows_count_half_and_coded_ones_fully():
    from autocode.learn import BORROWED, row_weights

    assert row_weights([0, 5, 2, 7], 3).tolist() == [1.0, BORROWED, 1.0, BORROWED] and BORROWED == 0.5
    assert row_weights([0, 1], None) is None
