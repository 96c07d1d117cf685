"""Catalog costs from what a calibration measured: a proposal an operator confirms or not.

Given the power the serving hardware draws while it works (``--watts``) and what an hour of it
costs the organisation (``--hourly-cost``, in the catalog's price unit):

- energy, Wh per 1k tokens = watts x busy seconds / 3600 / (prompt + answer tokens / 1000).
  The gateway charges energy on prompt and answer tokens alike, so this is the rate that makes
  its estimate equal the energy measured over the run.
- output price per 1M tokens = hourly cost / 3600 / measured throughput (answer tokens per busy
  second at the run's concurrency) x 1e6.
- input price per 1M tokens = hourly cost / 3600 / prefill rate (prompt tokens per second before
  the first answer token) x 1e6.

A value that cannot be computed (no watts given, nothing measured) keeps the current one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from stellwerk.config.schema import ModelConfig, Price, StellwerkConfig
from stellwerk.errors import CalibrationError

if TYPE_CHECKING:
    from stellwerk.calibration.records import CostEntry


@dataclass(frozen=True, slots=True)
class Costs:
    input_per_mtok: float
    output_per_mtok: float
    energy_wh_per_1k_tokens: float


@dataclass(frozen=True, slots=True)
class CostProposal:
    model: str
    current: Costs
    proposed: Costs
    basis: Mapping[str, Any]

    @property
    def changes(self) -> bool:
        return self.current != self.proposed


def per_model(option: str, specs: Sequence[str], models: Sequence[str]) -> dict[str, float]:
    """``["300"]`` (every model) or ``["tiny-small=120", "tiny-large=450"]`` -> {model: value}."""
    out: dict[str, float] = {}
    for spec in specs:
        name, sep, raw = spec.rpartition("=")
        targets = [name] if sep else list(models)
        if sep and name not in models:
            raise CalibrationError(f"{option} {spec!r}: {name!r} is not a calibrated model")
        try:
            value = float(raw)
        except ValueError as exc:
            raise CalibrationError(f"{option} {spec!r}: {raw!r} is not a number") from exc
        if not value >= 0:
            raise CalibrationError(f"{option} {spec!r}: must not be negative")
        out.update(dict.fromkeys(targets, value))
    return out


def current_costs(model: ModelConfig) -> Costs:
    return Costs(
        model.price.input_per_mtok, model.price.output_per_mtok, model.energy_wh_per_1k_tokens
    )


def propose(
    model: ModelConfig,
    facts: Mapping[str, Any],
    *,
    watts: float | None,
    hourly_cost: float | None,
) -> CostProposal:
    """The proposal for one model from its run summary ``facts``."""
    now = current_costs(model)
    busy = float(facts.get("busy_s") or 0.0)
    tokens = int(facts.get("prompt_tokens") or 0) + int(facts.get("answer_tokens") or 0)
    energy = now.energy_wh_per_1k_tokens
    if watts is not None and busy > 0 and tokens > 0:
        energy = watts * busy / 3600 / (tokens / 1000)
    price_in, price_out = now.input_per_mtok, now.output_per_mtok
    per_second = None if hourly_cost is None else hourly_cost / 3600
    if per_second is not None and facts.get("throughput_tokens_per_s"):
        price_out = per_second / float(facts["throughput_tokens_per_s"]) * 1e6
    if per_second is not None and facts.get("prefill_tokens_per_s"):
        price_in = per_second / float(facts["prefill_tokens_per_s"]) * 1e6
    basis = {
        "watts": watts,
        "hourly_cost": hourly_cost,
        "busy_s": busy,
        "tokens": tokens,
        "throughput_tokens_per_s": facts.get("throughput_tokens_per_s"),
        "prefill_tokens_per_s": facts.get("prefill_tokens_per_s"),
    }
    proposed = Costs(_round(price_in), _round(price_out), _round(energy))
    return CostProposal(model.id, now, proposed, basis)


def propose_all(
    config: StellwerkConfig,
    summary: Mapping[str, Any],
    watts: Mapping[str, float],
    hourly_cost: Mapping[str, float],
) -> list[CostProposal]:
    models = {m.id: m for m in config.models}
    return [
        propose(models[name], facts, watts=watts.get(name), hourly_cost=hourly_cost.get(name))
        for name, facts in summary["models"].items()
        if name in models
    ]


def with_measured_costs(config: StellwerkConfig, costs: Mapping[str, CostEntry]) -> StellwerkConfig:
    """The config with the accepted costs put over the configured ones (the catalog's view)."""
    models = []
    for model in config.models:
        entry = costs.get(model.id)
        if entry is None:
            models.append(model)
            continue
        price = Price(input_per_mtok=entry.input_per_mtok, output_per_mtok=entry.output_per_mtok)
        models.append(
            model.model_copy(
                update={"price": price, "energy_wh_per_1k_tokens": entry.energy_wh_per_1k_tokens}
            )
        )
    return config.model_copy(update={"models": tuple(models)})


def _round(value: float) -> float:
    return float(f"{value:.6g}")
