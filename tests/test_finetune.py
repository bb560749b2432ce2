"""Fine-tuning the bundled embedding model on a coder's codes: real training, kept short."""
from __future__ import annotations

import numpy as np
import pytest

from autocode import AutocodeError, suggest, train
from autocode.corpus import add_files
from autocode.embed import encode
from autocode.finetune import LOSSES, fine_tune
from autocode.features import inputs, reading
from autocode.learn import TUNED, cross_validate, latest_classifier, training_set
from conftest import DATA, snapshot


@pytest.fixture
def quick(monkeypatch):
    """One pass over the examples, each cut to 48 tokens: the same code path in a fraction of the time."""
    from autocode.store import DEFAULT_SETTINGS

    monkeypatch.setitem(DEFAULT_SETTINGS["classifier"], "fine_tune_passes", 1)
    monkeypatch.setattr("autocode.finetune.MAX_TOKENS", 48)


def _two_codes(p, n=24):
    from collections import Counter

    utts, main, _ = training_set(p.conn, "alice")
    a, b = [c for c, _ in Counter(c for c in main if c).most_common(2)]
    texts = [u.text for u, c in zip(utts, main) if c == a][:n] + [u.text for u, c in zip(utts, main) if c == b][:n]
    return texts, [a] * n + [b] * n


def _separation(vectors, labels) -> float:
    """Mean cosine within a code less mean cosine across codes."""
    sims, same = vectors @ vectors.T, np.equal.outer(labels, labels)
    off = ~np.eye(len(labels), dtype=bool)
    return sims[same & off].mean() - sims[~same].mean()


def test_tuning_pulls_the_coders_codes_apart(demo_project, tmp_path):
    texts, labels = _two_codes(demo_project)
    folder = fine_tune(texts, labels, tmp_path / "tuned", epochs=3)
    assert (folder / "config.json").is_file() and not list(tmp_path.glob(".tuned-*"))  # whole, no leftovers
    before = _separation(encode(texts), np.asarray(labels))
    after = _separation(encode(texts, str(folder)), np.asarray(labels))
    assert after > before + 0.03, (before, after)   # 0.106 -> 0.151 when written


@pytest.mark.parametrize("precision", ["float32", "bfloat16"])
def test_either_arithmetic_pulls_the_codes_apart_and_saves_float32_weights(demo_project, tmp_path, precision):
    import torch
    from sentence_transformers import SentenceTransformer

    texts, labels = _two_codes(demo_project)
    folder = fine_tune(texts, labels, tmp_path / "tuned", epochs=3, precision=precision)
    assert _separation(encode(texts, str(folder)), np.asarray(labels)) > _separation(encode(texts), np.asarray(labels)) + 0.03
    weights = SentenceTransformer(str(folder), device="cpu").state_dict().values()
    assert {w.dtype for w in weights if w.is_floating_point()} == {torch.float32}   # only the arithmetic was halved


def test_bfloat16_arithmetic_is_used_when_asked_for(demo_project, tmp_path):
    import torch
    from sentence_transformers import SentenceTransformer

    texts, labels = _two_codes(demo_project, n=8)
    tuned = [SentenceTransformer(str(fine_tune(texts, labels, tmp_path / p, epochs=1, precision=p)), device="cpu")
             for p in ("float32", "bfloat16", "float32")]
    weights = [list(t.state_dict().values()) for t in tuned]
    same = [all(torch.equal(a, b) for a, b in zip(weights[0], w)) for w in weights[1:]]
    assert same == [False, True]   # the same seed: only the arithmetic differs


def test_auto_precision_is_bfloat16_only_where_the_processor_does_it(monkeypatch):
    from autocode.finetune import arithmetic

    assert arithmetic("float32") == "float32" and arithmetic("bfloat16") == "bfloat16"
    for native, expected in [(True, "bfloat16"), (False, "float32")]:
        monkeypatch.setattr("autocode.finetune._native_bfloat16", lambda: native)
        assert arithmetic("auto") == expected


def test_an_unknown_precision_names_the_setting_and_leaves_nothing(tmp_path):
    with pytest.raises(AutocodeError, match="no precision called 'float16'") as err:
        fine_tune(["a", "b"], ["x", "y"], tmp_path / "tuned", precision="float16")
    assert "fine_tune_precision" in err.value.fix and all(f"'{p}'" in err.value.fix for p in ("auto", "bfloat16", "float32"))
    assert not list(tmp_path.iterdir())


def test_tuning_needs_two_codes_and_leaves_nothing_behind(tmp_path):
    with pytest.raises(AutocodeError, match="two different codes"):
        fine_tune(["a", "b"], ["x", "x"], tmp_path / "tuned")
    assert not list(tmp_path.iterdir())
    with pytest.raises(ValueError, match="labels: expected one label per text"):
        fine_tune(["a", "b"], ["x"], tmp_path / "tuned")
    with pytest.raises(AutocodeError, match="at least one pass"):
        fine_tune(["a", "b"], ["x", "y"], tmp_path / "tuned", epochs=0)
    assert not list(tmp_path.iterdir())


def test_tuning_labels_are_every_theme_or_code_an_utterance_carries():
    from autocode.learn import tuning_labels

    themes = {"a1": "A", "a2": "A", "b1": "B"}
    assert tuning_labels([["a1"], ["a1", "b1"], ["a1", "a2"], [""]], themes) == [("A",), ("A", "B"), ("A",), ("",)]
    assert tuning_labels([["a1"], ["a1", "a2"], [""]], themes) == [("a1",), ("a1", "a2"), ("",)]  # one theme: codes


def test_a_text_with_several_codes_is_taught_each_of_them_equally():
    from autocode.finetune import _targets

    y, classes = _targets(["a", ["a", "b"], ["c"], ("b", "b")])
    assert classes == ["a", "b", "c"]
    assert y.tolist() == [[1, 0, 0], [0.5, 0.5, 0], [0, 0, 1], [0, 1, 0]]


def test_with_one_code_per_text_the_loss_is_torchs_weighted_cross_entropy():
    import torch

    from autocode.finetune import _loss, _targets

    y, _ = _targets(["a", "b", "a", "c", "c"])
    logits, weight = torch.randn(5, 3, generator=torch.Generator().manual_seed(0)), torch.tensor([1.0, 2.0, 0.5])
    expected = torch.nn.functional.cross_entropy(logits, torch.tensor([0, 1, 0, 2, 2]), weight=weight)
    assert torch.isclose(_loss(logits, torch.tensor(y), weight), expected)


def test_the_contrastive_loss_by_hand():
    """A text's log-share of its similarity that goes to its partners (texts sharing a code,
    weighted by the codes in common), averaged over partners and then over texts."""
    import torch

    from autocode.finetune import TEMPERATURE, _contrastive, _targets

    emb = torch.randn(4, 8, generator=torch.Generator().manual_seed(0), requires_grad=True)
    codes = torch.tensor(_targets(["a", "a", ["a", "b"], "c"])[0] > 0)   # "c" has no partner
    z = torch.nn.functional.normalize(emb, dim=1).detach().numpy()
    sim = np.exp(z @ z.T / TEMPERATURE)
    np.fill_diagonal(sim, 0)
    share = np.log(sim / sim.sum(1, keepdims=True) + np.eye(4))
    partners = {0: {1: 1, 2: 0.5}, 1: {0: 1, 2: 0.5}, 2: {0: 0.5, 1: 0.5}}   # Jaccard of their codes
    expected = -np.mean([sum(w * share[i, j] for j, w in js.items()) / sum(js.values()) for i, js in partners.items()])
    loss = _contrastive(emb, codes)
    assert np.isclose(loss.item(), expected, atol=1e-5)
    loss.backward()
    assert torch.isfinite(emb.grad).all() and emb.grad[3].abs().sum() > 0   # "c" is still pushed away


def test_a_batch_where_no_text_has_a_partner_teaches_nothing():
    import torch

    from autocode.finetune import _contrastive, _targets

    emb = torch.randn(3, 8, requires_grad=True)
    loss = _contrastive(emb, torch.tensor(_targets(["a", "b", "c"])[0] > 0))
    loss.backward()
    assert loss.item() == 0 and torch.equal(emb.grad, torch.zeros_like(emb))


@pytest.mark.parametrize("loss", ["contrastive", "combined"])
def test_the_other_losses_pull_the_coders_codes_apart_too(demo_project, tmp_path, loss):
    texts, labels = _two_codes(demo_project)
    folder = fine_tune(texts, labels, tmp_path / "tuned", epochs=3, loss=loss)
    before = _separation(encode(texts), np.asarray(labels))
    after = _separation(encode(texts, str(folder)), np.asarray(labels))
    assert after > before + 0.02, (before, after)   # contrastive 0.106 -> 0.135 when written


def test_the_combined_loss_is_the_two_summed():
    """Neither loss is weighted: the combined objective is cross-entropy (through its layer)
    plus the contrastive loss, on the same batch."""
    import torch

    from autocode.finetune import _contrastive, _objective, _targets

    class Net:  # all _objective asks of the network
        def get_embedding_dimension(self):
            return 8

    y, _ = _targets(["a", "a", ["a", "b"], "b", "c"])
    emb, rows = torch.randn(3, 8, generator=torch.Generator().manual_seed(0)), np.array([0, 2, 3])
    torch.manual_seed(0)
    combined, params = _objective("combined", Net(), y)
    torch.manual_seed(0)
    cross_entropy, same = _objective("cross-entropy", Net(), y)
    assert len(params) == 2 and torch.equal(params[0], same[0])   # the thrown-away layer, once
    expected = cross_entropy(emb, rows) + _contrastive(emb, torch.tensor(y[rows] > 0))
    assert torch.isclose(combined(emb, rows), expected)


def test_the_fused_optimiser_takes_the_plain_ones_steps(monkeypatch):
    """Fusing AdamW is a speed-up only: the same warm-up, decay and updates as the plain one."""
    import torch

    from autocode.finetune import _optimiser

    real, asked = torch.optim.AdamW, []

    def tuned(fused: bool) -> tuple[torch.Tensor, torch.Tensor]:
        monkeypatch.setattr(torch.optim, "AdamW", lambda *a, **k: asked.append(k.get("fused")) or
                            real(*a, **{**k, "fused": fused}))
        torch.manual_seed(0)
        layer, x, target = torch.nn.Linear(8, 3), torch.randn(16, 8), torch.randint(0, 3, (16,))
        before, step = layer.weight.detach().clone(), _optimiser(list(layer.parameters()), 5)
        for _ in range(5):
            step(torch.nn.functional.cross_entropy(layer(x), target))
        return before, layer.weight.detach()

    before, fused = tuned(True)
    _, plain = tuned(False)
    assert asked == [True, True]   # the tuning asks for the fused kernel
    assert not torch.allclose(before, fused) and torch.allclose(fused, plain, atol=1e-6)


def test_the_learning_rate_sets_the_size_of_the_steps():
    """Adam's first steps are about the learning rate in size, whatever the gradient: twice the
    rate, twice as far."""
    import torch

    from autocode.finetune import _optimiser

    moved = []
    for rate in (1e-3, 2e-3):
        torch.manual_seed(0)
        layer, x, target = torch.nn.Linear(8, 3), torch.randn(16, 8), torch.randint(0, 3, (16,))
        before, step = layer.weight.detach().clone(), _optimiser(list(layer.parameters()), 20, rate)
        step(torch.nn.functional.cross_entropy(layer(x), target))
        moved.append((layer.weight.detach() - before).abs().mean().item())
    assert moved[1] == pytest.approx(2 * moved[0], rel=0.05)


@pytest.mark.parametrize("rate", [0.0, -1e-4, 2e4, float("inf"), float("nan")])
def test_a_learning_rate_out_of_range_names_the_setting_and_leaves_nothing(tmp_path, rate):
    with pytest.raises(AutocodeError, match=f"above 0 and at most 0.01, not {rate:g}") as err:
        fine_tune(["a", "b"], ["x", "y"], tmp_path / "tuned", learning_rate=rate)
    assert "fine_tune_learning_rate" in err.value.fix and "5e-05" in err.value.fix
    assert not list(tmp_path.iterdir())


def test_train_refuses_a_bad_learning_rate_or_precision_before_any_work(demo_project, monkeypatch):
    from autocode import Project

    monkeypatch.setattr("autocode.learn.inputs", lambda *a, **k: 1 / 0)   # no embedding may start
    for line, said in [("fine_tune_learning_rate = 2e4", "at most 0.01, not 20000"),
                       ("fine_tune_learning_rate = true", "is true, but should be a number"),
                       ('fine_tune_precision = "half"', "no precision called 'half'")]:
        (demo_project.root / "autocode.toml").write_text(f"[classifier]\n{line}\n", encoding="utf-8")
        with pytest.raises(AutocodeError, match=said):
            train(Project(demo_project.root), "alice", fine_tune=True)


def test_an_unknown_loss_names_the_setting_and_leaves_nothing(tmp_path):
    with pytest.raises(AutocodeError, match="no loss called 'hinge'") as err:
        fine_tune(["a", "b"], ["x", "y"], tmp_path / "tuned", loss="hinge")
    assert "fine_tune_loss" in err.value.fix and all(f"'{l}'" in err.value.fix for l in LOSSES)
    assert not list(tmp_path.iterdir())


def test_tuning_on_texts_with_several_codes_pulls_them_apart_too(demo_project, tmp_path):
    texts, labels = _two_codes(demo_project)
    both = [[labels[0], labels[-1]]] * 4   # four texts carry both codes
    folder = fine_tune(texts + texts[:4], labels + both, tmp_path / "tuned", epochs=3)
    after = _separation(encode(texts, str(folder)), np.asarray(labels))
    assert after > _separation(encode(texts), np.asarray(labels)) + 0.03


def test_train_tunes_with_the_passes_loss_rate_and_precision_the_settings_ask_for(demo_project, monkeypatch):
    from autocode import Project

    p = demo_project
    asked = []
    monkeypatch.setattr("autocode.finetune.fine_tune", lambda *a, epochs=2, loss=None, learning_rate=None,
                        precision=None, **k: asked.append((epochs, loss, learning_rate, precision)) or 1 / 0)
    for line in ["fine_tune_passes = 5", 'fine_tune_loss = "contrastive"', "fine_tune_learning_rate = 2e-4",
                 'fine_tune_precision = "float32"']:
        (p.root / "autocode.toml").write_text(f"[classifier]\n{line}\n", encoding="utf-8")
        with pytest.raises(ZeroDivisionError):
            train(Project(p.root), "alice", evaluate=False, fine_tune=True)
    assert asked == [(5, "cross-entropy", 5e-5, "auto"), (2, "contrastive", 5e-5, "auto"),
                     (2, "cross-entropy", 2e-4, "auto"), (2, "cross-entropy", 5e-5, "float32")]


def test_train_fine_tuned_suggests_through_its_own_model_and_drops_the_old_one(demo_project, quick):
    import shutil

    from autocode import Project

    p = demo_project
    old = p.root / TUNED / "bob-earlier"   # a tuning from an earlier train, with vectors in the cache
    old.mkdir(parents=True)
    with p.transaction() as conn:
        conn.execute("INSERT INTO embeddings (model, text_hash, vector) VALUES (?, 'x', x'00')", (str(old),))
    (p.root / "autocode.toml").write_text("[classifier]\nfine_tune = true\n", encoding="utf-8")
    q = Project(p.root)   # the setting turns tuning on
    m = train(q, "bob", evaluate=False)
    assert m["passes"] == 1   # the quick fixture's default
    assert m["precision"] in ("bfloat16", "float32")   # what "auto" stood for on this machine
    clf, _ = latest_classifier(q.conn)
    tuned = q.root / clf.model   # without cross-validation to choose, it reads with the tuned model
    assert m["fine_tuned"] and m["reading"] == "tuned" and clf.model.startswith(TUNED + "/") and tuned.is_dir()
    cached = lambda folder: q.conn.execute("SELECT COUNT(*) FROM embeddings WHERE model LIKE ?",  # noqa: E731
                                           (f"{folder}%",)).fetchone()[0]
    assert not old.exists() and cached(old) == 0     # the earlier tuning and its vectors are gone
    add_files(q, [DATA / "transcripts" / "D08.txt"])
    rows = suggest(q, ["D08"])
    assert rows and all(r["reason"] for r in rows if r["code"])
    assert cached(tuned) > 0   # the tuned model's vectors are cached like any model's

    # a project that lost its tuned model says so, and changes nothing
    shutil.rmtree(q.root / TUNED)
    before = snapshot(q)
    with pytest.raises(AutocodeError, match="fine-tuned model .* is not in the project") as err:
        suggest(q, ["D08"])
    assert "autocode train --fine-tune" in err.value.fix
    assert snapshot(q) == before
    q.close()


def test_each_cross_validation_fold_tunes_on_its_own_training_documents(demo_project):
    """No fold's figures may come from a model that saw its utterances."""
    p = demo_project
    utts, main, all_codes = training_set(p.conn, "bob")
    inp = inputs(p.conn, utts)
    docs = np.asarray([u.document for u in utts])
    seen = []

    def retuned(rows):
        seen.append(set(docs[rows]))
        return inp, None

    themes = {c: c for c in set(main)}
    cv = cross_validate(inp, main, all_codes, list(docs), themes, retuned=retuned)
    assert len(seen) == cv["folds"] == 2
    held_out = [set(docs) - s for s in seen]
    assert all(held_out) and set().union(*held_out) == set(docs)   # every document scored by a model that never saw it


def test_a_fold_with_a_single_label_reads_with_the_untuned_model(demo_project):
    from autocode.learn import _fold_tuner

    utts, main, _ = training_set(demo_project.conn, "alice")
    one = [i for i, m in enumerate(main) if m == main[0]][:5]
    fold_inp, defs = _fold_tuner(demo_project.conn, utts, [(m,) for m in main], (None, None), 64, {"epochs": 1})(one)   # would raise if it tuned
    plain = inputs(demo_project.conn, utts)
    assert np.allclose(fold_inp.X, np.hstack([plain.X, plain.X]))   # in the tuned model's place too
    again = reading(fold_inp, [1])
    assert np.allclose(again.X, plain.X) and np.allclose(again.context, plain.context)
    assert defs is not None and len(defs.texts) == len(defs.codes) and defs.X.shape[1] == 2 * plain.X.shape[1]


def test_a_single_label_fold_reads_another_model_untuned_and_caches_none_of_it(demo_project, tmp_path):
    """With fine_tune_model set, a fold that cannot be tuned reads that model as it is; its
    vectors are not the project's, so they stay out of the project's cache."""
    import shutil

    from autocode.embed import resolve_model
    from autocode.learn import _fold_tuner

    base = tmp_path / "bigger"
    shutil.copytree(resolve_model(None), base)
    utts, main, _ = training_set(demo_project.conn, "alice")
    utts, main = utts[:60], main[:60]   # a few suffice: every one is embedded by a model with no cache
    one = [i for i, m in enumerate(main) if m == main[0]][:5]
    fold_inp, defs = _fold_tuner(demo_project.conn, utts, [(m,) for m in main], (None, str(base)), 64, {"epochs": 1})(one)
    plain = inputs(demo_project.conn, utts)
    d = plain.X.shape[1]
    assert fold_inp.widths == (d, d) and np.allclose(fold_inp.X, np.hstack([plain.X, plain.X]), atol=1e-5)
    assert defs.widths == (d, d)
    assert demo_project.conn.execute("SELECT COUNT(*) FROM embeddings WHERE model LIKE '%bigger%'").fetchone()[0] == 0


def test_a_tuned_fold_reads_with_the_plain_model_and_its_own_side_by_side(demo_project, quick):
    from autocode.learn import _fold_tuner

    utts, main, _ = training_set(demo_project.conn, "alice")
    utts, main = utts[:120], main[:120]   # every one is embedded by the tuned model
    rows = [i for i, m in enumerate(main) if m][:40]
    assert len({main[i] for i in rows}) > 1
    fold_inp, defs = _fold_tuner(demo_project.conn, utts, [(m,) for m in main], (None, None), 64, {"epochs": 1})(rows)
    plain = inputs(demo_project.conn, utts)
    d = plain.X.shape[1]
    assert fold_inp.X.shape[1] == defs.X.shape[1] == 2 * d
    assert np.allclose(fold_inp.X[:, :d], plain.X) and not np.allclose(fold_inp.X[:, d:], plain.X)
    assert np.allclose(fold_inp.context[:, 2 * d:3 * d], plain.context[:, d:2 * d])  # the next part, plain half


def test_train_keeps_the_general_model_alone_when_cross_validation_says_so(demo_project, monkeypatch):
    """When tuning did not pay in cross-validation, the classifier reads as an untuned one, and
    the tuning and its cached vectors are dropped."""
    import shutil

    from autocode import learn
    from autocode.embed import resolve_model

    def fake_tuning(project, utts, labels, model, coder, passes):   # a "tuned" model that is a copy of the general one
        tuned.append(1)
        shutil.copytree(resolve_model(None), project.root / TUNED / "alice-copy")
        return f"{TUNED}/alice-copy"

    tuned = []

    monkeypatch.setattr(learn, "_tune_into", fake_tuning)
    monkeypatch.setattr(learn, "_fold_tuner", lambda conn, utts, labels, model, batch, passes: None)
    monkeypatch.setattr(learn, "choose_reading", lambda *a, **k: {"reading": "general", "readings": {
        "general": 0.6, "tuned": 0.5, "both": 0.55}, "cross_validation": {"note": "faked"}})
    p = demo_project
    m = train(p, "alice", fine_tune=True)
    clf, _ = latest_classifier(p.conn)
    assert m["reading"] == "general" and clf.model == p.setting("embedding", "model")
    assert not tuned and not (p.root / TUNED / "alice-copy").exists()   # no final tuning: nothing would read it
    assert p.conn.execute("SELECT COUNT(*) FROM embeddings WHERE model LIKE ?",
                          (f"%{TUNED}/alice-copy%",)).fetchone()[0] == 0
    add_files(p, [DATA / "transcripts" / "D08.txt"])
    assert suggest(p, ["D08"])   # reads with the general model: nothing missing


def test_the_train_command_says_which_reading_it_kept():
    from autocode.cli_train import _tuning_words

    words = _tuning_words({"reading": "both", "readings": {"general": 0.61, "tuned": 0.64, "both": 0.66}})
    assert "general embedding model alone 0.61" in words and "reads with both models side by side" in words
    assert "fine-tuned/ folder" in words
    assert "fine-tuned/ folder" not in _tuning_words({"reading": "general", "readings": {"general": 0.7, "tuned": 0.6,
                                                                                         "both": 0.65}})
    assert "(8 passes over them)" in _tuning_words({"reading": "tuned", "passes": 8, "learning_rate": 5e-5})
    assert "(1 pass over them, learning rate 0.0002)" in _tuning_words({"reading": "tuned", "passes": 1,
                                                                        "learning_rate": 2e-4})
    assert "(2 passes over them, contrastive loss)" in _tuning_words({"reading": "tuned", "passes": 2,
                                                                      "tuning_loss": "contrastive"})
    assert "(2 passes over them, in bfloat16 arithmetic)" in _tuning_words({"reading": "tuned", "passes": 2,
                                                                            "precision": "bfloat16"})
    assert "arithmetic" not in _tuning_words({"reading": "tuned", "passes": 2, "precision": "float32"})

    losses = {"reading": "both", "readings": {"general": 0.6, "tuned": 0.59, "both": 0.61}, "passes": 2,
              "tuning_loss": "combined", "losses": {"cross-entropy": 0.6, "contrastive": 0.605, "combined": 0.61}}
    words = _tuning_words(losses)
    assert "(2 passes over them, combined loss)" in words
    assert "tuned with each loss and kept combined" in words and "contrastive 0.60" in words


def _fake_cross_validation(monkeypatch, kappas: dict):
    """choose_tuning's folds without tuning: each loss's kept reading scores ``kappas[loss]``."""
    from autocode import learn

    tried = []
    monkeypatch.setattr(learn, "_fold_tuner", lambda conn, utts, labels, model, batch, tuning: tried.append(tuning) or tuning["loss"])
    score = lambda loss: {"reading": "both", "readings": {"general": 0.5, "both": kappas[loss]},  # noqa: E731
                          "cross_validation": {"loss": loss}}
    return tried, score


def test_best_loss_cross_validates_each_loss_and_keeps_the_one_that_agreed_best(monkeypatch):
    from autocode.learn import CHOOSE_LOSS, choose_tuning

    kappas = {"cross-entropy": 0.58, "contrastive": 0.61, "combined": 0.61}
    tried, score = _fake_cross_validation(monkeypatch, kappas)
    chosen = choose_tuning(None, [], [], None, 64, {"epochs": 3, "loss": CHOOSE_LOSS}, score)
    assert [t["loss"] for t in tried] == list(LOSSES) and all(t["epochs"] == 3 for t in tried)
    assert chosen["tuning_loss"] == "contrastive"   # a tie goes to the earlier loss
    assert chosen["losses"] == kappas and chosen["cross_validation"] == {"loss": "contrastive"}


def test_a_named_loss_is_the_only_one_cross_validated(monkeypatch):
    from autocode.learn import choose_tuning

    tried, score = _fake_cross_validation(monkeypatch, {"combined": 0.6})
    chosen = choose_tuning(None, [], [], None, 64, {"epochs": 2, "loss": "combined"}, score)
    assert [t["loss"] for t in tried] == ["combined"] and chosen["tuning_loss"] == "combined"
    assert "losses" not in chosen


def test_best_loss_without_cross_validation_tunes_with_the_default_loss(demo_project, monkeypatch):
    from autocode import Project

    p = demo_project
    asked = []
    monkeypatch.setattr("autocode.finetune.fine_tune", lambda *a, epochs=2, loss=None, **k: asked.append(loss) or 1 / 0)
    (p.root / "autocode.toml").write_text("[classifier]\nfine_tune_loss = \"best\"\n", encoding="utf-8")
    with pytest.raises(ZeroDivisionError):
        train(Project(p.root), "alice", evaluate=False, fine_tune=True)
    assert asked == [LOSSES[0]]


def test_an_unknown_loss_in_the_settings_is_refused_before_any_tuning(demo_project, monkeypatch):
    from autocode import Project

    p = demo_project
    monkeypatch.setattr("autocode.finetune.fine_tune", lambda *a, **k: 1 / 0)
    (p.root / "autocode.toml").write_text("[classifier]\nfine_tune_loss = \"hinge\"\n", encoding="utf-8")
    with pytest.raises(AutocodeError, match="no loss called 'hinge'") as err:
        train(Project(p.root), "alice", fine_tune=True)
    assert all(f"'{name}'" in err.value.fix for name in (*LOSSES, "best"))


def test_train_with_the_best_loss_tunes_every_fold_with_each_loss(demo_project, quick, monkeypatch):
    """End to end on the bundled model: each loss is cross-validated on folds tuned for it, and
    the classifier reads as the loss and reading kept."""
    from autocode import Project, finetune

    p, asked, real = demo_project, [], finetune.fine_tune
    monkeypatch.setattr(finetune, "fine_tune", lambda *a, **k: asked.append(k["loss"]) or real(*a, **k))
    (p.root / "autocode.toml").write_text("[classifier]\nfine_tune_loss = \"best\"\nborrowed_weight = 0\n",
                                          encoding="utf-8")
    q = Project(p.root)
    with q.transaction() as conn:   # bob coded two transcripts (two folds); 20 utterances of each will do
        conn.execute("DELETE FROM codings WHERE coder = 'bob' AND utterance IN (SELECT id FROM utterances u "
                     "WHERE (SELECT COUNT(*) FROM utterances v WHERE v.document = u.document AND v.idx < u.idx) >= 20)")
    m = train(q, "bob", fine_tune=True)
    folds = m["cross_validation"]["folds"]
    assert set(m["losses"]) == set(LOSSES) and m["losses"][m["tuning_loss"]] == max(m["losses"].values())
    final = 0 if m["reading"] == "general" else 1
    assert sorted(asked) == sorted([*LOSSES] * folds + [m["tuning_loss"]] * final)
    clf, _ = latest_classifier(q.conn)
    assert (clf.model == q.setting("embedding", "model")) == (m["reading"] == "general")
    q.close()


@pytest.mark.parametrize("line, said", [('fine_tune_reading = "general"', "is 'general'; it can be 'auto', 'tuned' or 'both'"),
                                        ('fine_tune_model = "no-such-folder"', "no-such-folder is not the folder of a"),
                                        ('fine_tune_model = "."', "is '.', but .* is not the folder of a")])
def test_train_refuses_a_bad_tuning_model_or_reading_before_any_work(demo_project, monkeypatch, line, said):
    from autocode import Project

    monkeypatch.setattr("autocode.learn.inputs", lambda *a, **k: 1 / 0)   # no embedding may start
    (demo_project.root / "autocode.toml").write_text(f"[classifier]\n{line}\n", encoding="utf-8")
    before = snapshot(demo_project)
    with pytest.raises(AutocodeError, match=said) as err:
        train(Project(demo_project.root), "alice", fine_tune=True)
    assert "autocode.toml" in str(err.value) and ("'both'" in err.value.fix or "remove the line" in err.value.fix)
    assert "Traceback" not in str(err.value)
    assert snapshot(demo_project) == before


def test_a_fixed_reading_is_the_only_one_cross_validated(demo_project, monkeypatch):
    """fine_tune_reading = "both" skips the choice: cross-validation scores that reading alone."""
    from autocode import Project, learn

    asked = []
    monkeypatch.setattr(learn, "_fold_tuner", lambda *a: None)
    monkeypatch.setattr(learn, "cross_validate", lambda *a, readings=None, **k: asked.append(readings) or {
        n: {"themes": {"cohen_kappa": 0.5}, "codes": {"cohen_kappa": 0.5}} for n in readings})
    monkeypatch.setattr(learn, "_tune_into", lambda *a: 1 / 0)   # stop once the reading is settled
    (demo_project.root / "autocode.toml").write_text('[classifier]\nfine_tune_reading = "both"\n', encoding="utf-8")
    with pytest.raises(ZeroDivisionError):
        train(Project(demo_project.root), "alice", fine_tune=True)
    assert asked == [{"both": [0, 1]}]


def test_the_train_command_says_a_fixed_reading_was_asked_for_not_chosen():
    from autocode.cli_train import _tuning_words

    words = _tuning_words({"reading": "both", "reading_asked": "both", "readings": {"both": 0.71}})
    assert "both models side by side 0.710" in words and "because 'fine_tune_reading' in autocode.toml asks for it" in words
    assert "general embedding model alone" not in words


def test_a_model_of_its_own_is_tuned_and_read_beside_the_projects(demo_project, quick):
    """fine_tune_model names another model to tune (here a copy of the bundled one in the
    project folder, named relative to it); with fine_tune_reading = "both" the classifier reads
    the project's model as it is beside that tuned one, and says so."""
    import shutil

    from autocode import Project
    from autocode.cli_train import _tuning_words
    from autocode.embed import resolve_model

    p = demo_project
    shutil.copytree(resolve_model(None), p.root / "bigger")
    (p.root / "autocode.toml").write_text('[classifier]\nfine_tune_model = "bigger"\nfine_tune_reading = "both"\n',
                                          encoding="utf-8")
    q = Project(p.root)
    with q.transaction() as conn:   # alice's codings of two transcripts will do: tuning reads them all
        conn.execute("DELETE FROM codings WHERE coder = 'alice' AND utterance IN (SELECT id FROM utterances "
                     "WHERE document NOT IN ('D01', 'D02'))")
    m = train(q, "alice", evaluate=False, fine_tune=True)
    clf, _ = latest_classifier(q.conn)
    assert m["reading"] == "both" and m["tuned_from"] == str((p.root / "bigger").resolve())
    assert clf.model[0] == q.setting("embedding", "model") and clf.model[1].startswith(TUNED + "/")
    assert (q.root / clf.model[1]).is_dir()
    words = _tuning_words(m)
    assert "The model in" in words and "bigger was first tuned" in words
    assert "reads with the project's embedding model and the tuned one side by side" in words
    add_files(q, [DATA / "transcripts" / "D08.txt"])
    rows = suggest(q, ["D08"])
    assert rows and all(r["code"] is not None for r in rows)


def test_tuning_settings_left_on_without_tuning_are_named(demo_project):
    from autocode import Project
    from autocode.learn import idle_tuning_settings

    (demo_project.root / "autocode.toml").write_text('[classifier]\nfine_tune_model = "bigger"\nfine_tune_passes = 2\n',
                                                     encoding="utf-8")
    p = Project(demo_project.root)
    assert idle_tuning_settings(p, None) == ["fine_tune_model"]   # the default passes say nothing
    assert idle_tuning_settings(p, True) == []
