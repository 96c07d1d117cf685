"""What routing saved, against sending the same routed requests to the largest model."""

from __future__ import annotations

import pytest

from stellwerk.config.schema import ModelConfig
from stellwerk.dashboard.charts import Bar, bars
from stellwerk.dashboard.queries import Totals
from stellwerk.dashboard.savings import compute_savings

LARGE = ModelConfig.model_validate(
    {
        "id": "large",
        "backend": "b",
        "upstream": "large",
        "params_b": 70,
        "size_class": "large",
        "price": {"input_per_mtok": 2.0, "output_per_mtok": 6.0},
        "energy_wh_per_1k_tokens": 1.0,
    }
)


def _totals(group: str, requests: int, prompt: int, completion: int, cost: float) -> Totals:
    return Totals(
        group,
        requests,
        0,
        0,
        prompt,
        completion,
        round(cost * 1_000_000),
        (prompt + completion) / 10_000,
        requests * 100.0,
    )


def test_savings_price_the_same_tokens_at_the_largest_model() -> None:
    routed = [
        _totals("small", 9, 900_000, 100_000, 0.25),
        _totals("large", 1, 100_000, 0, 0.2),
        _totals("", 2, 0, 0, 0.0),  # failed before a model was chosen: not counted
    ]
    savings = compute_savings(routed, LARGE, baseline_mean_latency_ms=400.0)
    assert savings.requests == 10
    assert savings.cost.baseline == pytest.approx(1_000_000 * 2.0 / 1e6 + 100_000 * 6.0 / 1e6)
    assert savings.cost.actual == pytest.approx(0.45)
    assert savings.cost.fraction == pytest.approx(1 - 0.45 / 2.6)
    assert savings.energy_wh.baseline == pytest.approx(1100.0)
    assert savings.latency_ms is not None
    assert savings.latency_ms.actual == pytest.approx(100.0)
    assert savings.latency_ms.fraction == pytest.approx(0.75)


def test_no_latency_comparison_without_traffic_on_the_largest_model() -> None:
    savings = compute_savings([_totals("small", 3, 10, 10, 0.0)], LARGE, None)
    assert savings.latency_ms is None


def test_chart_labels_are_escaped() -> None:
    svg = str(bars([Bar("<b>x</b>", 1.0, "1 & 2")], title="t<"))
    assert "<b>" not in svg and "&lt;b&gt;x&lt;/b&gt;" in svg and "1 &amp; 2" in svg
