"""The overview page's widgets, gathered from the governance services and the rollups."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import get_args

from sqlalchemy import Connection

from stellwerk.config.schema import (
    Classification,
    Hosting,
    ModelConfig,
    RiskTier,
    UsageLimits,
    UseCaseConfig,
)
from stellwerk.dashboard.audit_text import AuditRow, audit_rows
from stellwerk.dashboard.knowledge import KnownModel, by_basis
from stellwerk.dashboard.latency_fit import fit_latency
from stellwerk.dashboard.savings import (
    KeyTraffic,
    Savings,
    compute_savings,
    key_principals,
    permitted_reference,
)
from stellwerk.governance.service import Governance
from stellwerk.ledger import usage_totals
from stellwerk.ledger.answer_times import answer_times
from stellwerk.ledger.window import Window
from stellwerk.policy.classification import may_go
from stellwerk.policy.compliance import ComplianceReport, non_compliant
from stellwerk.policy.lifecycle import STATES
from stellwerk.policy.reach import Unservable
from stellwerk.policy.state import ModelState
from stellwerk.policy.weights import Shared, shared
from stellwerk.routing.base import Router
from stellwerk.routing.knowledge import Basis

HOSTINGS: tuple[Hosting, ...] = get_args(Hosting)
CLASSIFICATIONS: tuple[Classification, ...] = get_args(Classification)
RISK_TIERS: tuple[RiskTier, ...] = get_args(RiskTier)


@dataclass(frozen=True, slots=True)
class HostingRow:
    hosting: Hosting | None  # None: not stated in the config
    classifications: tuple[Classification, ...]
    models: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RoutingMix:
    """The router's choices: the routed requests (``model: auto...``) by day, model and size
    class. The requests that named a model and shadow grading's calls are not the router's
    choices: counted apart (``left_out``), never in the mix."""

    days: list[datetime]
    models: list[str]
    requests: dict[str, list[int]]  # model -> routed requests per day
    by_size: list[tuple[str, int]]  # size class -> routed requests
    left_out: usage_totals.NotRouted


DEPARTMENT_LIMIT_REASONS = frozenset({"rate_limited", "budget_exceeded"})
"""The refusals of a department's own budget and rate limits, which its row shows."""
KEY_LIMIT_REASONS = frozenset({"key_rate_limited", "key_budget_exceeded", "too_many_streams"})
"""The refusals of one key's limits: its own budget or rate limits (``RateLimited.recorded``),
its open streams (``gateway/limits.py``). Its department's limits may be far from spent, so they
are counted apart: a department at 5 % of its budget should not seem to refuse for it."""


@dataclass(frozen=True, slots=True)
class DepartmentLimits:
    """A department's budget use and rate limits in the month shown."""

    department: str
    limits: UsageLimits
    spent: Decimal
    refused_by_limits: int
    """Its requests refused this month by the department's own rate limits or budget."""
    refused_by_key_limits: int
    """Its requests refused this month by one key's limits (``KEY_LIMIT_REASONS``); its page
    names the keys."""

    @property
    def budget_used(self) -> float | None:
        """The share of its own monthly budget spent; None: it has none."""
        return self.limits.budget_used(self.spent)


@dataclass(frozen=True, slots=True)
class Overview:
    states: list[ModelState]
    by_state: list[tuple[str, list[ModelState]]]
    attention: list[ComplianceReport]
    unservable: list[Unservable]  # use cases no model may serve now (policy.reach)
    same_weights: list[Shared]  # ids of the same weights that differ in governance now
    use_cases: list[UseCaseConfig]
    by_tier: list[tuple[RiskTier, list[UseCaseConfig]]]
    hosting: list[HostingRow]
    departments: list[usage_totals.Totals]
    month_total: usage_totals.Totals
    refusals: list[tuple[str, int, Mapping[str, int]]]  # reason, requests, per department
    limits: list[DepartmentLimits]
    mix: RoutingMix
    savings: Savings | None
    audit: list[AuditRow]
    knowledge: list[tuple[Basis, list[KnownModel]]]
    """The models by how the router knows them (not the retired ones: it never sees them)."""


def build_overview(gov: Governance, window: Window, router: Router) -> Overview:
    config = gov.admin.config
    states = gov.admin.catalog.states()
    use_cases = gov.admin.use_cases.list()
    with gov.admin.ledger.connect() as connection:
        refused = usage_totals.refusals(connection, window)
        departments = usage_totals.totals_by(connection, window, "department")
        mix = _routing_mix(connection, window, gov)
        savings = _savings(connection, window, gov, states, use_cases)
    total = usage_totals.summed(departments)
    return Overview(
        states=states,
        by_state=[(s, [m for m in states if m.lifecycle == s]) for s in STATES],
        attention=non_compliant(
            config.models, tuple(use_cases), config.governance, gov.admin.evaluated()
        ),
        unservable=[u for u in map(gov.snapshot.unservable, use_cases) if u is not None],
        same_weights=[g for g in shared(states, gov.snapshot.same_weights) if g.differs],
        use_cases=use_cases,
        by_tier=[(tier, [u for u in use_cases if u.risk_tier == tier]) for tier in RISK_TIERS],
        hosting=_hosting(gov, states),
        departments=departments,
        month_total=total,
        refusals=usage_totals.by_reason(refused),
        limits=_limits(gov, departments, refused),
        mix=mix,
        savings=savings,
        audit=audit_rows(
            gov.admin.ledger.list_audit(limit=12),
            models={s.id for s in states},
            departments={d.name for d in config.departments},
        ),
        knowledge=by_basis(router, (s.config for s in states if s.lifecycle != "retired")),
    )


def _hosting(gov: Governance, states: list[ModelState]) -> list[HostingRow]:
    """A row per location, and one for the models whose config does not state theirs (None,
    only when there are such models; counted as the least trusted location)."""
    rules = gov.admin.config.governance
    places: list[Hosting | None] = list(HOSTINGS)
    if any(s.config.hosting is None and s.lifecycle != "retired" for s in states):
        places.append(None)
    return [
        HostingRow(
            hosting=place,
            classifications=tuple(c for c in CLASSIFICATIONS if may_go(c, place, rules)),
            models=tuple(
                s.id for s in states if s.config.hosting == place and s.lifecycle != "retired"
            ),
        )
        for place in places
    ]


def _routing_mix(connection: Connection, window: Window, gov: Governance) -> RoutingMix:
    size_of = {m.id: m.size_class for m in gov.admin.config.models}
    per_day: dict[datetime, Counter[str]] = {}
    sizes: Counter[str] = Counter()
    for day, model, requests in usage_totals.daily_requests(connection, window, routed=True):
        if not model:
            continue
        per_day.setdefault(day, Counter())[model] += requests
        sizes[size_of.get(model, "?")] += requests
    days = sorted(per_day)
    overall: Counter[str] = Counter()
    for counts in per_day.values():
        overall.update(counts)
    models = [m for m, _ in overall.most_common()]
    return RoutingMix(
        days=days,
        models=models,
        requests={m: [per_day[d][m] for d in days] for m in models},
        by_size=[(s, sizes[s]) for s in ("small", "medium", "large") if sizes[s]],
        left_out=usage_totals.not_routed(connection, window),
    )


def _limits(
    gov: Governance, departments: list[usage_totals.Totals], refused: list[usage_totals.Refusal]
) -> list[DepartmentLimits]:
    """Every configured department's limits in force, its spend and its limit refusals: its own
    limits' and its keys' apart."""
    spent = {d.group: d.cost for d in departments}
    in_force, _ = gov.admin.budgets.effective()
    by_limits: Counter[str] = Counter()
    by_key_limits: Counter[str] = Counter()
    for r in refused:
        if r.reason in DEPARTMENT_LIMIT_REASONS:
            by_limits[r.department] += r.requests
        elif r.reason in KEY_LIMIT_REASONS:
            by_key_limits[r.department] += r.requests
    return [
        DepartmentLimits(
            department=d.name,
            limits=in_force.get(d.name, d.limits),
            spent=spent.get(d.name, Decimal(0)),
            refused_by_limits=by_limits[d.name],
            refused_by_key_limits=by_key_limits[d.name],
        )
        for d in gov.admin.config.departments
    ]


def _savings(
    connection: Connection,
    window: Window,
    gov: Governance,
    states: list[ModelState],
    use_cases: list[UseCaseConfig],
) -> Savings | None:
    """The month's routed requests against the reference each record keeps, or (records from
    before the ledger kept one) its key's reference today."""
    routed = usage_totals.routed_by_key(connection, window)
    if not any(r.totals.group for r in routed):
        return None
    principals = key_principals(gov, use_cases)
    policy = gov.snapshot.policy
    catalog = {s.id: s.config for s in states}
    today: dict[str, ModelConfig | None] = {}
    traffic = []
    for r in routed:
        if r.reference_model:
            reference = catalog.get(r.reference_model)
        else:
            if r.key_id not in today:
                principal = principals.get(r.key_id)
                today[r.key_id] = (
                    permitted_reference(policy, principal, states)
                    if principal is not None
                    else None
                )
            reference = today[r.key_id]
        traffic.append(KeyTraffic(r.department, reference, r.totals, r.reference_model))
    latency = {
        model: fit_latency(answer_times(connection, window, model))
        for model in {t.reference_id for t in traffic if t.reference_id is not None}
    }
    return compute_savings(traffic, latency)
