"""How long fine-tuning takes: the fused optimiser against the plain one, or bfloat16
arithmetic against float32.

    python bench/tuning_speed.py [--shared ../shared] [--comments 1500] [--order 0 1 0 1 0 1]
                                 [--what optimiser|precision]

``autocode.finetune`` steps AdamW with ``fused=True``: one pass over all the weights per step
instead of one per tensor. The arithmetic is the same (tests/test_finetune.py checks it); this
times the difference (``--what optimiser``, in float32, as it was measured). ``--what precision``
times the network's arithmetic while it learns (``fine_tune_precision``): bfloat16 against
float32, both with the fused optimiser. One pass of cross-entropy tuning over ``--comments``
NHS patient comments (seed 0, each taught all its labels, as bench/nhs.py tunes), once per entry
of ``--order`` (1 fused or bfloat16, 0 plain or float32), alternated so that a busy moment on the
machine does not land on one side only. Each time runs from loading the model to saving the
tuned one.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
from nhs import FILE, load, tuned

REPO = Path(__file__).resolve().parent.parent
SIDES = {"optimiser": ("plain", "fused"), "precision": ("float32", "bfloat16")}


def timed(texts, Y, labels, rows, what: str, new: bool, out: Path) -> float:
    """Seconds to tune one pass over ``rows`` with the new side of ``what`` or the old (bench/nhs.py's tuning)."""
    import torch

    from autocode.finetune import LEARNING_RATE, LOSSES

    fused = new if what == "optimiser" else True
    precision = SIDES["precision"][new] if what == "precision" else "float32"   # the optimiser was timed in float32
    real = torch.optim.AdamW
    torch.optim.AdamW = lambda *a, **k: real(*a, **{**k, "fused": fused})
    try:
        return tuned(texts, Y, labels, rows, 1, out, LOSSES[0], LEARNING_RATE, precision)[1]
    finally:
        torch.optim.AdamW = real


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    ap.add_argument("--comments", type=int, default=1500)
    ap.add_argument("--order", type=int, nargs="+", default=[0, 1, 0, 1, 0, 1],
                    help="1 fused (or bfloat16), 0 plain (or float32)")
    ap.add_argument("--what", choices=list(SIDES), default="optimiser", help="what to compare")
    a = ap.parse_args()
    if not (a.shared / FILE).is_file():
        sys.exit(f"{a.shared / FILE} not found: this benchmark needs ../shared")
    texts, Y, labels = load(a.shared / FILE)
    rows = np.random.default_rng(0).permutation(len(texts))[: a.comments]
    times: dict[str, list[float]] = {side: [] for side in SIDES[a.what]}
    with tempfile.TemporaryDirectory() as tmp:
        for k, new in enumerate(a.order):
            side = SIDES[a.what][bool(new)]
            times[side].append(timed(texts, Y, labels, rows, a.what, bool(new), Path(tmp) / f"m{k}"))
            print(f"  {side}: {times[side][-1]:.1f} s", flush=True)
    print(f"one pass over {len(rows)} comments: " + ", ".join(
        f"{s} mean {np.mean(v):.1f} s (best {min(v):.1f})" for s, v in times.items() if v))


if __name__ == "__main__":
    main()
