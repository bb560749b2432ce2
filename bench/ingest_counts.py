"""Ingest robustness on real transcripts in ../shared: every file reads, speakers recognised.

    python bench/ingest_counts.py [--shared ../shared]

Reports, per corpus, files read, files with errors, turns, utterances and speakers, and
checks that every utterance's offsets give back its exact text.
"""
from __future__ import annotations

import argparse
import collections
import sys
import tempfile
import time
from pathlib import Path

from autocode import Project, add_files
from autocode.ingest import read_transcripts

REPO = Path(__file__).resolve().parent.parent
CORPORA = {"primock57 (.vtt)": "datasets/primock57/vtt", "interviews-mlss (.txt)": "datasets/interviews-mlss/transcripts",
           "psw-study (.txt)": "psw-study/transcripts"}


def count(folder: Path) -> dict:
    files = sorted(p for p in folder.iterdir() if p.suffix in {".vtt", ".txt"})
    errors, turns, speakers, labels = [], 0, collections.Counter(), collections.Counter()
    for f in files:
        try:
            [t] = read_transcripts(f)
        except Exception as exc:  # report, don't stop: this is a robustness count
            errors.append(f"{f.name}: {exc}")
            continue
        turns += len(t.turns)
        names = {turn.speaker for turn in t.turns}
        speakers[len(names)] += 1
        labels.update(names)
    with tempfile.TemporaryDirectory() as tmp:
        p = Project.create(Path(tmp) / "p")
        t0 = time.perf_counter()
        report = add_files(p, files)
        seconds = time.perf_counter() - t0
        bad = p.conn.execute("SELECT COUNT(*) FROM utterances u JOIN documents d ON d.id = u.document "
                             "WHERE substr(d.text, u.start + 1, u.end - u.start) != u.text").fetchone()[0]
        interviewer = p.conn.execute("SELECT COUNT(*) FROM utterances WHERE is_interviewer = 1").fetchone()[0]
        p.close()
    return {"files": len(files), "errors": errors, "turns": turns, "utterances": report.utterances,
            "interviewer_utterances": interviewer, "offset_mismatches": bad, "speakers_per_file": dict(sorted(speakers.items())),
            "labels": labels.most_common(6), "seconds": seconds}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    args = ap.parse_args()
    for name, rel in CORPORA.items():
        folder = args.shared / rel
        if not folder.is_dir():
            print(f"{name}: {folder} not found, skipped")
            continue
        c = count(folder)
        print(f"{name}: {c['files']} files, {len(c['errors'])} errors, {c['turns']} turns, {c['utterances']} utterances "
              f"({c['interviewer_utterances']} interviewer), offset mismatches {c['offset_mismatches']}, "
              f"speakers per file {c['speakers_per_file']}, add took {c['seconds']:.1f} s")
        print(f"    most common speaker labels: {', '.join(f'{l} ({n})' for l, n in c['labels'])}")
        for e in c["errors"]:
            print(f"    error: {e}")
    sys.exit(0)


if __name__ == "__main__":
    main()
