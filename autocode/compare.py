"""Agreement between two codings of the same utterances.

The foundation's figures: percent agreement, Cohen's kappa and macro-F1, used by
cross-validation in ``autocode train`` and by the benchmarks. Each figure is also read out
in words, as a methods section would.
"""
from __future__ import annotations

import numpy as np

# Landis & Koch (1977) bands for kappa.
LANDIS_KOCH = [(0.0, "poor"), (0.20, "slight"), (0.40, "fair"), (0.60, "moderate"),
               (0.80, "substantial"), (1.01, "almost perfect")]


def kappa_words(kappa: float) -> str:
    if kappa != kappa:  # NaN
        return "undefined"
    for upper, word in LANDIS_KOCH:
        if kappa < upper:
            return word
    return "almost perfect"


def agreement(a, b) -> dict:
    """Percent agreement, Cohen's kappa and macro-F1 of coding ``b`` against reference ``a``."""
    from sklearn.metrics import cohen_kappa_score, f1_score

    a, b = np.asarray(a, dtype=object), np.asarray(b, dtype=object)
    if len(a) != len(b):
        raise ValueError(f"codings: both must cover the same units; got {len(a)} and {len(b)}")
    if len(a) == 0:
        return {"n_units": 0, "percent_agreement": float("nan"), "cohen_kappa": float("nan"), "macro_f1": float("nan")}
    labels = sorted(set(a) | set(b))
    kappa = float(cohen_kappa_score(a, b, labels=labels)) if len(labels) > 1 else 1.0
    return {"n_units": int(len(a)), "percent_agreement": float((a == b).mean() * 100),
            "cohen_kappa": kappa, "macro_f1": float(f1_score(a, b, labels=labels, average="macro", zero_division=0))}
