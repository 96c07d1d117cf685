"""What routing saved: against the same routed requests sent to the largest model each key MAY
use (its permitted reference), never against a model policy forbids it."""

from __future__ import annotations

from typing import Any

import pytest

from stellwerk.config import parse_config
from stellwerk.config.schema import ModelConfig, StellwerkConfig
from stellwerk.dashboard.charts import Bar, bars
from stellwerk.dashboard.savings import KeyTraffic, compute_savings, permitted_reference
from stellwerk.governance.principal import config_key_principals
from stellwerk.ledger.usage_totals import Totals
from stellwerk.policy.filter import PolicyFilter
from stellwerk.policy.state import ModelState


def _model(model_id: str, params: float, price: float, **facts: Any) -> dict[str, Any]:
    return {
        "id": model_id,
        "backend": "b",
        "upstream": model_id,
        "params_b": params,
        "size_class": "large" if params >= 30 else "small",
        "price": {"input_per_mtok": price, "output_per_mtok": 3 * price},
        "energy_wh_per_1k_tokens": params / 10,
        **facts,
    }


def _config() -> StellwerkConfig:
    """Legal handles confidential data, which may stay only on premises; the largest model is
    in an EU cloud."""
    return parse_config(
        {
            "backends": [{"name": "b", "kind": "openai", "base_url": "http://127.0.0.1:9"}],
            "models": [
                _model("small-onprem", 3, 0.2),
                _model("medium-onprem", 14, 0.6),
                _model("large-eucloud", 70, 2.0, hosting="eu_cloud"),
                _model("huge-proposed", 400, 9.0, lifecycle="proposed"),
            ],
            "departments": [
                {
                    "name": "legal",
                    "classification": "confidential",
                    "keys": [{"id": "legal-1", "key_sha256": "a" * 64}],
                },
                {"name": "research", "keys": [{"id": "research-1", "key_sha256": "b" * 64}]},
                {
                    "name": "archive",
                    "classification": "secret",
                    "allowed_models": ["large-eucloud"],
                    "keys": [{"id": "archive-1", "key_sha256": "c" * 64}],
                },
            ],
        }
    )


def _states(config: StellwerkConfig) -> list[ModelState]:
    return [ModelState(m, m.lifecycle, True, 1) for m in config.models]


def _totals(model: str, requests: int, prompt: int, completion: int, cost: float) -> Totals:
    return Totals(
        model,
        requests,
        0,
        0,
        prompt,
        completion,
        round(cost * 1_000_000),
        (prompt + completion) / 10_000,
        requests * 100.0,
    )


def test_each_key_is_compared_with_the_largest_model_it_may_use() -> None:
    config = _config()
    policy = PolicyFilter.from_config(config)
    principals = config_key_principals(config, {})
    states = _states(config)
    reference = {k: permitted_reference(policy, p, states) for k, p in principals.items()}
    assert reference["legal-1"] is not None and reference["legal-1"].id == "medium-onprem"
    assert reference["research-1"] is not None and reference["research-1"].id == "large-eucloud"
    assert reference["archive-1"] is None  # secret data, but only an EU-cloud model allowed


def test_confidential_traffic_saves_nothing_against_a_cloud_model_it_may_not_use() -> None:
    config = _config()
    models = {m.id: m for m in config.models}
    legal = [
        KeyTraffic(
            "legal",
            models["medium-onprem"],
            _totals("medium-onprem", 4, 4000, 400, models["medium-onprem"].price.cost(4000, 400)),
        )
    ]
    savings = compute_savings(legal, {"medium-onprem": 100.0})
    assert savings.references == [("legal", "medium-onprem")]
    assert savings.cost.fraction == pytest.approx(0.0)  # it used its best model: nothing saved
    assert savings.latency_ms is not None and savings.latency_ms.fraction == pytest.approx(0.0)


def test_savings_sum_each_key_against_its_own_reference() -> None:
    config = _config()
    models: dict[str, ModelConfig] = {m.id: m for m in config.models}
    small, medium, large = models["small-onprem"], models["medium-onprem"], models["large-eucloud"]
    traffic = [
        KeyTraffic("legal", medium, _totals("small-onprem", 9, 900_000, 100_000, 0.25)),
        KeyTraffic("research", large, _totals("small-onprem", 1, 100_000, 0, 0.02)),
        KeyTraffic("archive", None, _totals("small-onprem", 2, 10, 10, 0.0)),
        KeyTraffic("research", large, _totals("", 3, 0, 0, 0.0)),  # refused: not counted
    ]
    savings = compute_savings(traffic, {"medium-onprem": 400.0, "large-eucloud": 900.0})
    assert savings.requests == 10 and savings.without_reference == 2
    assert savings.references == [("legal", "medium-onprem"), ("research", "large-eucloud")]
    baseline = medium.price.cost(900_000, 100_000) + large.price.cost(100_000, 0)
    assert savings.cost.baseline == pytest.approx(baseline)
    assert savings.cost.actual == pytest.approx(0.27)
    assert savings.energy_wh.baseline == pytest.approx(1000 * 1.4 + 100 * 7.0)
    assert savings.latency_ms is not None
    assert savings.latency_ms.actual == pytest.approx(100.0)
    assert savings.latency_ms.baseline == pytest.approx((9 * 400 + 900) / 10)
    assert small.id == "small-onprem"


def test_no_latency_comparison_without_traffic_on_a_reference_model() -> None:
    config = _config()
    large = next(m for m in config.models if m.id == "large-eucloud")
    savings = compute_savings(
        [KeyTraffic("research", large, _totals("small-onprem", 3, 10, 10, 0.0))],
        {"large-eucloud": None},
    )
    assert savings.latency_ms is None


def test_chart_labels_are_escaped() -> None:
    svg = str(bars([Bar("<b>x</b>", 1.0, "1 & 2")], title="t<"))
    assert "<b>" not in svg and "&lt;b&gt;x&lt;/b&gt;" in svg and "1 &amp; 2" in svg


def test_a_slower_latency_is_a_loss_and_the_counts_add_up_to_the_routed_requests() -> None:
    config = _config()
    models = {m.id: m for m in config.models}
    medium = models["medium-onprem"]
    traffic = [
        KeyTraffic("legal", medium, _totals("small-onprem", 4, 400, 40, 0.0)),
        KeyTraffic("legal", None, _totals("small-onprem", 1, 10, 10, 0.0)),
        KeyTraffic("legal", medium, _totals("", 3, 0, 0, 0.0)),  # refused before a model
    ]
    savings = compute_savings(traffic, {"medium-onprem": 50.0}, {"medium-onprem": 7})
    assert savings.latency_ms is not None
    assert savings.latency_ms.actual == pytest.approx(100.0)  # _totals: 100 ms a request
    assert savings.latency_ms.loss and not savings.cost.loss
    assert (savings.requests, savings.without_reference, savings.refused) == (4, 1, 3)
    assert savings.routed == 8 and savings.reference_requests == 7


def test_the_ledgers_rounding_is_no_loss() -> None:
    """Traffic served by its own reference: charged in whole micro-units, priced unrounded as
    the baseline; the difference is the rounding, not a loss of routing."""
    config = _config()
    small = next(m for m in config.models if m.id == "small-onprem")
    charged = small.price.cost_micro(1001, 203) * 3 / 1e6
    traffic = [KeyTraffic("legal", small, _totals("small-onprem", 3, 3003, 609, charged))]
    savings = compute_savings(traffic, {"small-onprem": 100.0})
    assert not savings.cost.loss and savings.cost.fraction == pytest.approx(0.0)
