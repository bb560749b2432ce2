"""End-to-end benchmark on the reference study (../shared/psw-study), through the CLI.

Adds the 10 transcripts, imports the gold codings of 7, trains, suggests codes for the
other 3, then imports their gold codings as coder "gold" and reports theme agreement
(Cohen's kappa over participant utterances, 5 themes plus "no code") between machine and gold.

    python bench/psw.py [--shared ../shared] [--fine-tune [--tuning-loss best]]

--fine-tune trains with `autocode train --fine-tune`: the embedding model is tuned on the 7
training transcripts' themes first, and cross-validation tunes one model per fold and keeps the
reading (general model, tuned model, or both side by side) that agreed best. --tuning-loss sets
the project's ``fine_tune_loss`` (default cross-entropy; "best" lets cross-validation choose it).
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
import time
from pathlib import Path

from autocode.finetune import LOSSES
from autocode.learn import CHOOSE_LOSS
from common import autocode, set_setting

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


def agreement_from_export(path: Path, threshold: float | None = None, gold: str = "gold",
                          level: str = "theme") -> dict:
    """Agreement of machine with the ``gold`` coder over ``level`` ("theme" or "code") in an
    exported CSV; with a threshold, over the suggestions at or above it."""
    from autocode.compare import pair_agreement

    by, confidence = {gold: {}, "machine": {}}, {}
    for r in csv.DictReader(path.open(encoding="utf-8-sig")):
        if r["coder"] in by:
            key = (r["document"], r["utterance"])
            # an utterance the gold coder gave several codes counts as agreeing on any of them
            by[r["coder"]].setdefault(key, set()).add(r[level])
            if r["coder"] == "machine":
                confidence[key] = float(r["confidence"])
    keys = sorted(set(by[gold]) & set(by["machine"]))
    covered = [k for k in keys if threshold is None or confidence[k] >= threshold]
    machine = [next(iter(by["machine"][k])) for k in covered]
    truth = [m if m in by[gold][k] else sorted(by[gold][k], key=lambda t: t == "")[0] for k, m in zip(covered, machine)]
    return {**pair_agreement(truth, machine), "coverage": len(covered) / len(keys)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    ap.add_argument("--fine-tune", action="store_true", help="tune the embedding model on the training codes first")
    ap.add_argument("--tuning-loss", choices=[*LOSSES, CHOOSE_LOSS], default=LOSSES[0],
                    help=f"{CHOOSE_LOSS!r}: cross-validation on the training transcripts tries each loss and keeps the best")
    args = ap.parse_args()
    study = args.shared / "psw-study"
    if not study.is_dir():
        sys.exit(f"{study} not found: this benchmark needs the reference study in ../shared")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        proj = str(tmp / "psw")
        t0 = time.perf_counter()
        autocode("init", proj, "--codebook", str(study / "codebook.yaml"))
        set_setting(Path(proj), "classifier", "fine_tune_loss", args.tuning_loss)
        autocode("add", str(study / "transcripts"), "--project", proj)
        t_add = time.perf_counter() - t0
        train_csv, test_csv = split_gold(study / "gold_codings.csv", tmp)
        autocode("import-codings", str(train_csv), "--coder", "gold", "--project", proj)
        t1 = time.perf_counter()
        tune = ["--fine-tune"] if args.fine_tune else []
        metrics = json.loads(autocode("train", *tune, "--coder", "gold", "--json", "--project", proj))
        t_train = time.perf_counter() - t1
        autocode("suggest", "--documents", ",".join(TEST_DOCS), "--project", proj)
        autocode("import-codings", str(test_csv), "--coder", "gold", "--project", proj)
        autocode("export", "--format", "csv", "--out", str(tmp / "all.csv"), "--project", proj)
        result = agreement_from_export(tmp / "all.csv")
        abstain = metrics["cross_validation"]["abstention"]
        sure = agreement_from_export(tmp / "all.csv", abstain["threshold"]) if abstain["threshold"] is not None else None
        trade_offs = [(share, point, agreement_from_export(tmp / "all.csv", point["threshold"]))
                      for share in (0.75, 0.5, 0.25) for point in [at_coverage(abstain["curve"], share)]]
    print(f"Reference study: trained on gold codings of 7 transcripts, suggested for {', '.join(TEST_DOCS)}")
    print(f"  add 10 transcripts: {t_add:.1f} s; train (with 5-fold document CV): {t_train:.1f} s")
    cv = metrics["cross_validation"]
    print(f"  trained on {metrics['utterances']} utterances; 5-fold document CV: theme kappa {cv['themes']['cohen_kappa']:.3f}, "
          f"code kappa {cv['codes']['cohen_kappa']:.3f}")
    if metrics.get("losses"):
        print(f"  loss kept by cross-validation: {metrics['tuning_loss']} "
              f"(theme kappa of each loss's best reading: {', '.join(f'{n} {k:.3f}' for n, k in metrics['losses'].items())})")
    if metrics.get("readings"):
        print(f"  reading kept by cross-validation: {metrics['reading']} "
              f"(theme kappa {', '.join(f'{n} {k:.3f}' for n, k in metrics['readings'].items())})")
    print(f"  held-out theme agreement, machine vs gold, {result['n_units']} participant utterances: "
          f"kappa {result['cohen_kappa']:.3f}, agreement {result['percent_agreement']:.1f}%, macro-F1 {result['macro_f1']:.3f}")
    a = abstain
    if sure is None:
        print(f"  abstention: no confidence threshold reached theme kappa {a['target_kappa']} in training CV")
    else:
        print(f"  abstention: threshold {a['threshold']:.3f} chosen in training CV (there: coverage {a['coverage']:.0%}, "
              f"kappa {a['kappa']:.3f}); held out: coverage {sure['coverage']:.0%}, kappa {sure['cohen_kappa']:.3f}, "
              f"agreement {sure['percent_agreement']:.1f}%")
    for share, point, held in trade_offs:
        print(f"  the most confident {share:.0%} in training CV: threshold {point['threshold']:.3f} (CV kappa "
              f"{point['kappa']:.3f}); held out: coverage {held['coverage']:.0%}, kappa {held['cohen_kappa']:.3f}, "
              f"agreement {held['percent_agreement']:.1f}%")


def at_coverage(curve: list[dict], share: float) -> dict:
    """The highest threshold whose training-CV coverage is still at least ``share``."""
    return [c for c in curve if c["coverage"] >= share][-1]

if __name__ == "__main__":
    main()
