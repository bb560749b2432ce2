"""Multi-label classifier quality at scale: NHS patient feedback (../shared/datasets/nhs-patient-feedback).

    python bench/nhs.py [--shared ../shared] [--work DIR]
                        [--fine-tune [--passes 2 4 8] [--learning-rates 5e-5] [--tuning-loss cross-entropy]
                                     [--precision auto]]

7,406 real comments, each with one or more of the framework's labels. Labels with at least 10
examples are kept (comments left with none are dropped); 80/20 split of comments with seed 0.
autocode's learner (``ThemeClassifier``: bundled MiniLM embedding + TF-IDF words, balanced
logistic regression) is given each comment with all its labels. A comment gets its most likely
label (the softmax over labels) plus every other label whose own yes/no model (learnt because
comments carry several labels) gives it a probability at or above ``extra_threshold``
(``ThemeClassifier.predict_sets``); the threshold is chosen by 3-fold cross-validation on the
training comments only. Each label's name is learnt as one more example of it, as ``autocode
train`` learns a codebook's code names (``--no-names`` leaves them out). Reported: micro- and macro-F1
on the test comments, and the training time (the embeddings are computed once beforehand and
reported separately; ``--work`` keeps them between runs).

With ``--fine-tune`` the embedding model is first tuned on the training comments' labels
(``autocode.finetune``, a comment taught each of its labels), as ``autocode train --fine-tune``
does. How many passes, and whether the classifier reads the general model, the tuned one or
both side by side, are chosen on the training comments only: a model is tuned on 80% of them
(seed 1) for each number of passes in ``--passes`` and each learning rate in
``--learning-rates`` (``fine_tune_learning_rate`` in autocode.toml), and scored on the other 20%
(mean of micro- and macro-F1 at the default threshold). Then the model is tuned on every
training comment with the chosen passes and rate. The tuning is part of the training time
reported. ``--tuning-loss`` is the tuning's loss (``fine_tune_loss`` in autocode.toml; "best" is
not offered: to compare losses, run each and compare their dev lines), ``--precision`` its
arithmetic (``fine_tune_precision``; "auto" is bfloat16 where the processor does it natively).
"""
from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

import numpy as np

from autocode.classify import ThemeClassifier
from autocode.embed import encode
from autocode.finetune import LEARNING_RATE, LOSSES, PRECISION, PRECISIONS, arithmetic, fine_tune
from common import encoded, tuning_tag

REPO = Path(__file__).resolve().parent.parent
FILE = "datasets/nhs-patient-feedback/v6framework_230831.csv"
FIRST_LABEL = "Not assigned"
THRESHOLDS = [0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.6, 1.01]


def load(path: Path, min_examples: int = 10) -> tuple[list[str], np.ndarray, list[str]]:
    rows = list(csv.DictReader(path.open(encoding="utf-8-sig")))
    header = list(rows[0])
    labels = header[header.index(FIRST_LABEL):]
    rows = [r for r in rows if r["FFT answer"].strip()]
    Y = np.asarray([[r[l].strip() in ("1", "1.0") for l in labels] for r in rows])
    keep = Y.sum(axis=0) >= min_examples
    Y, labels = Y[:, keep], [l for l, k in zip(labels, keep) if k]
    has = Y.any(axis=1)
    return [r["FFT answer"].strip() for r, h in zip(rows, has) if h], Y[has], labels


def fit(texts, X, Y, labels, names: np.ndarray | None = None) -> ThemeClassifier:
    """Each label's name (embedded as ``names``) is one more example of it, as ``autocode train``
    learns a codebook's code names (``learn.definitions``); reasons would not quote it."""
    sets = [[labels[j] for j in np.flatnonzero(y)] for y in Y]
    if names is not None:
        texts, X = np.concatenate([texts, np.asarray(labels, dtype=object)]), np.vstack([X, names])
        sets += [[l] for l in labels]
    return ThemeClassifier().fit(texts, sets, embeddings=X, quotable=len(Y))


def predict_sets(clf: ThemeClassifier, texts, X, labels, thresholds: list[float]) -> list[np.ndarray]:
    """For each threshold, the label matrix of ``ThemeClassifier.predict_sets`` at that threshold."""
    clf.extra_threshold = min(thresholds)
    codes = clf.predict(texts, embeddings=X)
    extra = clf.extras(codes, texts, embeddings=X)
    col = {l: j for j, l in enumerate(labels)}
    out = []
    for t in thresholds:
        P = np.zeros((len(texts), len(labels)), dtype=bool)
        for i, (code, more) in enumerate(zip(codes, extra)):
            for c in [code] + [c for c, p in more if p >= t]:
                if c in col:
                    P[i, col[c]] = True
        out.append(P)
    return out


def choose_threshold(texts, X, Y, labels, names: np.ndarray | None = None, seed: int = 0) -> float:
    """The threshold with the best micro-F1 in 3-fold cross-validation on training comments."""
    from sklearn.metrics import f1_score
    from sklearn.model_selection import KFold

    scores = np.zeros(len(THRESHOLDS))
    for train, test in KFold(3, shuffle=True, random_state=seed).split(X):
        clf = fit(texts[train], X[train], Y[train], labels, names)
        for k, P in enumerate(predict_sets(clf, texts[test], X[test], labels, THRESHOLDS)):
            scores[k] += f1_score(Y[test], P, average="micro")
    return THRESHOLDS[int(scores.argmax())]


READINGS = {"general": [0], "tuned": [1], "both": [0, 1]}


def tag(passes: int, loss: str, rate: float = LEARNING_RATE, precision: str = PRECISION) -> str:
    """How a tuned model is named in --work: by passes, and by loss and learning rate unless
    they are the defaults, and "-bf16" when it was tuned in bfloat16 arithmetic."""
    return f"{passes}" + ("" if loss == LOSSES[0] else f"-{loss}") + tuning_tag(rate, precision)


def tuned(texts, Y, labels, rows, passes: int, folder: Path | None, loss: str,
          rate: float = LEARNING_RATE, precision: str = PRECISION) -> tuple[str, float]:
    """A model tuned on ``rows``' labels (kept in ``folder`` when given), and the seconds it took."""
    import tempfile

    folder = folder or Path(tempfile.mkdtemp(prefix="nhs-tuned-")) / "model"
    t0 = time.perf_counter()
    if not (folder / "config.json").is_file():
        fine_tune([texts[i] for i in rows], [[labels[j] for j in np.flatnonzero(Y[i])] for i in rows], folder,
                  epochs=passes, loss=loss, learning_rate=rate, precision=precision)
    return str(folder), time.perf_counter() - t0


def read(texts, labels, model: str | None, work: Path | None, tag: str = "") -> tuple[np.ndarray, np.ndarray]:
    """Comment and label-name embeddings by ``model`` (None: the bundled one); the comments' are
    kept in ``work`` (``tag`` names a tuned model's)."""
    path = work and work / ("nhs-embeddings.npy" if model is None else f"nhs-{tag}.npy")
    return encoded(list(texts), path, model), encode(labels, model)


def side_by_side(models: list[tuple[np.ndarray, np.ndarray]], keep: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """The comment and label-name embeddings of the models ``keep`` (of :func:`read`), side by side."""
    return tuple(np.hstack([models[k][j] for k in keep]) for j in (0, 1))


def choose_tuning(texts, Y, labels, train, general, options: list[int], work: Path | None,
                  loss: str, rates: tuple[float, ...] = (LEARNING_RATE,),
                  precision: str = PRECISION) -> tuple[int, float, str, list[str]]:
    """Passes, learning rate and reading with the best mean of micro- and macro-F1 on a dev
    split of ``train``; ``general`` is the bundled model's :func:`read`."""
    from sklearn.metrics import f1_score

    order = np.random.default_rng(1).permutation(len(train))
    dev, fit_rows = train[order[: len(train) // 5]], train[order[len(train) // 5:]]
    best, lines = None, []
    for passes, rate in [(p, r) for p in options for r in rates]:
        kind = tag(passes, loss, rate, precision)
        folder, seconds = tuned(texts, Y, labels, fit_rows, passes, work and work / f"nhs-dev-tuned-{kind}", loss, rate,
                                precision)
        models = [general, read(texts, labels, folder, work, f"dev-tuned-{kind}")]
        for name, keep in READINGS.items():
            X, names = side_by_side(models, keep)
            P = predict_sets(fit(texts[fit_rows], X[fit_rows], Y[fit_rows], labels, names),
                             texts[dev], X[dev], labels, [0.3])[0]
            f1 = [f1_score(Y[dev], P, average=a, zero_division=0) for a in ("micro", "macro")]
            at = "" if tuple(rates) == (LEARNING_RATE,) else f" at {rate:g}"
            lines.append(f"    {passes} passes{at}, {name:7s}: dev micro-F1 {f1[0]:.3f}, macro-F1 {f1[1]:.3f}"
                         f"  (tuning {seconds:.0f} s)")
            best = max(best or (-1, 0, 0.0, ""), (float(np.mean(f1)), passes, rate, name))
    return *best[1:], lines


def main() -> None:
    from sklearn.metrics import f1_score

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    ap.add_argument("--work", type=Path, help="keep the embeddings here between runs")
    ap.add_argument("--no-names", action="store_true", help="do not learn the label names as examples")
    ap.add_argument("--fine-tune", action="store_true", help="tune the embedding model on the training labels first")
    ap.add_argument("--passes", type=int, nargs="+", default=[2, 4, 8], help="with --fine-tune: passes to choose from")
    ap.add_argument("--learning-rates", type=float, nargs="+", default=[LEARNING_RATE],
                    help="with --fine-tune: the tuning's learning rates to choose from")
    ap.add_argument("--tuning-loss", choices=LOSSES, default=LOSSES[0], help="with --fine-tune: the tuning's loss")
    ap.add_argument("--precision", choices=PRECISIONS, default=PRECISION,
                    help="with --fine-tune: the tuning's arithmetic (fine_tune_precision in autocode.toml)")
    args = ap.parse_args()
    if not (args.shared / FILE).is_file():
        sys.exit(f"{args.shared / FILE} not found: this benchmark needs ../shared")
    texts, Y, labels = load(args.shared / FILE)
    t0 = time.perf_counter()
    general = X, names = read(texts, labels, None, args.work)
    t_embed = time.perf_counter() - t0
    texts = np.asarray(texts, dtype=object)
    order = np.random.default_rng(0).permutation(len(texts))
    test, train = order[: len(order) // 5], order[len(order) // 5:]
    print(f"NHS patient feedback: {len(texts)} comments, {len(labels)} labels with >= 10 examples; "
          f"train {len(train)}, test {len(test)} (seed 0)")
    t_tune = 0.0
    if args.fine_tune:
        passes, rate, reading, lines = choose_tuning(texts, Y, labels, train, general, args.passes, args.work,
                                                     args.tuning_loss, args.learning_rates, args.precision)
        print("  choosing the tuning on 20% of the training comments (model tuned on the other 80%):", *lines, sep="\n")
        kind = tag(passes, args.tuning_loss, rate, args.precision)
        folder, t_tune = tuned(texts, Y, labels, train, passes, args.work and args.work / f"nhs-tuned-{kind}",
                               args.tuning_loss, rate, args.precision)
        t0 = time.perf_counter()
        X, names = side_by_side([general, read(texts, labels, folder, args.work, f"tuned-{kind}")], READINGS[reading])
        t_embed = time.perf_counter() - t0
        print(f"  tuning's arithmetic: {arithmetic(args.precision)}")
        print(f"  kept: {passes} passes at learning rate {rate:g}, reading {reading}; "
              f"tuning on all training comments: {t_tune:.0f} s")
    names = None if args.no_names else names
    t1 = time.perf_counter()
    threshold = choose_threshold(texts[train], X[train], Y[train], labels, names)
    t_choose = time.perf_counter() - t1
    t2 = time.perf_counter()
    clf = fit(texts[train], X[train], Y[train], labels, names)
    t_fit = time.perf_counter() - t2
    pred = predict_sets(clf, texts[test], X[test], labels, [threshold])[0]
    micro = f1_score(Y[test], pred, average="micro")
    macro = f1_score(Y[test], pred, average="macro", zero_division=0)
    print(f"  label names learnt as examples: {'no' if names is None else 'yes'}")
    print(f"  threshold for a second label (3-fold CV on training comments): {threshold}")
    print(f"  test micro-F1 {micro:.3f}, macro-F1 {macro:.3f}")
    print(f"  embedding all comments: {t_embed:.0f} s; training the final model: {t_fit:.0f} s; "
          f"choosing the threshold: {t_choose:.0f} s")
    if args.fine_tune:
        print(f"  training in all (tuning, embedding the training comments with the tuned model, the classifier): "
              f"{t_tune + 0.8 * t_embed + t_fit:.0f} s")


if __name__ == "__main__":
    main()
