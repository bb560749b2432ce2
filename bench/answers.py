"""How far an utterance's code should lean on the rest of its answer, chosen on training transcripts.

    python bench/answers.py [--shared ../shared] [--work DIR] [--weights 0,0.2,0.35,0.5,0.65,0.8]

spaCy splits a participant's answer into several utterances, and a coder mostly gives them one
theme. ``ThemeClassifier.answer_weight`` mixes each utterance's probabilities (of themes, or of
codes without themes) with the mean of the other utterances of its answer, the speaker's run of
consecutive utterances. For each weight this reports, with autocode's learner as ``autocode
train`` fits it (codebook definitions included):

- kappa in 5-fold document cross-validation over the **training** transcripts only, where the
  weight is chosen;
- kappa on the held-out transcripts, reported for every weight and never used to choose.

Corpora: the reference study with bench/psw.py's split (P12, P13, P15 held out) and with
bench/active_learning.py's (30%, seed 0), themes; AnnoMI therapist behaviour and client talk
type (bench/annomi.py's seed-0 split), codes: one utterance per turn there, so the weight should
change nothing. An utterance with several codes agrees if the machine chose any of them.
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import numpy as np
from sklearn.model_selection import GroupKFold

sys.path.insert(0, str(Path(__file__).resolve().parent))
import active_learning as al  # noqa: E402
from common import work_folder  # noqa: E402
from autocode.learn import fit_classifier  # noqa: E402
from psw import TEST_DOCS  # noqa: E402


def predicted(c: al.Corpus, train: np.ndarray, test: np.ndarray, weights: list[float], C: float = 1.0) -> dict:
    """Each weight's predicted units for rows ``test`` from a model fit on rows ``train``."""
    clf = fit_classifier(c.inp.rows(train), [c.codes[i] for i in train], c.themes, C, c.definitions)
    new = c.inp.rows(test)
    out = {}
    for w in weights:
        clf.answer_weight = w
        out[w] = [c.unit(str(m)) for m in clf.predict(new.texts, embeddings=new.X, context=new.context,
                                                        answers=new.answers)]
    return out


def run(c: al.Corpus, weights: list[float]) -> dict:
    train, test = np.flatnonzero(~c.test), np.flatnonzero(c.test)
    oof = {w: np.empty(len(c.codes), dtype=object) for w in weights}
    for tr, te in GroupKFold(5).split(train, groups=c.documents[train]):
        for w, units in predicted(c, train[tr], train[te], weights).items():
            oof[w][train[te]] = units
    held = predicted(c, train, test, weights)
    return {w: (al.agreement(c, train, list(oof[w][train])), al.agreement(c, test, held[w])) for w in weights}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=al.REPO.parent / "shared")
    ap.add_argument("--work", type=Path, help="keep the projects (and their embeddings) here between runs")
    ap.add_argument("--weights", default="0,0.2,0.35,0.5,0.65,0.8")
    args = ap.parse_args()
    weights = [float(w) for w in args.weights.split(",")]
    if not (args.shared / "psw-study").is_dir():
        sys.exit(f"{args.shared} has no psw-study: this benchmark needs ../shared")
    with work_folder(args.work) as work:
        study = al.psw(args.shared, work)
        corpora = [("reference study, bench/psw.py split", dataclasses.replace(study, test=np.isin(study.documents, TEST_DOCS))),
                   ("reference study, active-learning split", study),
                   ("AnnoMI therapist behaviour", al.annomi(args.shared, work)),
                   ("AnnoMI client talk type", al.annomi(args.shared, work, "client"))]
        for name, c in corpora:
            scores = run(c, weights)
            best = max(weights, key=lambda w: (round(scores[w][0], 4), -w))
            print(f"{name}: {int((~c.test).sum())} training utterances, {int(c.test.sum())} held out")
            for w, (cv, held) in scores.items():
                mark = "  <- best in training CV" if w == best else ""
                print(f"  answer_weight {w:.2f}: training CV kappa {cv:.3f}, held out {held:.3f}{mark}", flush=True)


if __name__ == "__main__":
    main()
