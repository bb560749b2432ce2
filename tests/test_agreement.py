"""Agreement statistics, cross-checked against independent implementations to 1e-9."""
from __future__ import annotations

import krippendorff
import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import aggregate_raters
from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss

from autocode import agreement as ag

N = None
# Krippendorff (2011), "Computing Krippendorff's alpha-reliability": 4 coders, 12 units,
# values missing; the published nominal alpha is 0.743.
KRIPP = [[1, 2, 3, 3, 2, 1, 4, 1, 2, N, N, N],
         [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, N, 3],
         [N, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, N],
         [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, N]]


def as_table(coders):
    return [[None if v is None else str(v) for v in unit] for unit in zip(*coders)]


def random_pair(seed, n=300, k=4, agree=0.6):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, k, n).astype(str)
    b = np.where(rng.random(n) < agree, a, rng.integers(0, k, n).astype(str))
    return list(a), list(b)


def test_krippendorff_published_example():
    alpha = ag.krippendorff_alpha(as_table(KRIPP))
    assert round(alpha, 3) == 0.743
    reference = krippendorff.alpha(reliability_data=np.array([[np.nan if v is None else v for v in c] for c in KRIPP], float),
                                   level_of_measurement="nominal")
    assert abs(alpha - reference) < 1e-9


@pytest.mark.parametrize("seed", range(5))
def test_alpha_matches_the_krippendorff_package_with_missing_values(seed):
    rng = np.random.default_rng(seed)
    data = rng.integers(0, 5, (3, 80)).astype(float)
    data[rng.random(data.shape) < 0.2] = np.nan
    table = [[None if np.isnan(v) else str(int(v)) for v in unit] for unit in data.T]
    assert abs(ag.krippendorff_alpha(table) - krippendorff.alpha(reliability_data=data, level_of_measurement="nominal")) < 1e-9


@pytest.mark.parametrize("seed", range(5))
def test_cohen_kappa_matches_scikit_learn(seed):
    a, b = random_pair(seed)
    assert abs(ag.cohen_kappa(a, b) - cohen_kappa_score(a, b)) < 1e-9


@pytest.mark.parametrize("seed", range(5))
def test_fleiss_kappa_matches_statsmodels(seed):
    ratings = np.random.default_rng(seed).integers(0, 3, (120, 4))
    table = [[str(v) for v in row] for row in ratings]
    assert abs(ag.fleiss_kappa(table) - sm_fleiss(aggregate_raters(ratings)[0])) < 1e-9


def test_cohen_kappa_textbook_example():
    # Cohen (1960)-style 2x2: 20 yes/yes, 5 yes/no, 10 no/yes, 15 no/no -> p_o 0.7, p_e 0.5, kappa 0.4
    a = ["yes"] * 25 + ["no"] * 25
    b = ["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15
    assert abs(ag.cohen_kappa(a, b) - 0.4) < 1e-9
    assert abs(ag.percent_agreement([[x, y] for x, y in zip(a, b)]) - 70.0) < 1e-9


def test_brennan_prediger_uses_one_over_q():
    table = [["a", "a"], ["a", "b"], ["b", "b"], ["c", "c"]]   # p_o = 0.75, q = 3
    assert abs(ag.brennan_prediger(table, 3) - (0.75 - 1 / 3) / (1 - 1 / 3)) < 1e-9


def test_weights_count_as_repeated_units():
    a, b = random_pair(7, n=40)
    w = np.random.default_rng(7).integers(1, 6, 40)
    a_rep = [x for x, k in zip(a, w) for _ in range(k)]
    b_rep = [y for y, k in zip(b, w) for _ in range(k)]
    table, table_rep = [[x, y] for x, y in zip(a, b)], [[x, y] for x, y in zip(a_rep, b_rep)]
    assert abs(ag.cohen_kappa(a, b, w) - ag.cohen_kappa(a_rep, b_rep)) < 1e-9
    assert abs(ag.krippendorff_alpha(table, w) - ag.krippendorff_alpha(table_rep)) < 1e-9
    assert abs(ag.percent_agreement(table, w) - ag.percent_agreement(table_rep)) < 1e-9


def test_batched_bootstrap_statistics_equal_the_plain_ones():
    M, cats = ag.encode(as_table(KRIPP))
    ones = np.ones((1, len(M)))
    assert abs(ag._alpha_batch(M, len(cats), ones)[0] - ag._alpha(M, len(cats))) < 1e-9
    a, b = random_pair(3)
    M2, cats2 = ag.encode([[x, y] for x, y in zip(a, b)])
    assert abs(ag._cohen_batch(M2, len(cats2), np.ones((1, len(M2))))[0] - ag._cohen(M2, len(cats2))) < 1e-9


def test_bootstrap_interval_is_seeded_and_contains_the_estimate():
    a, b = random_pair(1)
    M, cats = ag.encode([[x, y] for x, y in zip(a, b)])
    ci = ag.bootstrap_ci("kappa", M, len(cats), seed=0)
    assert ci == ag.bootstrap_ci("kappa", M, len(cats), seed=0)
    assert ci[0] < ag.cohen_kappa(a, b) < ci[1]
    assert ci != ag.bootstrap_ci("kappa", M, len(cats), seed=1)


@pytest.mark.parametrize("table", [[["a", "a"], ["a", "a"]], [["x", "x"]] * 5])
def test_single_category_is_undefined_not_nan(table):
    assert ag.cohen_kappa([r[0] for r in table], [r[1] for r in table]) is None
    assert ag.krippendorff_alpha(table) is None
    assert ag.fleiss_kappa(table) is None
    assert ag.percent_agreement(table) == 100.0


def test_perfect_agreement_with_variation_is_one():
    table = [["a", "a"], ["b", "b"], ["c", "c"]]
    assert ag.cohen_kappa(["a", "b", "c"], ["a", "b", "c"]) == 1.0
    assert abs(ag.krippendorff_alpha(table) - 1.0) < 1e-12


def test_no_overlap_gives_none():
    assert ag.krippendorff_alpha([["a", None], [None, "b"]]) is None
    assert ag.percent_agreement([["a", None]]) is None
    assert ag.cohen_kappa(["a", None], [None, "b"]) is None


@pytest.mark.parametrize("kappa, words", [(-0.1, "poor"), (0.1, "slight"), (0.3, "fair"), (0.5, "moderate"),
                                          (0.7, "substantial"), (0.9, "almost perfect"), (1.0, "almost perfect")])
def test_landis_koch_bands(kappa, words):
    assert ag.kappa_words(kappa) == words


@pytest.mark.parametrize("alpha, words", [(0.9, "reliable"), (0.8, "reliable"), (0.7, "acceptable only for tentative conclusions"),
                                          (0.5, "not reliable"), (None, "undefined")])
def test_krippendorff_rule(alpha, words):
    assert ag.alpha_words(alpha) == words


def test_describe_reads_out_value_interval_and_words():
    assert ag.describe("alpha", 0.71, (0.64, 0.77), ag.alpha_words) == \
        "alpha 0.71 (0.64\u20130.77): acceptable only for tentative conclusions"


@pytest.mark.parametrize("kappa, words", [(0.8023, "substantial"), (0.812, "almost perfect"), (0.6049, "moderate"),
                                          (0.6051, "substantial"), (-0.004, "slight")])
def test_the_band_is_the_band_of_the_figure_shown(kappa, words):
    """Reported to two decimals, 0.8023 is 0.80: Landis and Koch's 0.61-0.80, substantial."""
    assert ag.kappa_words(kappa) == words
