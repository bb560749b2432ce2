"""Issue 5: which features the classifier should read, chosen on training transcripts only.

    python bench/features.py [--shared ../shared] [--work DIR]

Cross-validation by transcript (5 folds, GroupKFold) over the training part of each corpus:
the reference study's 7 training transcripts (seed 0, as bench/active_learning.py; theme
level), and AnnoMI's training transcripts (seed 0, as bench/annomi.py) for therapist behaviour
and client talk. The held-out transcripts are never read. Each variant changes one thing:

- words: TF-IDF of content words only (English stop words removed) or of every word and "?";
- context (learn.inputs, whose parts come in this order): the utterance before; then also the
  one after; then also the interviewer's last utterance before it; then also the mean of the
  speaker's run of consecutive utterances it belongs to.
"""
from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.model_selection import GroupKFold

sys.path.insert(0, str(Path(__file__).resolve().parent))
import active_learning as al  # noqa: E402
from annomi import TASKS, split  # noqa: E402

import autocode.classify as classify  # noqa: E402
from autocode.classify import ThemeClassifier  # noqa: E402
from autocode.compare import pair_agreement  # noqa: E402
from autocode.corpus import utterances  # noqa: E402
from autocode.features import inputs  # noqa: E402

CONTENT_WORDS = {"ngram_range": (1, 2), "stop_words": "english", "sublinear_tf": True}  # before issue 5
EVERY_WORD = dict(classify.WORDS)
VARIANTS = [("content words, context before", CONTENT_WORDS, 1), ("every word and ?, context before", EVERY_WORD, 1),
            ("every word and ?, context before and after", EVERY_WORD, 2),
            ("+ the interviewer's last utterance", EVERY_WORD, 3), ("+ the speaker's run", EVERY_WORD, 4)]


def corpora(shared: Path, work: Path) -> dict[str, dict]:
    """Training rows of each corpus: texts, embeddings, context, codes, transcript, unit."""
    c = al.psw(shared, work)
    train = np.flatnonzero(~c.test)
    out = {"reference study (themes)": {"texts": c.inp.texts[train], "X": c.inp.X[train], "context": c.inp.context[train],
                                        "codes": [c.codes[i] for i in train], "groups": c.documents[train],
                                        "themes": c.themes, "unit": c.unit}}
    rows = list(csv.DictReader((shared / "datasets/annomi/AnnoMI-simple.csv").open(encoding="utf-8")))
    al.annomi(shared, work)  # builds the project holding every AnnoMI utterance (one per row) once
    with al.Project(work / "annomi").transaction() as conn:
        utts = utterances(conn, participants_only=False)
        inp = inputs(conn, utts)
    held_out = {f"T{t}" for t in split(rows)}
    row = {(f"T{r['transcript_id']}", int(r["utterance_id"])): r for r in rows}
    for task in ("therapist", "client"):
        speaker, column, codes = TASKS[task]
        keep = [i for i, u in enumerate(utts) if u.document not in held_out and (r := row.get((u.document, u.idx)))
                and r["interlocutor"] == speaker and r[column] in codes]
        out[f"AnnoMI {task}"] = {"texts": inp.texts[keep], "X": inp.X[keep], "context": inp.context[keep],
                                 "codes": [[row[utts[i].document, utts[i].idx][column]] for i in keep],
                                 "groups": np.asarray([utts[i].document for i in keep]),
                                 "themes": {x: task for x in codes}, "unit": lambda x: x}
    return out


def cv_kappa(d: dict, words: dict, parts: int) -> float:
    """Document-fold kappa; an utterance with several codes agrees if the machine chose any."""
    width = d["X"].shape[1] * parts
    saved = dict(classify.WORDS)
    classify.WORDS.clear()
    classify.WORDS.update(words)
    try:
        predicted = np.empty(len(d["texts"]), dtype=object)
        for train, test in GroupKFold(5).split(d["X"], groups=d["groups"]):
            rows = [(i, code) for i in train for code in d["codes"][i]]
            a = np.asarray([i for i, _ in rows])
            clf = ThemeClassifier(themes=d["themes"]).fit(d["texts"][a], [code for _, code in rows],
                                                          embeddings=d["X"][a], context=d["context"][a, :width])
            predicted[test] = clf.predict(d["texts"][test], embeddings=d["X"][test], context=d["context"][test, :width])
    finally:
        classify.WORDS.clear()
        classify.WORDS.update(saved)
    machine = [d["unit"](str(x)) for x in predicted]
    gold = [m if m in {d["unit"](x) for x in codes} else d["unit"](codes[0]) for m, codes in zip(machine, d["codes"])]
    return pair_agreement(gold, machine)["cohen_kappa"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=al.REPO.parent / "shared")
    ap.add_argument("--work", type=Path, default=None, help="keep the projects (and their embeddings) here between runs")
    args = ap.parse_args()
    if not (args.shared / "psw-study").is_dir():
        sys.exit(f"{args.shared} has no psw-study: this benchmark needs ../shared")
    work = args.work or Path(__import__("tempfile").mkdtemp(prefix="autocode-features-"))
    for name, d in corpora(args.shared, work).items():
        print(f"{name}: {len(d['texts'])} coded utterances in {len(set(d['groups']))} training transcripts", flush=True)
        for label, words, parts in VARIANTS:
            start = time.perf_counter()
            print(f"  {label}: kappa {cv_kappa(d, words, parts):.3f}  [{time.perf_counter() - start:.0f} s]", flush=True)


if __name__ == "__main__":
    main()
