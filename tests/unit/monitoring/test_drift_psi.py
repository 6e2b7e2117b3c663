"""monitoring/drift/psi.py: the population stability index on distributions whose value is known by hand."""

from __future__ import annotations

import math

import pytest

from hf_serving.monitoring.drift.psi import EPSILON, psi, shares


def test_identical_distributions_have_no_drift():
    assert psi(shares([30, 50, 20]), [3, 5, 2]) == pytest.approx(0.0, abs=1e-12)


def test_a_known_shift_has_its_hand_computed_value():
    # 50/50 to 80/20: 0.3 ln(0.8/0.5) + (-0.3) ln(0.2/0.5)
    expected = 0.3 * math.log(1.6) + 0.3 * math.log(2.5)
    assert psi(shares([50, 50]), [80, 20]) == pytest.approx(expected)
    assert expected == pytest.approx(0.41589, abs=1e-5)


def test_it_is_symmetric_and_every_term_counts_whichever_way_the_share_moved():
    assert psi(shares([80, 20]), [50, 50]) == pytest.approx(psi(shares([50, 50]), [80, 20]))
    assert psi(shares([60, 40]), [40, 60]) > 0


def test_an_empty_bin_reads_as_epsilon_on_either_side():
    assert shares([100, 0]) == [1.0, EPSILON]
    # The window fills a bin the baseline never had.
    assert psi(shares([100, 0]), [50, 50]) == pytest.approx(
        (0.5 - 1.0) * math.log(0.5) + (0.5 - EPSILON) * math.log(0.5 / EPSILON)
    )
    # The window leaves empty a bin that held half the baseline.
    assert psi(shares([50, 50]), [100, 0]) == pytest.approx(
        (1.0 - 0.5) * math.log(2.0) + (EPSILON - 0.5) * math.log(EPSILON / 0.5)
    )


def test_the_usual_marks_read_as_documented():
    # Against a 50/50 class mix: 0.1 is crossed at about 66/34, 0.25 at about 74/26.
    assert psi(shares([50, 50]), [60, 40]) < 0.1
    assert 0.1 < psi(shares([50, 50]), [66, 34]) < psi(shares([50, 50]), [73, 27]) < 0.25
    assert psi(shares([50, 50]), [75, 25]) > 0.25


def test_an_empty_window_is_no_drift_and_mismatched_bins_are_an_error():
    assert psi(shares([1, 2]), [0, 0]) == 0.0
    with pytest.raises(ValueError, match="3 window bins against 2"):
        psi(shares([1, 2]), [1, 1, 1])
