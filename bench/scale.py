"""Scale: time and peak memory of add, propose, train and suggest as the corpus grows.

For each size, generates that many transcripts from the demo corpus (bench/generate.py; the
first 20% come with alice's codings), then runs, through the CLI as a researcher would:
init, add (segments and embeds), import-codings, propose, train (with its cross-validation)
and suggest (every uncoded transcript). Each step runs in its own process; its wall time and
peak resident memory (from the operating system's accounting of that process) are printed as
a Markdown table and appended, one JSON line per step, to --log, so a run cut short keeps the
sizes it finished.

    python bench/scale.py 10 100 1000 [--work /tmp/autocode-scale] [--log scale.jsonl]
    python bench/scale.py --clustering-only 5000 20000 50000 100000 200000
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from generate import generate

REPO = Path(__file__).resolve().parent.parent


def run_step(name: str, args: list[str], folder: Path) -> dict:
    """Run one autocode command; its wall time and peak memory (MiB)."""
    with (folder / f"{name}.out").open("w") as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "autocode.cli", *args], stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"autocode {' '.join(args)} failed; see {folder / (name + '.out')}")
    return {"step": name, "seconds": round(seconds, 1), "peak_mib": round(usage.ru_maxrss / 1024)}


def corpus_counts(project: Path) -> dict:
    """Utterances in the project, and how many distinct texts (what the embedding cache sees)."""
    conn = sqlite3.connect(project / "autocode.db")
    total, participant, distinct = conn.execute(
        "SELECT COUNT(*), SUM(is_interviewer = 0), COUNT(DISTINCT text) FROM utterances").fetchone()
    conn.close()
    return {"utterances": total, "participant_utterances": participant, "distinct_texts": distinct}


def run_size(n: int, work: Path, log: Path, seed: int, variants: int = 0) -> list[dict]:
    folder = work / f"n{n}"
    shutil.rmtree(folder, ignore_errors=True)  # a fresh project each time
    made = generate(n, folder, seed, variants=variants)
    project = folder / "project"
    p = ["--project", str(project)]
    steps = [("init", ["init", str(project), "--codebook", str(REPO / "data" / "codebook.yaml")]),
             ("add", ["add", str(folder / "transcripts"), *p]),
             ("import-codings", ["import-codings", str(folder / "codings.csv"), "--coder", "alice", *p]),
             ("propose", ["propose", "--seed", str(seed), *p]),
             ("train", ["train", "--coder", "alice", *p]),
             ("suggest", ["suggest", "--out", str(folder / "suggestions.csv"), *p])]
    rows = []
    for name, args in steps:
        row = {"transcripts": n, **run_step(name, args, folder)}
        if name == "add":
            row.update(corpus_counts(project))
        rows.append(row)
        with log.open("a") as f:
            f.write(json.dumps({**row, "coded_transcripts": made["coded"], "variants": variants, "time": time.strftime("%H:%M:%S")}) + "\n")
        print(f"| {n} | {name} | {row['seconds']} | {row['peak_mib']} |", flush=True)
    return rows


def clustering_growth(sizes: list[int], no_sample_up_to: int, seed: int) -> None:
    """Time ``cluster_labels`` alone on n embeddings, sampled (the default) and not, to show how
    clustering grows. The embeddings are the NHS comments' and the reference study's, repeated
    with a little noise to reach n (cached by bench/bertopic_compare.py --cache /tmp/bt-cache)."""
    import numpy as np

    from autocode.cluster import SAMPLE_SIZE, cluster_labels

    files = sorted(Path("/tmp/bt-cache").glob("[pn]*[0-9].npy"))
    if not files:
        sys.exit("no cached embeddings in /tmp/bt-cache: run bench/bertopic_compare.py --cache /tmp/bt-cache first")
    real = np.vstack([np.load(f) for f in files])
    rng = np.random.default_rng(seed)
    print("| utterances | sampled (HDBSCAN on at most %d) s | unassigned | all rows through HDBSCAN s |\n|---|---|---|---|" % SAMPLE_SIZE)
    for n in sizes:
        X = real[rng.integers(0, len(real), n)] + rng.normal(scale=0.005, size=(n, real.shape[1])).astype(np.float32)
        X /= np.linalg.norm(X, axis=1, keepdims=True)
        t0 = time.perf_counter()
        labels = cluster_labels(X, seed=seed)
        sampled = time.perf_counter() - t0
        full = ""
        if n <= no_sample_up_to:
            t0 = time.perf_counter()
            cluster_labels(X, seed=seed, sample_size=n)
            full = f"{time.perf_counter() - t0:.1f}"
        print(f"| {n} | {sampled:.1f} | {(labels == -1).mean():.1%} | {full} |", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sizes", type=int, nargs="+")
    ap.add_argument("--clustering-only", action="store_true",
                    help="time the clustering alone at these numbers of utterances")
    ap.add_argument("--no-sample-up-to", type=int, default=60_000,
                    help="with --clustering-only: also cluster every row without sampling up to this size")
    ap.add_argument("--work", type=Path, default=Path("/tmp/autocode-scale"))
    ap.add_argument("--log", type=Path, default=Path("scale.jsonl"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--variants", type=int, default=0,
                    help="at most this many re-wordings of each demo sentence (bench/generate.py)")
    args = ap.parse_args()
    if args.clustering_only:
        return clustering_growth(args.sizes, args.no_sample_up_to, args.seed)
    print("| transcripts | step | seconds | peak MiB |\n|---|---|---|---|", flush=True)
    for n in args.sizes:
        run_size(n, args.work, args.log, args.seed, args.variants)


if __name__ == "__main__":
    main()
