"""What routing saved: the routed requests as served, against the same requests each sent to the
best model its key MAY use (its permitted reference model), never to a model policy forbids it.

The reference of a key is the largest chat model (by parameter count) the policy filter lets its
requests use: lifecycle, consent, compliance, its data classification's hosting locations, its
department's and its use case's allow-lists, all as the gateway decides now. Legal's
confidential traffic is compared with the largest on-premises model legal may use, not with an
EU-cloud model it may never call. The classification is the key's default (its own, its use
case's or its department's). Requests of a key that may use no model have no reference and are
left out of the comparison (and counted as such).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import cast

from stellwerk.config.schema import Classification, ModelConfig, UseCaseConfig
from stellwerk.dashboard.queries import Totals
from stellwerk.errors import PermissionDenied
from stellwerk.governance.principal import Principal, key_principal
from stellwerk.governance.service import Governance
from stellwerk.governance.state import ModelState
from stellwerk.policy.filter import PolicyFilter


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
    references: list[tuple[str, str]]
    """(department, reference model) pairs of the traffic compared (a department whose keys
    differ in classification or use case can have several)."""
    requests: int
    cost: Saving
    energy_wh: Saving
    latency_ms: Saving | None  # mean per request; None without traffic on a reference model
    without_reference: int = 0  # routed requests of keys that may use no model now


@dataclass(frozen=True, slots=True)
class KeyTraffic:
    """The routed traffic of one key on one model, and the key's permitted reference."""

    department: str
    reference: ModelConfig | None
    totals: Totals


def permitted_reference(
    policy: PolicyFilter, principal: Principal, states: Sequence[ModelState]
) -> ModelConfig | None:
    """The largest chat model ``principal`` may use by its default classification (the first id
    on a tie); ``None`` when it may use none."""
    chat = [s for s in states if "chat" in s.config.capabilities]
    try:
        allowed = policy.allowed(principal, cast(Classification, principal.classification), chat)
    except PermissionDenied:
        return None
    return max((s.config for s in allowed), key=lambda m: (m.params_b, m.id), default=None)


def key_principals(gov: Governance, use_cases: Sequence[UseCaseConfig]) -> dict[str, Principal]:
    """Every key's principal by key id: the config's keys and the stored ones (revoked too, whose
    traffic of the month still counts)."""
    departments = {d.name: d for d in gov.config.departments}
    cases = {u.name: u for u in use_cases}
    found: dict[str, Principal] = {}
    for dept in gov.config.departments:
        for key in dept.keys:
            found[key.id] = key_principal(
                key_id=key.id,
                department=dept.name,
                role=key.role,
                use_case=key.use_case,
                classification=key.classification,
                departments=departments,
                use_cases=cases,
            )
    for info in gov.keys.list():
        found[info.key_id] = key_principal(
            key_id=info.key_id,
            department=info.department,
            role=info.role,
            use_case=info.use_case,
            classification=info.classification,
            departments=departments,
            use_cases=cases,
        )
    return found


def compute_savings(
    traffic: Sequence[KeyTraffic], mean_latency_ms: Mapping[str, float | None]
) -> Savings:
    """``traffic``: the routed requests (``auto...``) per key and model, each with its key's
    reference; ``mean_latency_ms``: each reference model's observed mean latency."""
    compared = [t for t in traffic if t.totals.group and t.reference is not None]
    without = sum(t.totals.requests for t in traffic if t.totals.group and t.reference is None)
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
    latency = None
    if latency_known and requests:
        latency = Saving(latency_actual / requests, latency_baseline / requests)
    return Savings(sorted(references), requests, cost, energy, latency, without)
