"""The population stability index of one signal: how far a window's distribution over fixed bins has moved from the
baseline's.

    PSI = sum over bins of (actual share - expected share) * ln(actual share / expected share)

It is 0 for identical distributions and grows with any shift, in either direction; each bin's term is >= 0 (it is
the symmetrised Kullback-Leibler divergence). The usual reading, from credit scoring (E. M. Lewis, "An Introduction to
Credit Scoring", 1994; N. Siddiqi, "Credit Risk Scorecards", 2006): under 0.1 no significant change, 0.1 to 0.25 a
moderate one, over 0.25 a significant one. Those marks take no account of the sample: with identical distributions
a window of N items still reads about (B - 1) / N from chance alone, B the bins the baseline fills (PSI is close to a
chi-square statistic over N; B. Yurdakul, "Statistical properties of population stability index", 2018). Hence a
window of 1,000 by default (0.01 of noise over 10 bins) and no report under 100 items.

A share of 0 makes the logarithm infinite, so an empty bin (in the window or in the baseline) is read as EPSILON.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

# An empty bin's share. 1e-4 is one item in 10,000: below what a window of up to 10,000 items can resolve, so an empty
# bin reads as "rarer than this window could see" rather than as impossible. It bounds a bin's term: a window that
# puts 5% of its items where the baseline had none adds 0.05 * ln(0.05 / 1e-4) = 0.31 (significant on its own, as a
# new class or a new length range should be), while one stray item in a 1,000-item window adds 0.002.
EPSILON = 1e-4


def shares(counts: Sequence[int]) -> list[float]:
    """Each bin's share of the total, an empty bin's as EPSILON (no total: every bin EPSILON)."""
    total = sum(counts)
    return [max(count / total, EPSILON) if total else EPSILON for count in counts]


def psi(expected: Sequence[float], actual_counts: Sequence[int]) -> float:
    """The PSI of a window's counts against the baseline's shares (shares(), so never 0), bin by bin."""
    if len(expected) != len(actual_counts):
        raise ValueError(f"{len(actual_counts)} window bins against {len(expected)} baseline bins")
    total = sum(actual_counts)
    if not total:
        return 0.0
    value = 0.0
    for base, count in zip(expected, actual_counts, strict=True):
        share = max(count / total, EPSILON)
        value += (share - base) * math.log(share / base)
    return value
