"""Do the codebook's definitions help the classifier? Reference study, training transcripts only.

    python bench/definitions.py [--shared ../shared] [--work DIR] [--theme-weights 1,0.75,0.5]

autocode's learner takes, besides the coded utterances, each used code's name, definition and
the two together as examples (``learn.definitions``). This measures what they add, by 5-fold
document cross-validation over the reference study's 7 training transcripts (the same seed-0
split as bench/active_learning.py; the held-out transcripts are never read): theme kappa with
all the training labels, and with a random quarter of them (mean over seeds 0, 1, 2), the
amount a researcher has early on. ``--theme-weights`` also scores, with the definitions, each
``ThemeClassifier.theme_weight`` given (how much the theme model counts against the code
model's themes), which is how its default was chosen.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
from sklearn.model_selection import GroupKFold

sys.path.insert(0, str(Path(__file__).resolve().parent))
import active_learning as al  # noqa: E402
from autocode.learn import fit_classifier  # noqa: E402


def cv_kappa(c: al.Corpus, with_definitions: bool, share: float = 1.0, seed: int = 0,
             theme_weight: float | None = None) -> float:
    """Document-fold theme kappa; an utterance with several codes agrees if the machine chose any."""
    train = np.flatnonzero(~c.test)
    machine = {}
    for tr, te in GroupKFold(5).split(train, groups=c.documents[train]):
        rows = train[tr]
        if share < 1:
            rows = np.random.default_rng(seed).choice(rows, round(share * len(rows)), replace=False)
        clf = fit_classifier(c.inp.rows(rows), [c.codes[i] for i in rows], c.themes, 1.0,
                             c.definitions if with_definitions else None)
        if theme_weight is not None:
            clf.theme_weight = theme_weight
        new = c.inp.rows(train[te])
        machine.update(zip(train[te], (c.unit(str(m)) for m in clf.predict(new.texts, embeddings=new.X,
                                                                           context=new.context))))
    predicted = [machine[i] for i in train]
    return al.agreement(c, train, predicted)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=al.REPO.parent / "shared")
    ap.add_argument("--work", type=Path, help="keep the project (and its embeddings) here between runs")
    ap.add_argument("--theme-weights", default="", help="comma-separated theme_weight values to score too")
    args = ap.parse_args()
    if not (args.shared / "psw-study").is_dir():
        sys.exit(f"{args.shared} has no psw-study: this benchmark needs ../shared")
    work = args.work or Path(tempfile.mkdtemp(prefix="autocode-definitions-"))
    c = al.psw(args.shared, work)
    n = 0 if c.definitions is None else len(c.definitions.codes)
    print(f"reference study: {int((~c.test).sum())} coded utterances in 7 training transcripts; "
          f"{n} examples from the codebook ({n // 3} codes with a definition)")
    for with_definitions in (False, True):
        quarter = np.mean([cv_kappa(c, with_definitions, 0.25, s) for s in range(3)])
        print(f"  {'with' if with_definitions else 'without'} the definitions: theme kappa, all labels "
              f"{cv_kappa(c, with_definitions):.3f}; a quarter of them {quarter:.3f}")
    for w in [float(x) for x in args.theme_weights.split(",") if x]:
        quarter = np.mean([cv_kappa(c, True, 0.25, s, w) for s in range(3)])
        print(f"  with the definitions, theme_weight {w}: theme kappa, all labels {cv_kappa(c, True, theme_weight=w):.3f}; "
              f"a quarter of them {quarter:.3f}")


if __name__ == "__main__":
    main()
