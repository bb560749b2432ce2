"""What a fine-tuned classifier should read, chosen on AnnoMI's training transcripts only.

    python bench/tuned_dev.py [--shared ../shared] [--task therapist|client] [--seeds 0 1 2] [--work DIR]
                              [--tuning-loss cross-entropy|contrastive|combined] [--learning-rate 5e-5]
                              [--precision auto|bfloat16|float32]

The held-out 20% of bench/annomi.py (seed 0) is never read. The other transcripts are split
again by transcript (80/20, each seed in turn); the embedding model is tuned on the dev-train
part's codes (``autocode.finetune``, as ``train --fine-tune`` does) and the classifier, trained
on the same part, is scored on the dev-test part with each way of reading the utterances:

- plain: the bundled model alone (no tuning);
- tuned: the tuned model alone;
- both: the two side by side (``learn.side_by_side``, what ``train --fine-tune`` does now);
- controls for "both" merely weighting embeddings more: the tuned model twice, the tuned
  model alone with C doubled, and the plain model twice;
- with ``--pair``, also a model tuned on each utterance paired with the turn before it (one
  text, "utterance [SEP] turn before", so the network can read the two together: whether
  "yes" answers "do you want to stop?" or "do you enjoy it?"), read beside the plain model
  ("plain + pair") or alone with the plain model's context ("pair, plain context").

``--work`` keeps the project and tuned models, so a rerun skips the tuning (a tuning in
bfloat16 arithmetic is kept apart from one in float32).
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

import numpy as np
from annomi import TASKS, split, write_task
from common import autocode, tuning_tag

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from autocode.finetune import LEARNING_RATE, LOSSES, PRECISION, PRECISIONS  # noqa: E402  (the repository's autocode, as above)


def project_of(rows: list[dict], task: str, work: Path) -> Path:
    """A project with every training transcript and the experts' codes of the task's speaker."""
    proj = work / task
    if not proj.exists():
        files = write_task(rows, task, work, set())
        autocode("init", str(proj), "--codebook", str(files["codebook"]))
        autocode("add", str(files["table"]), "--project", str(proj))
        autocode("import-codings", str(files["train"]), "--coder", "expert", "--project", str(proj))
    return proj


def readings(conn, utts, main, train, tuned: Path, pair: bool = False, tuning: dict | None = None) -> dict:
    """Each way of reading the utterances; ``tuning`` is ``fine_tune``'s loss, learning rate and precision."""
    from autocode import learn
    from autocode.finetune import fine_tune

    if not tuned.exists():
        fine_tune([utts[i].text for i in train], [main[i] for i in train], tuned, **(tuning or {}))
    plain, mine = learn.inputs(conn, utts), learn.inputs(conn, utts, str(tuned), cache=False)
    both = learn.side_by_side
    out = {"plain": (plain, 1.0), "tuned": (mine, 1.0), "both": (both([plain, mine]), 1.0),
           "tuned twice": (both([mine, mine]), 1.0), "tuned, C doubled": (mine, 2.0),
           "plain twice": (both([plain, plain]), 1.0)}
    return out | (paired(conn, utts, main, train, tuned.with_name(tuned.name.replace("-tuned-", "-pair-")), plain) if pair else {})


def paired(conn, utts, main, train, tuned: Path, plain) -> dict:
    """Readings with a model tuned on "utterance [SEP] turn before" texts."""
    from autocode import learn
    from autocode.embed import encode
    from autocode.finetune import fine_tune

    texts = [u.text + " [SEP] " + before for u, before in zip(utts, learn.Surroundings.of(conn, utts).before)]
    if not tuned.exists():
        fine_tune([texts[i] for i in train], [main[i] for i in train], tuned)
    P = encode(texts, str(tuned))
    return {"plain + pair": (learn.Inputs(plain.texts, np.hstack([plain.X, P]), plain.context, plain.answers), 1.0),
            "pair, plain context": (learn.Inputs(plain.texts, P, plain.context, plain.answers), 1.0)}


def one_split(proj: Path, rows: list[dict], seed: int, work: Path, pair: bool = False,
              loss: str = LOSSES[0], rate: float = LEARNING_RATE, precision: str = PRECISION) -> dict:
    from autocode import learn
    from autocode.store import Project

    dev = {f"T{t}" for t in split(rows, seed)}
    project = Project(proj)
    with project.transaction() as conn:
        utts, main, all_codes = learn.training_set(conn, "expert")
        train = [i for i, u in enumerate(utts) if u.document not in dev]
        test = [i for i, u in enumerate(utts) if u.document in dev]
        # each loss's, rate's and arithmetic's tunings kept apart in --work
        kind = ("tuned" if loss == LOSSES[0] else loss) + tuning_tag(rate, precision)
        ways = readings(conn, utts, main, train, work / f"{proj.name}-{kind}-s{seed}", pair,
                        {"loss": loss, "learning_rate": rate, "precision": precision})
    return score(ways, main, all_codes, train, test, seed)


def score(ways: dict, main: list, all_codes: list, train: list[int], test: list[int], seed: int) -> dict:
    """Code kappa on the dev transcripts of each way of reading (name: (inputs, C))."""
    from autocode import learn
    from autocode.compare import pair_agreement

    truth = np.asarray([main[i] for i in test], dtype=object)
    out = {"seed": seed, "scored": len(test)}
    for name, (inp, C) in ways.items():
        predicted = learn.fit_predict(inp, all_codes, train, test, {}, C)
        out[name] = round(pair_agreement(truth, predicted)["cohen_kappa"], 4)
        print(f"  split {seed}: {name}: kappa {out[name]:.3f}", flush=True)
    return out


def print_table(results: list[dict]) -> None:
    """The splits' figures as a Markdown table, with their mean."""
    print(json.dumps(results))
    names = [k for k in results[0] if k not in ("seed", "scored")]
    print("| reading | " + " | ".join(f"split {r['seed']} ({r['scored']} utterances)" for r in results) + " | mean |")
    print("|---" * (len(results) + 2) + "|")
    for n in names:
        print(f"| {n} | " + " | ".join(f"{r[n]:.3f}" for r in results) + f" | {np.mean([r[n] for r in results]):.3f} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    ap.add_argument("--task", choices=list(TASKS), default="therapist")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--pair", action="store_true", help="also tune a model on each utterance with the turn before it")
    ap.add_argument("--tuning-loss", choices=LOSSES, default=LOSSES[0],
                    help="the loss the embedding model is tuned with (autocode.toml's fine_tune_loss)")
    ap.add_argument("--learning-rate", type=float, default=LEARNING_RATE,
                    help="the tuning's learning rate (autocode.toml's fine_tune_learning_rate)")
    ap.add_argument("--precision", choices=PRECISIONS, default=PRECISION,
                    help="the tuning's arithmetic (autocode.toml's fine_tune_precision)")
    a = ap.parse_args()
    if a.pair and (a.tuning_loss, a.learning_rate, a.precision) != (LOSSES[0], LEARNING_RATE, PRECISION):
        ap.error("--pair tunes with the default loss, learning rate and precision only: "
                 "leave out --tuning-loss, --learning-rate and --precision")
    rows = training_rows(a.shared)
    a.work.mkdir(parents=True, exist_ok=True)
    proj = project_of(rows, a.task, a.work)
    print_table([one_split(proj, rows, s, a.work, a.pair, a.tuning_loss, a.learning_rate, a.precision) for s in a.seeds])


def training_rows(shared: Path) -> list[dict]:
    """AnnoMI's rows less bench/annomi.py's held-out transcripts, which are never read here."""
    source = shared / "datasets" / "annomi" / "AnnoMI-simple.csv"
    if not source.is_file():
        sys.exit(f"AnnoMI not found at {source}: pass --shared with the folder that holds datasets/annomi")
    with source.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    held_out = split(rows)
    return [r for r in rows if r["transcript_id"] not in held_out]


if __name__ == "__main__":
    main()
