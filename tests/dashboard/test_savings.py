"""What routing saved: against the same routed requests sent to the largest model each key MAY
use (its permitted reference), never against a model policy forbids it. Latency too is compared
on the same requests: the reference's time for them estimated from its own time per request and
per token (``latency_fit``); with too thin a measure, no latency figure at all."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from stellwerk.config import parse_config
from stellwerk.config.schema import ModelConfig, Price, StellwerkConfig
from stellwerk.dashboard.charts import Bar, bars
from stellwerk.dashboard.latency_fit import MIN_REQUESTS, LatencyFit, fit_latency
from stellwerk.dashboard.savings import KeyTraffic, compute_savings, permitted_reference
from stellwerk.governance.principal import config_key_principals
from stellwerk.ledger.answer_times import AnswerTime
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
        "hosting": "on_prem",
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


def _totals(
    model: str, requests: int, prompt: int, completion: int, cost: float, ms: float = 100.0
) -> Totals:
    """``requests`` routed requests of these token sums, ``ms`` each."""
    return Totals(
        model,
        requests,
        0,
        0,
        prompt,
        completion,
        round(cost * 1_000_000),
        (prompt + completion) / 10_000,
        requests * ms,
    )


def _fit(per_request: float, per_answer_token: float = 0.0, requests: int = 50) -> LatencyFit:
    """A reference measured on ``requests`` requests of 0 to 10^6 tokens either way (so that it
    covers every test's routed sizes)."""
    return LatencyFit(requests, per_request, 0.0, per_answer_token, (0, 10**6), (0, 10**6))


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
    savings = compute_savings(legal, {"medium-onprem": _fit(100.0)})
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
    fits = {"medium-onprem": _fit(300.0, 1e-3), "large-eucloud": _fit(900.0)}
    savings = compute_savings(traffic, fits)
    assert savings.requests == 10 and savings.without_reference == 2
    assert savings.references == [("legal", "medium-onprem"), ("research", "large-eucloud")]
    baseline = medium.price.cost(900_000, 100_000) + large.price.cost(100_000, 0)
    assert savings.cost.baseline == pytest.approx(baseline)
    assert savings.cost.actual == pytest.approx(0.27)
    assert savings.energy_wh.baseline == pytest.approx(1000 * 1.4 + 100 * 7.0)
    assert savings.latency_ms is not None
    assert savings.latency_ms.actual == pytest.approx(100.0)
    # medium: 9 requests of 300 ms plus 100,000 answer tokens of 1 µs; large: 1 of 900 ms
    assert savings.latency_ms.baseline == pytest.approx((9 * 300 + 100 + 900) / 10)
    assert savings.reference_requests == 100
    assert small.id == "small-onprem"


def test_no_latency_figure_without_enough_requests_on_a_reference_model() -> None:
    config = _config()
    large = next(m for m in config.models if m.id == "large-eucloud")
    own = [AnswerTime(100, 10 * i, 50.0 + i) for i in range(MIN_REQUESTS - 1)]
    assert fit_latency(own) is None  # one request short of a measure
    savings = compute_savings(
        [KeyTraffic("research", large, _totals("small-onprem", 3, 10, 10, 0.0))],
        {"large-eucloud": fit_latency(own)},
    )
    assert savings.latency_ms is None and savings.reference_requests == 0
    assert savings.cost.baseline > 0  # cost and energy are still compared
    assert savings.routed_latency_ms == pytest.approx(100.0)  # and the routed mean is measured


def test_no_latency_figure_from_a_reference_measured_on_other_lengths() -> None:
    """walk4 N5: the reference answered one-token questions only, the routed requests asked for
    600 tokens; its mean (or a fit) says nothing about what it would take for those."""
    config = _config()
    large = next(m for m in config.models if m.id == "large-eucloud")
    own = [AnswerTime(20 + i, 1, 19.0) for i in range(MIN_REQUESTS)]
    fit = fit_latency(own)
    assert fit is not None and fit.answer_tokens == (1, 1)
    routed = [KeyTraffic("research", large, _totals("small-onprem", 5, 100, 3000, 0.0, 588.0))]
    for measured in (fit, None):
        savings = compute_savings(routed, {"large-eucloud": measured})
        assert savings.latency_ms is None
        assert savings.routed_latency_ms == pytest.approx(588.0)


def test_the_fit_recovers_a_models_time_per_request_and_per_token() -> None:
    """40 ms a request, 0.5 ms a prompt token, 20 ms an answer token, with a little noise."""
    own = [
        AnswerTime(p, c, 40 + 0.5 * p + 20 * c + (-1) ** (p + c))
        for p in (50, 400, 1200)
        for c in (1, 80, 300, 900)
    ]
    fit = fit_latency(own)
    assert fit is not None and fit.requests == 12
    assert fit.per_request_ms == pytest.approx(40, abs=2)
    assert fit.per_prompt_token_ms == pytest.approx(0.5, abs=0.01)
    assert fit.per_answer_token_ms == pytest.approx(20, abs=0.01)
    assert fit.prompt_tokens == (50, 1200) and fit.answer_tokens == (1, 900)
    assert fit.total_ms(2, 200, 100) == pytest.approx(2 * 40 + 0.5 * 200 + 20 * 100, rel=0.01)


def test_a_longer_request_never_takes_less_time() -> None:
    """Noise that would fit a negative time per answer token fits none (non-negative)."""
    own = [AnswerTime(100, c, 500.0 - c / 100) for c in range(0, 1000, 100)]
    fit = fit_latency(own)
    assert fit is not None and fit.per_answer_token_ms == 0.0 and fit.per_prompt_token_ms >= 0


@pytest.mark.parametrize(
    ("routed_ms", "saved", "loss"),
    [(200.0, pytest.approx(1 - 200 / 2040), False), (4000.0, pytest.approx(1 - 4000 / 2040), True)],
)
def test_latency_compares_the_same_requests_and_a_loss_reads_as_a_loss(
    routed_ms: float, saved: Any, loss: bool
) -> None:
    """The reference takes 40 ms a request and 20 ms an answer token (measured on its own short
    and long answers); five routed requests of 100 answer tokens would have taken it 2,040 ms
    each, whatever the length of its own requests this month."""
    config = _config()
    large = next(m for m in config.models if m.id == "large-eucloud")
    own = [AnswerTime(10, c, 40 + 20 * c) for c in (1, 2, 5, 10, 50, 300, 500, 700, 800, 900)]
    routed = [KeyTraffic("research", large, _totals("small-onprem", 5, 50, 500, 0.0, routed_ms))]
    savings = compute_savings(routed, {"large-eucloud": fit_latency(own)})
    assert savings.latency_ms is not None
    assert savings.latency_ms.actual == pytest.approx(routed_ms)
    assert savings.latency_ms.baseline == pytest.approx(2040, rel=1e-3)
    assert savings.latency_ms.fraction == saved and savings.latency_ms.loss is loss
    assert savings.reference_requests == 10


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
        KeyTraffic("legal", medium, replace(_totals("", 5, 0, 0, 0.0), errors=3)),
    ]  # no model: 3 refused before one was chosen, 2 Ollama loads (answered, nothing to compare)
    savings = compute_savings(traffic, {"medium-onprem": _fit(50.0, requests=17)})
    assert savings.latency_ms is not None
    assert savings.latency_ms.actual == pytest.approx(100.0)  # _totals: 100 ms a request
    assert savings.latency_ms.loss and not savings.cost.loss
    assert (savings.requests, savings.without_reference, savings.refused) == (4, 1, 3)
    assert savings.routed == 8 and savings.reference_requests == 17


def test_the_ledgers_rounding_is_no_loss() -> None:
    """Traffic served by its own reference: charged in whole micro-units, priced unrounded as
    the baseline; the difference is the rounding, not a loss of routing."""
    config = _config()
    small = next(m for m in config.models if m.id == "small-onprem")
    charged = small.price.cost_micro(1001, 203) * 3 / 1e6
    traffic = [KeyTraffic("legal", small, _totals("small-onprem", 3, 3003, 609, charged))]
    savings = compute_savings(traffic, {"small-onprem": _fit(100.0)})
    assert not savings.cost.loss and savings.cost.fraction == pytest.approx(0.0)


def test_recorded_reference_costs_stand_whatever_the_reference_costs_today() -> None:
    """Of a key's routed requests, those whose records keep a reference cost are compared with
    it as recorded; only the older ones (none kept) are priced with today's reference. A price
    change of the reference leaves the first part as it was."""
    medium = {m.id: m for m in _config().models}["medium-onprem"]
    dearer = medium.model_copy(update={"price": Price(input_per_mtok=50, output_per_mtok=50)})
    served = _totals("small-onprem", 10, 1_000_000, 100_000, 0.3)
    # 6 of the 10 keep a reference cost: 0.9 for their 600k + 60k tokens
    kept = replace(
        served,
        referenced=6,
        reference_cost_micro=900_000,
        referenced_prompt=600_000,
        referenced_completion=60_000,
    )
    every = replace(kept, referenced=10, referenced_prompt=1_000_000, referenced_completion=100_000)
    fits = {"medium-onprem": _fit(300.0)}
    for today in (medium, dearer):
        some = compute_savings([KeyTraffic("legal", today, kept)], fits)
        assert some.cost.baseline == pytest.approx(0.9 + today.price.cost(400_000, 40_000))
        all_kept = compute_savings([KeyTraffic("legal", today, every)], fits)
        assert all_kept.cost.baseline == pytest.approx(0.9)
        assert all_kept.cost.saved == pytest.approx(0.6)


def _recorded(totals: Totals, *, cost: float, energy_wh: float) -> Totals:
    """``totals`` as records keeping their reference (since 1200): every request, with the
    reference's cost and energy for their tokens as recorded then."""
    return replace(
        totals,
        referenced=totals.requests,
        reference_cost_micro=round(cost * 1_000_000),
        referenced_prompt=totals.prompt_tokens,
        referenced_completion=totals.completion_tokens,
        reference_energy_wh=energy_wh,
        reference_energy_tokens=totals.tokens,
    )


def test_recorded_reference_energy_stands_whatever_the_reference_uses_today() -> None:
    """Energy follows the rule of cost: the records' reference energy as recorded; today's
    reference's energy per token prices only the records that keep none."""
    medium = {m.id: m for m in _config().models}["medium-onprem"]
    hungrier = medium.model_copy(update={"energy_wh_per_1k_tokens": 99.0})
    served = _totals("small-onprem", 10, 1_000_000, 100_000, 0.3)  # 110 Wh as served
    kept = _recorded(served, cost=0.9, energy_wh=500.0)
    old = _totals("small-onprem", 2, 10_000, 0, 0.01)  # no reference recorded
    fits = {"medium-onprem": _fit(300.0)}
    for today in (medium, hungrier):
        savings = compute_savings(
            [
                KeyTraffic("legal", today, kept, recorded="medium-onprem"),
                KeyTraffic("legal", today, old),
            ],
            fits,
        )
        assert savings.energy_wh.baseline == pytest.approx(500.0 + today.energy_wh(10_000))
        assert savings.energy_wh.actual == pytest.approx(111.0)
        assert (savings.requests, savings.compared_today) == (12, 2)


def test_a_key_with_no_reference_today_keeps_its_recorded_comparison() -> None:
    """Archive may use no model now; its requests recorded with a reference (large-eucloud,
    since retired from the catalog: ``reference`` None) are compared as recorded, under that
    model's name and with its latency measure; only its older ones are without a reference."""
    traffic = [
        KeyTraffic(
            "archive",
            None,
            _recorded(_totals("small-onprem", 4, 4000, 400, 0.1), cost=0.4, energy_wh=30.0),
            recorded="large-eucloud",
        ),
        KeyTraffic("archive", None, _totals("small-onprem", 3, 10, 10, 0.0)),
    ]
    savings = compute_savings(traffic, {"large-eucloud": _fit(900.0)})
    assert (savings.requests, savings.without_reference, savings.compared_today) == (4, 3, 0)
    assert savings.references == [("archive", "large-eucloud")]
    assert savings.cost.baseline == pytest.approx(0.4)
    assert savings.energy_wh.baseline == pytest.approx(30.0)
    assert savings.latency_ms is not None and savings.latency_ms.baseline == pytest.approx(900.0)
    assert savings.routed == 7
