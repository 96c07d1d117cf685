"""What routing saved: the routed requests as served, against the same requests all sent to the
largest approved model (same tokens at its price and energy, its observed mean latency)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from stellwerk.config.schema import ModelConfig
from stellwerk.dashboard.queries import Totals


@dataclass(frozen=True, slots=True)
class Saving:
    actual: float
    baseline: float

    @property
    def saved(self) -> float:
        return self.baseline - self.actual

    @property
    def fraction(self) -> float | None:
        return self.saved / self.baseline if self.baseline > 0 else None


@dataclass(frozen=True, slots=True)
class Savings:
    baseline_model: str
    requests: int
    cost: Saving
    energy_wh: Saving
    latency_ms: Saving | None  # mean per request; None without traffic on the baseline model


def compute_savings(
    routed: Sequence[Totals], baseline: ModelConfig, baseline_mean_latency_ms: float | None
) -> Savings:
    """``routed``: totals per model of the requests that asked for a route (``auto...``)."""
    served = [t for t in routed if t.group]
    requests = sum(t.requests for t in served)
    prompt = sum(t.prompt_tokens for t in served)
    completion = sum(t.completion_tokens for t in served)
    price = baseline.price
    cost = Saving(
        actual=float(sum(t.cost for t in served)),
        baseline=price.cost(prompt, completion),
    )
    energy = Saving(
        actual=sum(t.energy_wh for t in served),
        baseline=baseline.energy_wh(prompt + completion),
    )
    latency = None
    if baseline_mean_latency_ms is not None and requests:
        latency = Saving(
            actual=sum(t.latency_ms_sum for t in served) / requests,
            baseline=baseline_mean_latency_ms,
        )
    return Savings(baseline.id, requests, cost, energy, latency)
