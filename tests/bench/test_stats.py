"""Report math against values computed by hand (and checked against published tables)."""

from __future__ import annotations

import math

import pytest

from offload.bench.stats import (
    cumulative_pass_rates,
    mcnemar,
    mcnemar_chi2,
    mcnemar_exact,
    wilson_interval,
)


def test_wilson_8_of_10():
    # p = 0.8, z = 1.96: centre = (0.8 + 1.9208/10) / 1.38415 = 0.716731; half = 1.96 * sqrt(0.016 + 0.0096040)
    # / 1.38415 = 0.226576  ->  [0.490, 0.943] (the classic textbook value)
    lo, hi = wilson_interval(8, 10)
    assert lo == pytest.approx(0.4902, abs=1e-4)
    assert hi == pytest.approx(0.9433, abs=1e-4)


def test_wilson_edges():
    lo, hi = wilson_interval(0, 10)
    assert lo == 0.0 and hi == pytest.approx(0.2775, abs=1e-4)  # z^2 / (n + z^2) = 3.8415 / 13.8415
    lo, hi = wilson_interval(10, 10)
    assert hi == 1.0 and lo == pytest.approx(0.7225, abs=1e-4)
    assert wilson_interval(0, 0) == (0.0, 1.0)
    lo, hi = wilson_interval(50, 100)  # symmetric around 0.5
    assert (lo + hi) / 2 == pytest.approx(0.5) and lo == pytest.approx(0.4038, abs=1e-4)
    with pytest.raises(ValueError):
        wilson_interval(3, 2)


def test_mcnemar_exact():
    # b=1, c=6: P(X <= 1 | n=7, p=1/2) = (1 + 7) / 128 = 0.0625, two-sided 0.125
    assert mcnemar_exact(1, 6) == pytest.approx(0.125)
    assert mcnemar_exact(6, 1) == pytest.approx(0.125)
    # b=0, c=5: 2 / 32
    assert mcnemar_exact(0, 5) == pytest.approx(0.0625)
    assert mcnemar_exact(3, 3) == 1.0  # capped at 1
    assert mcnemar_exact(0, 0) == 1.0


def test_mcnemar_chi2():
    stat, p = mcnemar_chi2(1, 6)  # (|1-6| - 1)^2 / 7 = 16/7
    assert stat == pytest.approx(16 / 7)
    assert p == pytest.approx(0.13057, abs=1e-4)
    stat, p = mcnemar_chi2(1, 6, continuity=False)  # 25/7
    assert stat == pytest.approx(25 / 7)
    assert p == pytest.approx(math.erfc(math.sqrt(25 / 14)))
    stat, p = mcnemar_chi2(10, 30)  # (20 - 1)^2 / 40 = 9.025, p = 0.00266
    assert stat == pytest.approx(9.025) and p == pytest.approx(0.002663, abs=1e-5)
    assert mcnemar_chi2(0, 0) == (0.0, 1.0)


def test_mcnemar_from_pairs():
    pairs = [(True, True)] * 5 + [(True, False)] + [(False, True)] * 6 + [(False, False)] * 3
    res = mcnemar(pairs)
    assert (res.both, res.only_a, res.only_b, res.neither, res.n) == (5, 1, 6, 3, 15)
    assert res.p_exact == pytest.approx(0.125)
    assert res.chi2 == pytest.approx(16 / 7)


def test_cumulative_pass_rates():
    first = [1, 2, None, 1, 3, None, 2, 1]  # by 1: 3, by 2: 5, by 3: 6 of 8
    assert cumulative_pass_rates(first, 3) == [3 / 8, 5 / 8, 6 / 8]
    assert cumulative_pass_rates(first, 1) == [3 / 8]
    assert cumulative_pass_rates([], 2) == [0.0, 0.0]
    assert cumulative_pass_rates([None, None], 2) == [0.0, 0.0]
    with pytest.raises(ValueError):
        cumulative_pass_rates(first, 0)
