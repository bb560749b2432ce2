"""End-to-end benchmark on the reference study (../shared/psw-study), through the CLI.

Adds the 10 transcripts, imports the gold codings of 7, trains, suggests codes for the
other 3, then imports their gold codings as coder "gold" and reports theme agreement
(Cohen's kappa over participant utterances, 5 themes plus "no code") between machine and gold.

    python bench/psw.py [--shared ../shared] [--out docs/benchmarks.md section is printed]
"""
from __future__ import annotations

import argparse
import csv
import sys
import tempfile
import time
from pathlib import Path

from common import autocode

REPO = Path(__file__).resolve().parent.parent
TEST_DOCS = ["P12", "P13", "P15"]


def split_gold(gold: Path, folder: Path) -> tuple[Path, Path]:
    rows = list(csv.DictReader(gold.open(encoding="utf-8")))
    train, test = folder / "gold_train.csv", folder / "gold_test.csv"
    for path, keep in ((train, lambda r: r["document"] not in TEST_DOCS), (test, lambda r: r["document"] in TEST_DOCS)):
        with path.open("w", encoding="utf-8", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(r for r in rows if keep(r))
    return train, test


def agreement_from_export(path: Path) -> dict:
    from autocode.compare import pair_agreement

    by = {"gold": {}, "machine": {}}
    for r in csv.DictReader(path.open(encoding="utf-8")):
        if r["coder"] in by:
            key = (r["document"], r["utterance"])
            # an utterance the gold coder gave several codes counts as agreeing on any of them
            by[r["coder"]].setdefault(key, set()).add(r["theme"])
    keys = sorted(set(by["gold"]) & set(by["machine"]))
    machine = [next(iter(by["machine"][k])) for k in keys]
    gold = [m if m in by["gold"][k] else sorted(by["gold"][k], key=lambda t: t == "")[0] for k, m in zip(keys, machine)]
    return pair_agreement(gold, machine)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    args = ap.parse_args()
    study = args.shared / "psw-study"
    if not study.is_dir():
        sys.exit(f"{study} not found: this benchmark needs the reference study in ../shared")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        proj = str(tmp / "psw")
        t0 = time.perf_counter()
        autocode("init", proj, "--codebook", str(study / "codebook.yaml"))
        autocode("add", str(study / "transcripts"), "--project", proj)
        t_add = time.perf_counter() - t0
        train_csv, test_csv = split_gold(study / "gold_codings.csv", tmp)
        autocode("import-codings", str(train_csv), "--coder", "gold", "--project", proj)
        t1 = time.perf_counter()
        cv = autocode("train", "--coder", "gold", "--project", proj)
        t_train = time.perf_counter() - t1
        autocode("suggest", "--documents", ",".join(TEST_DOCS), "--project", proj)
        autocode("import-codings", str(test_csv), "--coder", "gold", "--project", proj)
        autocode("export", "--format", "csv", "--out", str(tmp / "all.csv"), "--project", proj)
        result = agreement_from_export(tmp / "all.csv")
    print(f"Reference study: trained on gold codings of 7 transcripts, suggested for {', '.join(TEST_DOCS)}")
    print(f"  add 10 transcripts: {t_add:.1f} s; train (with 5-fold document CV): {t_train:.1f} s")
    print("  " + " ".join(cv.split()).replace("Next:", "\n  (").split("\n")[0])
    print(f"  held-out theme agreement, machine vs gold, {result['n_units']} participant utterances: "
          f"kappa {result['cohen_kappa']:.3f}, agreement {result['percent_agreement']:.1f}%, macro-F1 {result['macro_f1']:.3f}")


if __name__ == "__main__":
    main()
