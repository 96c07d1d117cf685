"""AIQ, cost to match the best model, gap closed, APGR and CPT on curves worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from stellwerk.training.metrics import (
    aiq,
    curve_metrics,
    gap_closed,
    two_model_metrics,
    upper_hull,
)

SINGLES = np.array([[1.0, 0.5], [3.0, 0.9]])


def test_the_hull_of_two_single_models_is_their_mixture() -> None:
    # a straight line from 0.5 to 0.9 over the cost range averages 0.7
    assert aiq(SINGLES, 1.0, 3.0) == pytest.approx(0.7)


def test_a_router_that_reaches_the_best_quality_early_scores_higher() -> None:
    router = np.array([[1.0, 0.5], [1.5, 0.9], [2.0, 0.85]])
    m = curve_metrics(router, SINGLES)
    # up from 0.5 to 0.9 over [1, 1.5], then flat: (0.35 + 1.35) / 2
    assert m.aiq == pytest.approx(0.85)
    assert m.max_quality == pytest.approx(0.9)
    assert m.cost_to_match_best == pytest.approx(0.5)


def test_below_its_cheapest_point_a_curve_counts_zero() -> None:
    assert aiq(np.array([[2.0, 0.8]]), 1.0, 3.0) == pytest.approx(0.4)


def test_dominated_points_and_dips_do_not_lower_the_curve() -> None:
    hull = upper_hull(np.array([[1.0, 0.5], [2.0, 0.4], [2.5, 0.6], [3.0, 0.55]]))
    assert hull.tolist() == [[1.0, 0.5], [2.5, 0.6]]


def test_a_router_that_never_reaches_the_best_model_has_no_cost_to_match() -> None:
    assert curve_metrics(np.array([[1.0, 0.6]]), SINGLES).cost_to_match_best is None


def test_gap_closed_is_the_share_of_the_way_to_the_oracle() -> None:
    assert gap_closed(0.8, 0.7, 0.9) == pytest.approx(0.5)
    assert gap_closed(0.7, 0.7, 0.9) == pytest.approx(0.0)


def test_apgr_and_cpt_of_a_perfect_ranking() -> None:
    weak = np.array([0.0, 0.0, 1.0, 0.0])
    strong = np.array([1.0, 1.0, 1.0, 0.0])
    m = two_model_metrics(np.array([1.0, 1.0, 0.0, -1.0]), weak, strong)
    assert m.apgr == pytest.approx(0.75)
    assert m.cpt50 == pytest.approx(0.25)
    assert m.cpt80 == pytest.approx(0.5)


def test_a_reversed_ranking_needs_more_strong_calls() -> None:
    weak = np.array([0.0, 0.0, 1.0, 0.0])
    strong = np.array([1.0, 1.0, 1.0, 0.0])
    good = two_model_metrics(np.array([1.0, 1.0, 0.0, -1.0]), weak, strong)
    bad = two_model_metrics(np.array([-1.0, -1.0, 0.0, 1.0]), weak, strong)
    assert bad.apgr < good.apgr
    assert bad.cpt80 is not None and good.cpt80 is not None and bad.cpt80 > good.cpt80
