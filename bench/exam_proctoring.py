"""Real double coding: educators' survey answers on exam proctoring, two coders (../shared).

    python bench/exam_proctoring.py [--shared ../shared]

Converts each coder's 14 question files into one codings CSV (document = question, utterance =
response id, one row per code; an answered question with no code is "no code"), then runs
`autocode compare primary.csv secondary.csv` and prints the overall and per-code agreement.
"""
from __future__ import annotations

import argparse
import csv
import re
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FIELDS = ["document", "utterance", "start", "end", "speaker", "text", "code", "theme", "coder", "confidence"]


def convert(folder: Path, out: Path) -> tuple[Path, Path]:
    """Write primary.csv and secondary.csv in autocode's codings format."""
    paths = []
    for coder in ("primary", "secondary"):
        path = out / f"{coder}.csv"
        with path.open("w", encoding="utf-8", newline="") as f:
            w = csv.DictWriter(f, fieldnames=FIELDS)
            w.writeheader()
            for src in sorted(folder.glob(f"*({coder}).csv")):
                question = re.search(r" - (\w+) \(", src.name).group(1)
                w.writerows(_rows(src, question, coder))
        paths.append(path)
    return paths[0], paths[1]


def _rows(src: Path, question: str, coder: str):
    with src.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f)
        next(reader)
        for row in reader:
            answer, codes = row[1].strip(), sorted({c.strip() for c in row[2:] if c.strip()})
            if not answer:
                continue
            for code in codes or [""]:
                yield {"document": question, "utterance": row[0], "text": answer, "code": code, "coder": coder}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    args = ap.parse_args()
    folder = args.shared / "datasets/exam-proctoring-two-coders/irr_inputs"
    if not folder.is_dir():
        sys.exit(f"{folder} not found: this benchmark needs ../shared")
    with tempfile.TemporaryDirectory() as tmp:
        primary, secondary = convert(folder, Path(tmp))
        cmd = [sys.executable, "-m", "autocode.cli", "compare", str(primary), str(secondary), "--csv", str(Path(tmp) / "codes.csv")]
        done = subprocess.run(cmd, capture_output=True, text=True, env={"COLUMNS": "160", **_env()})
        print(done.stdout, done.stderr)
        rows = list(csv.DictReader((Path(tmp) / "codes.csv").open(encoding="utf-8")))
    top = sorted(rows, key=lambda r: -int(r["n_units"] or 0))
    print(f"{len(rows)} codes compared; per-code figures for the codes in the most units are in the table above.")
    del top


def _env() -> dict:
    import os

    return dict(os.environ)


if __name__ == "__main__":
    main()
