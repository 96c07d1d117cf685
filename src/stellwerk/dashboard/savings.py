"""What routing saved: the routed requests as served, against the same requests each sent to the
best model its key MAY use (its permitted reference model, stellwerk.governance.baseline, the rule
the usage report follows too), never to a model policy forbids it. Requests that have no reference
are left out of the comparison (and counted as such), as are the routed requests refused before a
model was chosen (counted too, so that the widget's numbers add up to the routed requests the
router-learning page counts).

A routed request is compared with the reference its record keeps (the largest model its key might
use when it was made: ``usage.reference_model``, a key of the rollups), with the reference cost
and energy recorded with it (at that model's price and energy per token then:
``usage.reference_cost_micro`` and ``reference_energy_wh``, summed by the rollups), so a later
change of the catalog leaves the comparison as it was, and a key that may use no model now still
has its earlier requests compared. Requests recorded before the ledger kept a reference
(``compared_today``) are compared with their key's reference today, and have none when the key
may use no model now (``without_reference``); what a record kept of them is used all the same
(the records between migrations 1100 and 1200 kept the cost, not the energy).

Cost and energy are the same requests priced twice. Latency cannot be measured twice: a request
was answered by one model only. Its baseline is an estimate over the same requests, the way their
cost is priced: each reference model's time per request, per prompt token and per answer token,
measured on its own answered requests of the month (``dashboard.latency_fit``, over
``Savings.reference_requests`` of them), applied to the routed requests' counts and tokens. (It is
not stored with the request: nothing at request time says how long the reference would have
taken, and a figure fitted then on a few requests would be a worse estimate, not a record.) When
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
    without_reference: int = 0
    """Routed requests whose records keep no reference, of keys that may use no model now."""
    compared_today: int = 0
    """Of ``requests``, those whose records keep no reference (written before the ledger kept
    one): compared with their key's reference today."""
    refused: int = 0  # routed requests refused before a model was chosen: not compared
    reference_requests: int = 0
    """The reference models' own answered requests their time per token was measured on."""

    @property
    def by_department(self) -> list[tuple[str, list[str]]]:
        """``references`` per department, in order: each department named once."""
        out: dict[str, list[str]] = {}
        for department, model in self.references:
            out.setdefault(department, []).append(model)
        return list(out.items())

    @property
    def routed(self) -> int:
        """Every routed request of the month: compared, without a reference, or refused (no load
        or unload: the router-learning page's count, ``ledger.tables.asked_for_answers``)."""
        return self.requests + self.without_reference + self.refused


@dataclass(frozen=True, slots=True)
class KeyTraffic:
    """The routed traffic of one key on one model that keeps one reference (or none), with the
    model it is compared with."""

    department: str
    reference: ModelConfig | None
    """The model compared with, as the catalog has it today: the one the records keep
    (``recorded``; ``None`` if the catalog no longer has it), else the key's permitted reference
    today (``None``: it may use no model now). It prices what the records do not keep."""
    totals: Totals
    recorded: str = ""
    """The reference the records keep; ``''``: none (written before the ledger kept one)."""

    @property
    def reference_id(self) -> str | None:
        return self.recorded or (self.reference.id if self.reference is not None else None)


def compute_savings(
    traffic: Sequence[KeyTraffic], latency: Mapping[str, LatencyFit | None]
) -> Savings:
    """``traffic``: the routed requests (``auto...``) per key, model and stored reference, each
    with the model it is compared with; ``latency``: each reference model's time per request
    and token, measured on its own requests (``None``: too few to measure)."""
    compared = [t for t in traffic if t.totals.group and t.reference_id is not None]
    without = sum(t.totals.requests for t in traffic if t.totals.group and t.reference_id is None)
    # no model: refused or failed before one was chosen; an Ollama load or unload (answered,
    # with no model asked) is no routed request to compare
    refused = sum(t.totals.errors for t in traffic if not t.totals.group)
    requests = sum(t.totals.requests for t in compared)
    cost = Saving(actual=0.0, baseline=0.0)
    energy = Saving(actual=0.0, baseline=0.0)
    references: set[tuple[str, str]] = set()
    sent: dict[str, Totals] = {}  # each reference's routed requests, added up
    for t in compared:
        model, totals = t.reference_id, t.totals
        assert model is not None
        references.add((t.department, model))
        cost_base, energy_base = _baseline(t.reference, totals)
        cost = Saving(cost.actual + float(totals.cost), cost.baseline + cost_base)
        energy = Saving(energy.actual + totals.energy_wh, energy.baseline + energy_base)
        sent[model] = summed([sent[model], totals]) if model in sent else totals
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
        compared_today=sum(t.totals.requests for t in compared if not t.recorded),
        refused=refused,
        reference_requests=sum(fit.requests for fit in fits.values() if fit is not None),
    )


def _baseline(reference: ModelConfig | None, totals: Totals) -> tuple[float, float]:
    """The reference's cost and energy for ``totals``: as the records keep them, and what they
    do not keep (older records) at ``reference``'s price and energy per token today."""
    cost = totals.reference_cost_micro / MICRO
    energy = totals.reference_energy_wh
    if reference is not None:
        cost += reference.price.cost(
            totals.prompt_tokens - totals.referenced_prompt,
            totals.completion_tokens - totals.referenced_completion,
        )
        energy += reference.energy_wh(totals.tokens - totals.reference_energy_tokens)
    return cost, energy


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
