"""Agreement statistics between coders, with each figure read out in words.

Pure functions over a *reliability table*: one row per unit, one label per coder (``None``
where that coder did not code the unit), and an optional weight per unit (the number of
characters, when the unit is text). Weighted units count as that many identical units, so
character-level figures need no table of millions of rows.

A figure that is undefined for the data (kappa when everyone used one category) is ``None``
with a note saying why, never NaN.
"""
from __future__ import annotations

import numpy as np

Label = str
Table = list[list[Label | None]]


def encode(table: Table) -> tuple[np.ndarray, list[Label]]:
    """Integer matrix (units x coders, -1 = missing) and the category names."""
    cats = sorted({v for row in table for v in row if v is not None})
    index = {c: i for i, c in enumerate(cats)}
    width = max((len(r) for r in table), default=0)
    M = np.full((len(table), width), -1, dtype=np.int64)
    for i, row in enumerate(table):
        for j, v in enumerate(row):
            if v is not None:
                M[i, j] = index[v]
    return M, cats


def _counts(M: np.ndarray, n_cats: int) -> np.ndarray:
    """Units x categories: how many coders gave each category."""
    onehot = np.vstack([np.eye(max(n_cats, 1)), np.zeros((1, max(n_cats, 1)))])  # row -1: missing
    return onehot[M].sum(axis=1)


def _w(M, weights) -> np.ndarray:
    return np.ones(len(M)) if weights is None else np.asarray(weights, dtype=float)


# Each statistic has a fast form over (M, n_cats, weights), used by the bootstrap, and a
# plain form over a table of labels.

def _percent(M, k, weights=None):
    N, w = _counts(M, k), _w(M, weights)
    m = N.sum(axis=1)
    ok = m >= 2
    if not ok.any():
        return None
    share = (N[ok] * (N[ok] - 1)).sum(axis=1) / (m[ok] * (m[ok] - 1))
    return float(100 * (w[ok] * share).sum() / w[ok].sum())


def _cohen(M, k, weights=None, pair=(0, 1)):
    w = _w(M, weights)
    a, b = M[:, pair[0]], M[:, pair[1]]
    ok = (a >= 0) & (b >= 0)
    if not ok.any():
        return None
    C = np.bincount(a[ok] * k + b[ok], weights=w[ok], minlength=k * k).reshape(k, k)
    C /= C.sum()
    p_o, p_e = np.trace(C), (C.sum(axis=1) * C.sum(axis=0)).sum()
    return None if np.isclose(p_e, 1.0) else float((p_o - p_e) / (1 - p_e))


def _fleiss(M, k, weights=None):
    w = _w(M, weights)
    full = (M >= 0).all(axis=1)
    n = M.shape[1]
    if not full.any() or n < 2:
        return None
    N, wf = _counts(M[full], k), w[full]
    p_bar = (wf * ((N ** 2).sum(axis=1) - n) / (n * (n - 1))).sum() / wf.sum()
    p_e = (((wf[:, None] * N).sum(axis=0) / (wf.sum() * n)) ** 2).sum()
    return None if np.isclose(p_e, 1.0) else float((p_bar - p_e) / (1 - p_e))


def _alpha(M, k, weights=None):
    N, w = _counts(M, k), _w(M, weights)
    m = N.sum(axis=1)
    ok = m >= 2
    if not ok.any():
        return None
    scale = w[ok] / (m[ok] - 1)
    O = (N[ok] * scale[:, None]).T @ N[ok] - np.diag((N[ok] * scale[:, None]).sum(axis=0))
    n_c = O.sum(axis=1)
    n = n_c.sum()
    expected = n ** 2 - (n_c ** 2).sum()
    if n <= 1 or np.isclose(expected, 0):
        return None
    return float(1 - (n - 1) * (O.sum() - np.trace(O)) / expected)


def _bp(M, k, weights=None, q=None):
    p_o = _percent(M, k, weights)
    q = q or k
    if p_o is None or q < 2:
        return None
    return float((p_o / 100 - 1 / q) / (1 - 1 / q))


def percent_agreement(table: Table, weights=None) -> float | None:
    """Share of agreeing coder pairs within units, over units coded by two or more (as %)."""
    M, cats = encode(table)
    return _percent(M, len(cats), weights)


def cohen_kappa(a: list, b: list, weights=None) -> float | None:
    """Cohen's kappa for two coders over the units both coded."""
    M, cats = encode([[x, y] for x, y in zip(a, b)])
    return _cohen(M, len(cats), weights)


def fleiss_kappa(table: Table, weights=None) -> float | None:
    """Fleiss' kappa over the units every coder coded."""
    M, cats = encode(table)
    return _fleiss(M, len(cats), weights)


def krippendorff_alpha(table: Table, weights=None) -> float | None:
    """Krippendorff's alpha, nominal, any number of coders, missing values allowed."""
    M, cats = encode(table)
    return _alpha(M, len(cats), weights)


def brennan_prediger(table: Table, n_categories: int, weights=None) -> float | None:
    """Brennan and Prediger's kappa: chance agreement is 1/q for q categories."""
    M, cats = encode(table)
    return _bp(M, len(cats), weights, n_categories)


def bootstrap_ci(kind: str, M: np.ndarray, k: int, weights=None, n_boot: int = 1000, seed: int = 0,
                 level: float = 0.95) -> tuple[float, float] | None:
    """Percentile interval for Cohen's kappa (``kind="kappa"``, first two coders) or
    Krippendorff's alpha (``kind="alpha"``), resampling units with replacement.

    All resamples are computed at once: each is a vector of unit weights, and both statistics
    are sums of per-unit contributions, so the whole bootstrap is one matrix product.
    """
    if len(M) < 2 or k < 1:
        return None
    rng, w = np.random.default_rng(seed), _w(M, weights)
    W = rng.multinomial(len(M), np.full(len(M), 1 / len(M)), size=n_boot) * w[None, :]
    values = _alpha_batch(M, k, W) if kind == "alpha" else _cohen_batch(M, k, W)
    values = values[~np.isnan(values)]
    if len(values) < n_boot / 2:
        return None
    lo, hi = np.percentile(values, [100 * (1 - level) / 2, 100 * (1 + level) / 2])
    return float(lo), float(hi)


def _cohen_batch(M, k, W) -> np.ndarray:
    a, b = M[:, 0], M[:, 1]
    ok = (a >= 0) & (b >= 0)
    cells = np.zeros((len(M), k * k))
    cells[np.flatnonzero(ok), a[ok] * k + b[ok]] = 1
    C = (W @ cells).reshape(-1, k, k)
    C /= np.maximum(C.sum(axis=(1, 2), keepdims=True), 1e-300)
    p_o = np.trace(C, axis1=1, axis2=2)
    p_e = (C.sum(axis=2) * C.sum(axis=1)).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(np.isclose(p_e, 1.0), np.nan, (p_o - p_e) / (1 - p_e))


def _alpha_batch(M, k, W) -> np.ndarray:
    N = _counts(M, k)
    m = N.sum(axis=1)
    ok = m >= 2
    per_unit = np.einsum("uc,ud->ucd", N, N) - np.einsum("uc,cd->ucd", N, np.eye(N.shape[1]))
    per_unit[ok] /= (m[ok] - 1)[:, None, None]
    per_unit[~ok] = 0
    O = (W @ per_unit.reshape(len(M), -1)).reshape(len(W), N.shape[1], N.shape[1])
    n_c = O.sum(axis=2)
    n = n_c.sum(axis=1)
    expected = n ** 2 - (n_c ** 2).sum(axis=1)
    disagree = O.sum(axis=(1, 2)) - np.trace(O, axis1=1, axis2=2)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where((n <= 1) | np.isclose(expected, 0), np.nan, 1 - (n - 1) * disagree / expected)


# -- reading figures out in words ------------------------------------------------------------------

# Landis and Koch's bands, by their upper bounds: 0.00-0.20 slight, 0.21-0.40 fair, ... 0.81-1.00 almost perfect
LANDIS_KOCH = [(0.20, "slight"), (0.40, "fair"), (0.60, "moderate"), (0.80, "substantial"),
               (float("inf"), "almost perfect")]


def kappa_words(kappa: float | None) -> str:
    """Landis and Koch's (1977) band for a kappa, as it is reported (two decimals): 0.8023
    reads "0.80", so "substantial", never "almost perfect" beside it."""
    if kappa is None or kappa != kappa:
        return "undefined"
    shown = round(kappa, 2)
    return "poor" if shown < 0 else next(word for upper, word in LANDIS_KOCH if shown <= upper)


def alpha_words(alpha: float | None) -> str:
    """Krippendorff's rule: 0.800 customary, 0.667 the lowest for tentative conclusions."""
    if alpha is None:
        return "undefined"
    if alpha >= 0.800:
        return "reliable"
    if alpha >= 0.667:
        return "acceptable only for tentative conclusions"
    return "not reliable"


def trust_words(a: dict) -> str:
    """Which suggestions to trust, from cross-validation's abstention figures (``learn.abstention``):
    the same sentence in ``train``'s output and in the report."""
    if a.get("threshold") is None:
        return ""
    on = {"themes": " on themes", "codes": " on codes"}.get(a.get("level"), "")
    every = a["coverage"] >= 0.999
    codes = (" A suggested code is right less often than its theme: read suggested codes with care"
             + ("." if every else " even above that confidence.") if a.get("level") == "themes" else "")
    if every:   # a figure from cross-validation, not a licence to accept everything unread
        return (f"In cross-validation, even the least confident suggestions agreed substantially{on} (kappa "
                f"{a['kappa']:.2f}), so no confidence threshold is named. That holds for transcripts like the ones it "
                f"learnt from: on new ones, check the least confident first ('autocode next' lists them).{codes}")
    return (f"Suggestions with confidence {a['threshold']:.3g} or more ({a['coverage']:.0%} of them) agreed "
            f"substantially{on} (kappa {a['kappa']:.2f}); treat those below as uncertain.{codes}")


def describe(name: str, value: float | None, ci: tuple[float, float] | None, words) -> str:
    """E.g. "alpha 0.71 (0.64-0.77): acceptable only for tentative conclusions"."""
    if value is None:
        return f"{name} undefined"
    interval = f" ({ci[0]:.2f}\u2013{ci[1]:.2f})" if ci else ""
    return f"{name} {value:.2f}{interval}: {words(value)}"
