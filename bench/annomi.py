"""Machine against expert coders on AnnoMI (real counselling transcripts), through the CLI.

    python bench/annomi.py [--shared ../shared] [--task therapist|client|both] [--full | --annotators-only]
                            [--fine-tune [--cv] [--tune-model FOLDER] [--reading auto|tuned|both]]
                            [--model NAME_OR_FOLDER] [--json FILE]

For each task (therapist behaviour: question, reflection, therapist_input, other; client talk
type: change, neutral, sustain) it holds out 20% of transcripts (seed 0), adds every utterance
as a table (so each is read after the one before it), imports the experts' codes of the task's
speaker for the rest, trains, suggests codes for the held-out transcripts, imports their expert
codes, and reports `autocode compare expert machine` over the utterances the experts coded.

With --full it then measures the machine against each of the 10 annotators on the 7 transcripts
they all coded (AnnoMI-full.csv): train on the expert codes of the other 126 transcripts, suggest
codes for the 7, import each annotator as a coder, and report `autocode compare` over all eleven:
the machine's mean kappa against each annotator next to the annotators' mean pairwise kappa.
--annotators-only runs that comparison alone, without the held-out split.

With --fine-tune every training is `autocode train --fine-tune --no-cv`: the embedding model is
first tuned on the training transcripts' codes (cross-validation, which would tune five more
models, is skipped: this benchmark reports only held-out figures), and the classifier reads with
the tuned model. With --fine-tune --cv, training cross-validates as a researcher's would, tuning a
model per fold, and keeps the way of reading the utterances (general model, tuned model, or
both side by side) that agreed best in cross-validation on the training transcripts.

--tune-model tunes another model (``fine_tune_model`` in autocode.toml) while the project keeps
its embedding model, and --reading fixes the way of reading (``fine_tune_reading``; "both": the
project's model as it is beside the tuned one) instead of cross-validation's choice.

--model sets the project's embedding model (``autocode init --model``) instead of the bundled one.
--json also writes every figure, unrounded, to a file (a target is met or not by its fourth digit).
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml
from autocode.learn import ASKABLE
from common import autocode, set_setting

REPO = Path(__file__).resolve().parent.parent
TASKS = {
    "therapist": ("therapist", "main_therapist_behaviour", ["question", "reflection", "therapist_input", "other"]),
    "client": ("client", "client_talk_type", ["change", "neutral", "sustain"]),
}


def split(rows: list[dict], seed: int = 0) -> set[str]:
    ids = sorted({r["transcript_id"] for r in rows}, key=int)
    rng = np.random.default_rng(seed)
    return set(rng.permutation(ids)[: round(len(ids) * 0.2)])


def write_task(rows: list[dict], task: str, folder: Path, test: set[str]) -> dict[str, Path]:
    speaker, column, codes = TASKS[task]
    mine = [r for r in rows if r["interlocutor"] == speaker and r[column] in codes]
    files = {name: folder / f"{task}_{name}.csv" for name in ("table", "train", "test")}
    # Both speakers are added, so each utterance is read after the one before it (the context);
    # only the task's speaker is coded.
    _write(files["table"], ["document", "id", "speaker", "text"],
           [{"document": f"T{r['transcript_id']}", "id": r["utterance_id"], "speaker": r["interlocutor"],
             "text": r["utterance_text"]} for r in rows])
    for name, keep in (("train", lambda r: r["transcript_id"] not in test), ("test", lambda r: r["transcript_id"] in test)):
        _write(files[name], ["document", "utterance", "code"],
               [{"document": f"T{r['transcript_id']}", "utterance": r["utterance_id"], "code": r[column]} for r in mine if keep(r)])
    book = {"themes": [{"id": task, "name": f"{task} codes", "codes": [{"id": c, "name": c} for c in codes]}]}
    files["codebook"] = folder / f"{task}.yaml"
    files["codebook"].write_text(yaml.safe_dump(book), encoding="utf-8")
    return files


def _write(path: Path, fields: list[str], rows: list[dict]) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        w.writerows(rows)


def run_task(rows: list[dict], task: str, tmp: Path, full: list[dict] | None = None,
             annotators_only: bool = False) -> dict:
    test = split(rows)
    files = write_task(rows, task, tmp, test)
    proj = str(tmp / task)
    t0 = time.perf_counter()
    autocode("init", proj, "--codebook", str(files["codebook"]), *INIT)
    for key, value in TUNING.items():
        set_setting(Path(proj), "classifier", key, value)
    autocode("add", str(files["table"]), "--project", proj)
    result = {} if annotators_only else held_out(files, test, proj)
    result.update(task=task, seconds=time.perf_counter() - t0)
    if full:
        result["annotators"] = against_annotators(rows, full, task, tmp, proj)
    return result


TRAIN = ["train"]  # with --fine-tune: train --fine-tune --no-cv
TUNING: dict = {}  # with --tune-model / --reading: fine_tune_model / fine_tune_reading
INIT: list[str] = []  # with --model: init --model NAME


def held_out(files: dict[str, Path], test: set[str], proj: str) -> dict:
    autocode("import-codings", str(files["train"]), "--coder", "expert", "--project", proj)
    trained = json.loads(autocode(*TRAIN, "--coder", "expert", "--json", "--project", proj))
    docs = ",".join(sorted(f"T{t}" for t in test))
    autocode("suggest", "--documents", docs, "--project", proj)
    autocode("import-codings", str(files["test"]), "--coder", "expert", "--project", proj)
    report = json.loads(autocode("compare", "expert", "machine", "--documents", docs, "--json", "--project", proj))
    o = report["overall"]
    return {"reading": trained.get("reading"), "readings": trained.get("readings"),
            "held_out_transcripts": len(test), "units": o["n_units"], "kappa": o["cohen_kappa"],
            "kappa_ci": o.get("cohen_kappa_ci"), "alpha": o["krippendorff_alpha"], "agreement": o["percent_agreement"],
            "abstention": abstention(trained, proj)}


def abstention(trained: dict, proj: str) -> list[tuple[str, dict, dict]] | None:
    """Confidence thresholds chosen in train's cross-validation, applied to the held-out
    suggestions: the one that reached substantial kappa there, and the most confident 75/50/25%."""
    from psw import agreement_from_export, at_coverage

    a = (trained.get("cross_validation") or {}).get("abstention")
    if not a:
        return None
    export = Path(proj) / "held_out.csv"
    autocode("export", "--format", "csv", "--out", str(export), "--project", proj)
    points = ([("substantial", {"threshold": a["threshold"], "coverage": a["coverage"], "kappa": a["kappa"]})]
              if a["threshold"] is not None else [])
    points += [(f"the most confident {share:.0%}", at_coverage(a["curve"], share)) for share in (0.75, 0.5, 0.25)]
    return [(name, p, agreement_from_export(export, p["threshold"], "expert", "code")) for name, p in points]


def against_annotators(rows: list[dict], full: list[dict], task: str, tmp: Path, proj: str) -> dict:
    """The machine (trained on the other transcripts) against each annotator of the 7 shared ones."""
    speaker, column, codes = TASKS[task]
    annotators: dict[str, set[str]] = {}
    for r in full:
        annotators.setdefault(r["transcript_id"], set()).add(r["annotator_id"])
    shared = sorted((t for t, a in annotators.items() if len(a) > 1), key=int)
    train = tmp / f"{task}_train126.csv"
    _write(train, ["document", "utterance", "code"],
           [{"document": f"T{r['transcript_id']}", "utterance": r["utterance_id"], "code": r[column]} for r in rows
            if r["interlocutor"] == speaker and r[column] in codes and r["transcript_id"] not in shared])
    autocode("import-codings", str(train), "--coder", "expert-126", "--project", proj)
    trained = json.loads(autocode(*TRAIN, "--coder", "expert-126", "--json", "--project", proj))
    docs = ",".join(f"T{t}" for t in shared)
    autocode("suggest", "--documents", docs, "--include-coded", "--project", proj)
    coders = []
    for a in sorted({r["annotator_id"] for r in full if r["transcript_id"] in shared}, key=int):
        path = tmp / f"{task}_annotator{a}.csv"
        _write(path, ["document", "utterance", "code"],
               [{"document": f"T{r['transcript_id']}", "utterance": r["utterance_id"], "code": r[column]} for r in full
                if r["annotator_id"] == a and r["transcript_id"] in shared and r["interlocutor"] == speaker
                and r[column] in codes])
        autocode("import-codings", str(path), "--coder", f"annotator-{a}", "--project", proj)
        coders.append(f"annotator-{a}")
    report = json.loads(autocode("compare", *coders, "machine", "--documents", docs, "--json", "--project", proj))
    pairs = {tuple(k.split(" ~ ")): v["cohen_kappa"] for k, v in report["overall"]["pairs"].items()}
    machine = [k for (a, b), k in pairs.items() if "machine" in (a, b)]
    humans = [k for (a, b), k in pairs.items() if "machine" not in (a, b)]
    return {"transcripts": len(shared), "units": report["overall"]["n_units"],
            "machine_mean": float(np.mean(machine)), "machine_range": (min(machine), max(machine)),
            "human_mean": float(np.mean(humans)), "human_range": (min(humans), max(humans)),
            "human_pairs": len(humans), "alpha_all": report["overall"]["krippendorff_alpha"],
            "reading": trained.get("reading"), "readings": trained.get("readings")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    ap.add_argument("--task", choices=["therapist", "client", "both"], default="both")
    ap.add_argument("--full", action="store_true", help="also compare with the 10 annotators of AnnoMI-full.csv")
    ap.add_argument("--fine-tune", action="store_true", help="tune the embedding model on the training codes first")
    ap.add_argument("--cv", action="store_true", help="with --fine-tune: cross-validate, and so choose the reading")
    ap.add_argument("--annotators-only", action="store_true", help="--full without the held-out split's run")
    ap.add_argument("--model", help="embedding model name or folder for the projects (default: the bundled one)")
    ap.add_argument("--tune-model", type=Path, help="with --fine-tune: tune this model folder instead (fine_tune_model)")
    ap.add_argument("--reading", choices=ASKABLE, help="with --fine-tune: fine_tune_reading")
    ap.add_argument("--json", type=Path, help="also write every figure, unrounded, to this file")
    args = ap.parse_args()
    if args.model:
        INIT[:] = ["--model", args.model]
    args.full = args.full or args.annotators_only
    if (args.tune_model or args.reading) and not args.fine_tune:
        ap.error("--tune-model and --reading only apply with --fine-tune")
    if args.fine_tune:
        TRAIN[:] = ["train", "--fine-tune"] + ([] if args.cv else ["--no-cv"])
    TUNING.update({"fine_tune_model": str(args.tune_model.resolve())} if args.tune_model else {})
    TUNING.update({"fine_tune_reading": args.reading} if args.reading else {})
    source = args.shared / "datasets/annomi/AnnoMI-simple.csv"
    if not source.is_file():
        sys.exit(f"{source} not found: this benchmark needs ../shared")
    rows = list(csv.DictReader(source.open(encoding="utf-8")))
    full = list(csv.DictReader((args.shared / "datasets/annomi/AnnoMI-full.csv").open(encoding="utf-8"))) if args.full else None
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for task in (["therapist", "client"] if args.task == "both" else [args.task]):
            results.append(r := run_task(rows, task, Path(tmp), full, args.annotators_only))
            if args.json:   # after each task, so a long run's first task is kept
                args.json.write_text(json.dumps(results, indent=1, default=str), encoding="utf-8")
            if "kappa" in r:
                print_held_out(r)
            if "annotators" in r:
                print_annotators(r["annotators"])


def print_held_out(r: dict) -> None:
    ci = r["kappa_ci"]
    print(f"AnnoMI {r['task']}: {r['units']} utterances in {r['held_out_transcripts']} held-out transcripts: "
          f"kappa {r['kappa']:.3f} (95% CI {ci[0]:.3f}-{ci[1]:.3f}), alpha {r['alpha']:.3f}, "
          f"agreement {r['agreement']:.1f}%  [{r['seconds']:.0f} s end to end]")
    print_reading(r)
    for name, cv, held in r.get("abstention") or []:
        print(f"  abstention, {name} in training CV: threshold {cv['threshold']:.3f} (CV coverage {cv['coverage']:.0%}, "
              f"kappa {cv['kappa']:.3f}); held out: coverage {held['coverage']:.0%}, kappa {held['cohen_kappa']:.3f}, "
              f"agreement {held['percent_agreement']:.1f}%")


def print_annotators(a: dict) -> None:
    print(f"  against the 10 annotators on the {a['transcripts']} transcripts they all coded "
          f"({a['units']} utterances; machine trained on the other transcripts): machine's mean kappa "
          f"{a['machine_mean']:.3f} (range {a['machine_range'][0]:.3f}-{a['machine_range'][1]:.3f}); "
          f"annotators' mean pairwise kappa {a['human_mean']:.3f} (range {a['human_range'][0]:.3f}-"
          f"{a['human_range'][1]:.3f}, {a['human_pairs']} pairs); alpha over all 11 {a['alpha_all']:.3f}")
    print_reading(a)


def print_reading(r: dict) -> None:
    if r.get("readings"):
        print(f"  reading kept by cross-validation on the training transcripts: {r['reading']} "
              f"(kappa {', '.join(f'{n} {k:.3f}' for n, k in r['readings'].items())})")


if __name__ == "__main__":
    main()
