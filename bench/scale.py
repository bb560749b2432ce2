"""Scale: time and peak memory of add, propose, train and suggest as the corpus grows.

For each size, generates that many transcripts from the demo corpus (bench/generate.py; the
first 20% come with alice's codings), then runs, through the CLI as a researcher would:
init, add (segments and embeds), import-codings, propose, train (with its cross-validation)
and suggest (every uncoded transcript). Each step runs in its own process; its wall time and
peak resident memory (from the operating system's accounting of that process) are printed as
a Markdown table and appended, one JSON line per step, to --log, so a run cut short keeps the
sizes it finished.

    python bench/scale.py 10 100 1000 [--work /tmp/autocode-scale] [--log scale.jsonl]
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


def run_size(n: int, work: Path, log: Path, seed: int) -> list[dict]:
    folder = work / f"n{n}"
    shutil.rmtree(folder, ignore_errors=True)  # a fresh project each time
    made = generate(n, folder, seed)
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
            f.write(json.dumps({**row, "coded_transcripts": made["coded"], "time": time.strftime("%H:%M:%S")}) + "\n")
        print(f"| {n} | {name} | {row['seconds']} | {row['peak_mib']} |", flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sizes", type=int, nargs="+")
    ap.add_argument("--work", type=Path, default=Path("/tmp/autocode-scale"))
    ap.add_argument("--log", type=Path, default=Path("scale.jsonl"))
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    print("| transcripts | step | seconds | peak MiB |\n|---|---|---|---|", flush=True)
    for n in args.sizes:
        run_size(n, args.work, args.log, args.seed)


if __name__ == "__main__":
    main()
