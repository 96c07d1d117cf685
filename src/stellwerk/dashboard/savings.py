"""What routing saved: the routed requests as served, against the same requests each sent to the
best model its key MAY use (its permitted reference model, stellwerk.governance.baseline, the rule
the usage report follows too), never to a model policy forbids it. Requests of a key that may use
no model have no reference and are left out of the comparison (and counted as such), as are
the routed requests refused before a model was chosen (counted too, so that the widget's numbers
add up to the routed requests the router-learning page counts).

Cost and energy are the same requests priced twice. Latency cannot be: a request was answered by
one model only, so its baseline is each reference model's mean over its OWN requests of the month
(``Savings.reference_requests`` of them), an estimate the page says as such. A negative saving
(routing was slower, or dearer) is a loss and is shown as one (``Saving.loss``). The ledger
charges each request rounded up to a whole micro-unit, the baseline is priced unrounded: a cost
difference within that rounding (one micro-unit a request) is no difference.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from stellwerk.config.schema import ModelConfig
from stellwerk.governance.baseline import key_principals, permitted_reference
from stellwerk.ledger.usage_totals import Totals

__all__ = [
    "KeyTraffic",
    "Saving",
    "Savings",
    "compute_savings",
    "key_principals",
    "permitted_reference",
]


ROUNDING = 1e-6
"""At most what the ledger's rounding adds to a request's cost (one micro-unit)."""


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
    latency_ms: Saving | None  # mean per request; None without traffic on a reference model
    without_reference: int = 0  # routed requests of keys that may use no model now
    refused: int = 0  # routed requests refused before a model was chosen: not compared
    reference_requests: int = 0
    """The reference models' own requests whose mean latency is the latency baseline."""

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
    traffic: Sequence[KeyTraffic],
    mean_latency_ms: Mapping[str, float | None],
    reference_requests: Mapping[str, int] | None = None,
) -> Savings:
    """``traffic``: the routed requests (``auto...``) per key and model, each with its key's
    reference; ``mean_latency_ms``: each reference model's observed mean latency, over its
    ``reference_requests`` requests."""
    compared = [t for t in traffic if t.totals.group and t.reference is not None]
    without = sum(t.totals.requests for t in traffic if t.totals.group and t.reference is None)
    refused = sum(t.totals.requests for t in traffic if not t.totals.group)
    requests = sum(t.totals.requests for t in compared)
    cost = Saving(actual=0.0, baseline=0.0)
    energy = Saving(actual=0.0, baseline=0.0)
    latency_actual = latency_baseline = 0.0
    latency_known = bool(compared)
    references: set[tuple[str, str]] = set()
    for t in compared:
        reference, totals = t.reference, t.totals
        assert reference is not None
        references.add((t.department, reference.id))
        tokens = totals.prompt_tokens + totals.completion_tokens
        cost = Saving(
            cost.actual + float(totals.cost),
            cost.baseline + reference.price.cost(totals.prompt_tokens, totals.completion_tokens),
        )
        energy = Saving(
            energy.actual + totals.energy_wh, energy.baseline + reference.energy_wh(tokens)
        )
        mean = mean_latency_ms.get(reference.id)
        if mean is None:
            latency_known = False
        else:
            latency_actual += totals.latency_ms_sum
            latency_baseline += mean * totals.requests
    if abs(cost.saved) <= requests * ROUNDING * (1 + 1e-9):  # float sums: a hair's tolerance
        cost = Saving(cost.actual, cost.actual)
    latency = None
    if latency_known and requests:
        latency = Saving(latency_actual / requests, latency_baseline / requests)
    counts = reference_requests or {}
    own = sum(counts.get(model, 0) for model in {model for _, model in references})
    return Savings(sorted(references), requests, cost, energy, latency, without, refused, own)
