"""Issue 5: ideas measured on training transcripts and not adopted, kept so the figures can be rerun.

    python bench/variants.py [--shared ../shared] [--work DIR] [--only psw|annomi]

Each variant changes one thing in autocode's learner as ``autocode train`` fits it (codebook
definitions, answer mixing at 0.5) and is scored as ``bench/answers.py`` scores the answer
weight: theme (or code) kappa in 5-fold document cross-validation over the **training**
transcripts only, where a choice would be made, and on the held-out transcripts, reported and
never used to choose. Corpora: the reference study's two seed-0 splits (bench/psw.py's and
bench/active_learning.py's), AnnoMI therapist behaviour and client talk type (bench/annomi.py's).

- ``C``: the logistic regressions' inverse regularisation (1 is the default);
- ``transcript``: each utterance's deciding probabilities also mixed, at this weight, with the
  mean of the rest of its transcript (a participant's emphasis), after the answer mixing;
- ``neighbours``: the code probabilities mixed geometrically, at this weight, with a vote of the
  10 most similar coded utterances (embedding cosine, each code's votes divided by its count);
- ``position``: where in the transcript an utterance falls (10 soft bins over 0..1) as features,
  since a semi-structured interview follows its guide.

The variants the library lacks are put in by replacing one function of ``autocode.classify``
for the length of a run, so the learner is otherwise exactly the one that ships.
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import sys
from pathlib import Path

import numpy as np
from scipy import sparse

sys.path.insert(0, str(Path(__file__).resolve().parent))
import active_learning as al  # noqa: E402
import answers  # noqa: E402
from common import work_folder  # noqa: E402
from psw import TEST_DOCS  # noqa: E402

import autocode.classify as classify  # noqa: E402
from autocode import learn  # noqa: E402

BINS = 10


@contextlib.contextmanager
def replaced(owner, name: str, new):
    old = getattr(owner, name)
    setattr(owner, name, new)
    try:
        yield
    finally:
        setattr(owner, name, old)


def transcript_mixing(documents: np.ndarray, weight: float):
    """``_within_answers`` that, once the answer mixing is done, mixes in the rest of the transcript."""
    plain = classify._within_answers

    def mixed(p, answers_, w):
        p = plain(p, answers_, w)
        return p if answers_ is None or len(documents) != len(p) else plain(p, documents, weight)
    return replaced(classify, "_within_answers", mixed)


@contextlib.contextmanager
def neighbour_vote(weight: float, k: int = 10):
    """``_softmax`` that, for the code model's rows x codes, mixes in a vote of the nearest coded utterances."""
    plain = classify._softmax
    state = {}

    def joint(self, F, answers_=None):
        X = np.asarray(F[:, :self.examples_X_.shape[1]].todense())
        S = X @ self.examples_X_.T
        index = {c: i for i, c in enumerate(self.classes_)}
        code = np.asarray([index[c] for c in self.examples_label_])
        votes = np.zeros((len(X), len(self.classes_)))
        near = np.argsort(-S, axis=1)[:, :k]
        np.add.at(votes, (np.repeat(np.arange(len(X)), k), code[near].ravel()), np.exp(np.take_along_axis(S, near, 1) / 0.1).ravel())
        votes = votes / np.maximum(np.bincount(code, minlength=len(self.classes_)), 1) + 1e-3
        state["vote"] = votes / votes.sum(axis=1, keepdims=True)
        return original(self, F, answers_)

    def softmax(z):
        p, vote = plain(z), state.get("vote")
        if vote is None or p.shape != vote.shape:
            return p
        m = np.exp((1 - weight) * np.log(p + 1e-12) + weight * np.log(vote))
        return m / m.sum(axis=1, keepdims=True)
    original = classify.ThemeClassifier._joint
    with replaced(classify, "_softmax", softmax), replaced(classify.ThemeClassifier, "_joint", joint):
        yield


def positions(documents: np.ndarray) -> np.ndarray:
    """Each row's place in its transcript, as soft bins (rows are in transcript order)."""
    place = np.zeros(len(documents))
    for d in set(documents):
        rows = np.flatnonzero(documents == d)
        place[rows] = (np.arange(len(rows)) + 0.5) / len(rows)
    centres = (np.arange(BINS) + 0.5) / BINS
    return np.exp(-((place[:, None] - centres[None]) ** 2) / (2 * 0.08 ** 2)).astype(np.float32)


def position_features():
    """``_design`` reading the last BINS columns of the context as position features."""
    plain = classify.ThemeClassifier._design

    def design(self, X, texts, context):
        pos = np.zeros((len(X), BINS), np.float32)
        if context is not None and np.shape(context)[1] % X.shape[1]:
            context, pos = np.asarray(context)[:, :-BINS], np.asarray(context)[:, -BINS:]
        return sparse.hstack([plain(self, X, texts, context), sparse.csr_matrix(pos)]).tocsr()
    return replaced(classify.ThemeClassifier, "_design", design)


def with_positions(c: al.Corpus) -> al.Corpus:
    return dataclasses.replace(c, inp=dataclasses.replace(c.inp, context=np.hstack([c.inp.context, positions(c.documents)])))


def padded_plus():
    """``Inputs.plus`` giving the codebook's examples, which have no place, zero position columns."""
    plain = learn.Inputs.plus

    def plus(self, other):
        pad = np.zeros((len(other.X), self.context.shape[1] - other.context.shape[1]), np.float32)
        return plain(self, dataclasses.replace(other, context=np.hstack([other.context, pad])))
    return replaced(learn.Inputs, "plus", plus)


def scores(c: al.Corpus, variant: str, value: float) -> tuple[float, float]:
    """(training CV kappa, held-out kappa) of one variant at one value."""
    plain = answers.predicted

    def predicted(c_, train, test, weights):
        with contextlib.ExitStack() as stack:
            if variant == "transcript":
                stack.enter_context(transcript_mixing(c_.documents[test], value))
            if variant == "neighbours":
                stack.enter_context(neighbour_vote(value))
            if variant == "position":
                stack.enter_context(position_features())
                stack.enter_context(padded_plus())
            return plain(c_, train, test, weights, value if variant == "C" else 1.0)
    with replaced(answers, "predicted", predicted):
        return answers.run(with_positions(c) if variant == "position" else c, [0.5])[0.5]


VARIANTS = [("C", [0.5, 1.0, 2.0, 4.0]), ("transcript", [0.1, 0.2, 0.3]), ("neighbours", [0.2, 0.35]),
            ("position", [1.0])]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=al.REPO.parent / "shared")
    ap.add_argument("--work", type=Path, help="keep the projects (and their embeddings) here between runs")
    ap.add_argument("--only", choices=["psw", "annomi"])
    args = ap.parse_args()
    if not (args.shared / "psw-study").is_dir():
        sys.exit(f"{args.shared} has no psw-study: this benchmark needs ../shared")
    with work_folder(args.work) as work:
        corpora = []
        if args.only != "annomi":
            study = al.psw(args.shared, work)
            corpora += [("reference study, bench/psw.py split", dataclasses.replace(study, test=np.isin(study.documents, TEST_DOCS))),
                        ("reference study, active-learning split", study)]
        if args.only != "psw":
            corpora += [("AnnoMI therapist behaviour", al.annomi(args.shared, work)),
                        ("AnnoMI client talk type", al.annomi(args.shared, work, "client"))]
        for name, c in corpora:
            print(f"{name}: {int((~c.test).sum())} training utterances, {int(c.test.sum())} held out", flush=True)
            cv, held = scores(c, "C", 1.0)
            print(f"  as shipped: training CV kappa {cv:.3f}, held out {held:.3f}", flush=True)
            for variant, values in VARIANTS:
                for v in values:
                    if (variant, v) != ("C", 1.0):
                        cv, held = scores(c, variant, v)
                        print(f"  {variant} {v:g}: training CV kappa {cv:.3f}, held out {held:.3f}", flush=True)


if __name__ == "__main__":
    main()
