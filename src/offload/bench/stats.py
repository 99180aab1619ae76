"""Statistics for bench reports: Wilson score intervals, McNemar's paired test, pass rates by iteration.

Everything here is pure (no I/O, no clock) and uses only the standard library, so each number in a report
can be checked by hand.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "Z_95",
    "McNemar",
    "cumulative_pass_rates",
    "mcnemar",
    "mcnemar_chi2",
    "mcnemar_exact",
    "wilson_interval",
]

#: The two-sided 95% quantile of the standard normal distribution.
Z_95 = 1.959963984540054


def wilson_interval(successes: int, n: int, z: float = Z_95) -> tuple[float, float]:
    """The Wilson score interval for ``successes`` out of ``n`` trials (95% by default).

    Unlike the normal ("Wald") interval it stays inside [0, 1] and behaves at 0/n and n/n, which is where
    small bench runs live. With no trials at all nothing is known: ``(0.0, 1.0)``.
    """
    if n < 0 or successes < 0 or successes > n:
        raise ValueError(f"need 0 <= successes <= n, got {successes} of {n}")
    if n == 0:
        return (0.0, 1.0)
    p = successes / n
    z2 = z * z
    denom = 1.0 + z2 / n
    centre = (p + z2 / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denom
    lo = 0.0 if successes == 0 else max(0.0, centre - half)  # exact ends: rounding must not leave 1 - 1e-16
    hi = 1.0 if successes == n else min(1.0, centre + half)
    return (lo, hi)


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value for ``b`` and ``c`` discordant pairs (binomial, p = 1/2).

    ``b`` counts tasks only the first system solved, ``c`` tasks only the second solved.
    """
    if b < 0 or c < 0:
        raise ValueError("discordant counts cannot be negative")
    n = b + c
    if n == 0:
        return 1.0
    k = min(b, c)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2**n
    return min(1.0, 2.0 * tail)


def mcnemar_chi2(b: int, c: int, *, continuity: bool = True) -> tuple[float, float]:
    """McNemar's chi-square statistic (1 degree of freedom) and its p-value.

    With ``continuity`` (Edwards' correction, the default) the statistic is ``(|b - c| - 1)^2 / (b + c)``.
    Returns ``(0.0, 1.0)`` when there are no discordant pairs.
    """
    if b < 0 or c < 0:
        raise ValueError("discordant counts cannot be negative")
    n = b + c
    if n == 0:
        return (0.0, 1.0)
    diff = float(abs(b - c))
    if continuity:
        diff = max(0.0, diff - 1.0)
    stat = diff * diff / n
    # survival function of chi-square with 1 df: P(X > x) = erfc(sqrt(x / 2))
    return (stat, math.erfc(math.sqrt(stat / 2.0)))


@dataclass(frozen=True)
class McNemar:
    """A paired comparison of two systems A and B on the same tasks."""

    both: int
    only_a: int
    only_b: int
    neither: int
    p_exact: float
    chi2: float
    p_chi2: float

    @property
    def n(self) -> int:
        return self.both + self.only_a + self.only_b + self.neither


def mcnemar(pairs: Sequence[tuple[bool, bool]]) -> McNemar:
    """McNemar's test over paired outcomes ``(a_passed, b_passed)``, one pair per task."""
    both = sum(1 for a, b in pairs if a and b)
    only_a = sum(1 for a, b in pairs if a and not b)
    only_b = sum(1 for a, b in pairs if b and not a)
    neither = len(pairs) - both - only_a - only_b
    chi2, p_chi2 = mcnemar_chi2(only_a, only_b)
    return McNemar(both, only_a, only_b, neither, mcnemar_exact(only_a, only_b), chi2, p_chi2)


def cumulative_pass_rates(first_pass: Sequence[int | None], k: int) -> list[float]:
    """Pass rate after 1..k iterations: the share of cases whose first passing iteration is <= i.

    ``first_pass`` holds, per case, the iteration (1-based) at which its tests first passed, or None.
    An empty input gives rates of 0.0.
    """
    if k < 1:
        raise ValueError("k must be at least 1")
    n = len(first_pass)
    if n == 0:
        return [0.0] * k
    return [sum(1 for f in first_pass if f is not None and f <= i) / n for i in range(1, k + 1)]
