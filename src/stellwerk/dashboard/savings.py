"""What routing saved: the routed requests as served, against the same requests each sent to the
best model its key MAY use (its permitted reference model, stellwerk.governance.baseline, the rule
the usage report follows too), never to a model policy forbids it. Requests of a key that may use
no model have no reference and are left out of the comparison (and counted as such), as are
the routed requests refused before a model was chosen (counted too, so that the widget's numbers
add up to the routed requests the router-learning page counts).

A routed request's cost is compared with the reference cost its record keeps (what the largest
model its key might use then would have charged, at its price then: ``usage.reference_cost_micro``,
summed by the rollups), so a later change of the catalog leaves it as it was. Requests recorded
before the ledger kept a reference are priced with today's reference, as the rest of the
comparison (energy, latency, and which requests have a reference at all) is.

Cost and energy are the same requests priced twice. Latency cannot be measured twice: a request
was answered by one model only. Its baseline is an estimate over the same requests, the way their
cost is priced: each reference model's time per request, per prompt token and per answer token,
measured on its own answered requests of the month (``dashboard.latency_fit``, over
``Savings.reference_requests`` of them), applied to the routed requests' counts and tokens. When
a reference's measure is too thin to carry the estimate (too few requests, or none as long or as
short as the routed ones), there is no comparison (``latency_ms`` is ``None``) rather than one
of different requests; the routed requests' own mean latency is measured, not estimated, and is
shown all the same (``routed_latency_ms``). A negative saving (routing was slower, or dearer) is a
loss and is shown as one (``Saving.loss``). The ledger
charges each request rounded up to a whole micro-unit, the baseline is priced unrounded: a cost
difference within that rounding (one micro-unit a request) is no difference
(``stellwerk.money.within_rounding``, the usage report's rule too).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from stellwerk.config.schema import ModelConfig
from stellwerk.dashboard.latency_fit import LatencyFit
from stellwerk.governance.baseline import key_principals, permitted_reference
from stellwerk.ledger.usage_totals import Totals, summed
from stellwerk.money import MICRO, within_rounding

__all__ = [
    "KeyTraffic",
    "Saving",
    "Savings",
    "compute_savings",
    "key_principals",
    "permitted_reference",
]


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

    @property
    def loss(self) -> bool:
        """Routing did worse than the baseline (a negative saving)."""
        return self.saved < 0


@dataclass(frozen=True, slots=True)
class Savings:
    references: list[tuple[str, str]]
    """(department, reference model) pairs of the traffic compared (a department whose keys
    differ in classification or use case can have several)."""
    requests: int
    cost: Saving
    energy_wh: Saving
    latency_ms: Saving | None
    """Mean per request, the baseline estimated; ``None``: not enough data to estimate it."""
    routed_latency_ms: float | None = None
    """The compared routed requests' mean latency as served (measured; ``None``: none compared)."""
    without_reference: int = 0  # routed requests of keys that may use no model now
    refused: int = 0  # routed requests refused before a model was chosen: not compared
    reference_requests: int = 0
    """The reference models' own answered requests their time per token was measured on."""

    @property
    def routed(self) -> int:
        """Every routed request of the month: compared, without a reference, or refused."""
        return self.requests + self.without_reference + self.refused


@dataclass(frozen=True, slots=True)
class KeyTraffic:
    """The routed traffic of one key on one model, and the key's permitted reference."""

    department: str
    reference: ModelConfig | None
    totals: Totals


def compute_savings(
    traffic: Sequence[KeyTraffic], latency: Mapping[str, LatencyFit | None]
) -> Savings:
    """``traffic``: the routed requests (``auto...``) per key and model, each with its key's
    reference; ``latency``: each reference model's time per request and token, measured on its
    own requests (``None``: too few to measure)."""
    compared = [t for t in traffic if t.totals.group and t.reference is not None]
    without = sum(t.totals.requests for t in traffic if t.totals.group and t.reference is None)
    refused = sum(t.totals.requests for t in traffic if not t.totals.group)
    requests = sum(t.totals.requests for t in compared)
    cost = Saving(actual=0.0, baseline=0.0)
    energy = Saving(actual=0.0, baseline=0.0)
    references: set[tuple[str, str]] = set()
    sent: dict[str, Totals] = {}  # each reference's routed requests, added up
    for t in compared:
        reference, totals = t.reference, t.totals
        assert reference is not None
        references.add((t.department, reference.id))
        tokens = totals.prompt_tokens + totals.completion_tokens
        recorded = totals.reference_cost_micro / MICRO
        unrecorded = reference.price.cost(
            totals.prompt_tokens - totals.referenced_prompt,
            totals.completion_tokens - totals.referenced_completion,
        )
        cost = Saving(cost.actual + float(totals.cost), cost.baseline + recorded + unrecorded)
        energy = Saving(
            energy.actual + totals.energy_wh, energy.baseline + reference.energy_wh(tokens)
        )
        sent[reference.id] = (
            summed([sent[reference.id], totals]) if reference.id in sent else totals
        )
    if within_rounding(cost.saved * MICRO, requests):
        cost = Saving(cost.actual, cost.actual)
    fits = {model: latency.get(model) for model in sent}
    served_ms = sum(totals.latency_ms_sum for totals in sent.values())
    return Savings(
        references=sorted(references),
        requests=requests,
        cost=cost,
        energy_wh=energy,
        latency_ms=_latency(sent, fits, requests),
        routed_latency_ms=served_ms / requests if requests else None,
        without_reference=without,
        refused=refused,
        reference_requests=sum(fit.requests for fit in fits.values() if fit is not None),
    )


def _latency(
    sent: Mapping[str, Totals], fits: Mapping[str, LatencyFit | None], requests: int
) -> Saving | None:
    """The routed requests' mean latency as served, against their reference models' estimated
    time for the same requests; ``None`` if any reference cannot estimate its share."""
    if not requests:
        return None
    actual = baseline = 0.0
    for model, totals in sent.items():
        fit = fits[model]
        sizes = (totals.requests, totals.prompt_tokens, totals.completion_tokens)
        if fit is None or not fit.covers(*sizes):
            return None
        actual += totals.latency_ms_sum
        baseline += fit.total_ms(*sizes)
    return Saving(actual / requests, baseline / requests)
