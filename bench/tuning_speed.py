"""How long fine-tuning takes with the fused optimiser, against the plain one.

    python bench/tuning_speed.py [--shared ../shared] [--comments 1500] [--order 0 1 0 1 0 1]

``autocode.finetune`` steps AdamW with ``fused=True``: one pass over all the weights per step
instead of one per tensor. The arithmetic is the same (tests/test_finetune.py checks it); this
times the difference. One pass of cross-entropy tuning over ``--comments`` NHS patient comments
(seed 0, each taught all its labels, as bench/nhs.py tunes), once per entry of ``--order``
(1 fused, 0 plain), alternated so that a busy moment on the machine does not land on one side
only. Each time runs from loading the model to saving the tuned one.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
from nhs import FILE, load, tuned

REPO = Path(__file__).resolve().parent.parent


def timed(texts, Y, labels, rows, fused: bool, out: Path) -> float:
    """Seconds to tune one pass over ``rows`` with the optimiser fused or not (bench/nhs.py's tuning)."""
    import torch

    from autocode.finetune import LOSSES

    real = torch.optim.AdamW
    torch.optim.AdamW = lambda *a, **k: real(*a, **{**k, "fused": fused})
    try:
        return tuned(texts, Y, labels, rows, 1, out, LOSSES[0])[1]
    finally:
        torch.optim.AdamW = real


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    ap.add_argument("--comments", type=int, default=1500)
    ap.add_argument("--order", type=int, nargs="+", default=[0, 1, 0, 1, 0, 1], help="1 fused, 0 plain")
    a = ap.parse_args()
    if not (a.shared / FILE).is_file():
        sys.exit(f"{a.shared / FILE} not found: this benchmark needs ../shared")
    texts, Y, labels = load(a.shared / FILE)
    rows = np.random.default_rng(0).permutation(len(texts))[: a.comments]
    times: dict[str, list[float]] = {"plain": [], "fused": []}
    with tempfile.TemporaryDirectory() as tmp:
        for k, fused in enumerate(a.order):
            side = "fused" if fused else "plain"
            times[side].append(timed(texts, Y, labels, rows, bool(fused), Path(tmp) / f"m{k}"))
            print(f"  {side}: {times[side][-1]:.1f} s", flush=True)
    print(f"one pass over {len(rows)} comments: " + ", ".join(
        f"{s} mean {np.mean(v):.1f} s (best {min(v):.1f})" for s, v in times.items() if v))


if __name__ == "__main__":
    main()
