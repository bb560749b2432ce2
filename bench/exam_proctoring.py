"""Real double coding: educators' survey answers on exam proctoring, two coders (../shared).

    python bench/exam_proctoring.py [--shared ../shared]

Converts each coder's 14 question files into one codings CSV (document = question, utterance =
response id, one row per code; for the larger questions the secondary coder coded a ~20% sample,
so an answer without codes counts as not coded), then runs
`autocode compare primary.csv secondary.csv` and prints the overall and per-code agreement.
"""
from __future__ import annotations

import argparse
import csv
import re
import sys
import json
import tempfile
from pathlib import Path

import numpy as np

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
            if not answer or not codes:  # the secondary coder coded a sample: no codes = not coded
                continue
            for code in codes:
                yield {"document": question, "utterance": row[0], "text": answer, "code": code, "coder": coder}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    args = ap.parse_args()
    folder = args.shared / "datasets/exam-proctoring-two-coders/irr_inputs"
    if not folder.is_dir():
        sys.exit(f"{folder} not found: this benchmark needs ../shared")
    from common import autocode  # here, so tests can load convert() without bench/ on the path

    with tempfile.TemporaryDirectory() as tmp:
        primary, secondary = convert(folder, Path(tmp))
        report = json.loads(autocode("compare", str(primary), str(secondary), "--json"))
    o = report["overall"]
    print(f"Overall ({o['n_units']} answers coded by both; each answer's set of codes as one category): "
          f"{o['percent_agreement']:.1f}% agreement; {o['in_words']}")
    print("\nPer question (document): units, kappa, alpha")
    for doc, f in report["per_document"].items():
        print(f"  {doc}: {f['n_units']}, {_f(f.get('cohen_kappa'))}, {_f(f['krippendorff_alpha'])}")
    codes = {c: f for c, f in report["per_code"].items() if f["n_units"]}
    kappas = [f["cohen_kappa"] for f in codes.values() if f.get("cohen_kappa") is not None]
    print(f"\nPer code (present/absent, within the questions that use it): {len(codes)} codes, "
          f"median kappa {np.median(kappas):.2f}; undefined for {len(codes) - len(kappas)} (one category only)")
    print("Most used codes:")
    used = sorted(codes.items(), key=lambda kv: -sum(kv[1]["present"].values()))[:10]
    for code, f in used:
        print(f"  {code}: primary used it {f['present']['primary']} times, secondary {f['present']['secondary']}; over the {f['n_units']} answers both coded: "
              f"agreement {f['percent_agreement']:.1f}%, {f['in_words']}")


def _f(x) -> str:
    return "undefined" if x is None else f"{x:.2f}"


if __name__ == "__main__":
    main()
