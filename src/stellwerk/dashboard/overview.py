"""The overview page's widgets, gathered from the governance services and the rollups."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import get_args

from sqlalchemy import Connection

from stellwerk.config.schema import Classification, Hosting, RiskTier, UseCaseConfig
from stellwerk.dashboard import queries
from stellwerk.dashboard.knowledge import KnownModel, by_basis
from stellwerk.dashboard.savings import Savings, compute_savings
from stellwerk.governance.compliance import ComplianceReport, non_compliant
from stellwerk.governance.lifecycle import STATES
from stellwerk.governance.report import largest_approved
from stellwerk.governance.service import Governance
from stellwerk.governance.state import ModelState
from stellwerk.ledger.audit import AuditEntry
from stellwerk.ledger.window import Window
from stellwerk.routing.base import Router
from stellwerk.routing.knowledge import Basis

HOSTINGS: tuple[Hosting, ...] = get_args(Hosting)
CLASSIFICATIONS: tuple[Classification, ...] = get_args(Classification)
RISK_TIERS: tuple[RiskTier, ...] = get_args(RiskTier)


@dataclass(frozen=True, slots=True)
class HostingRow:
    hosting: Hosting
    classifications: tuple[Classification, ...]
    models: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RoutingMix:
    days: list[datetime]
    models: list[str]
    requests: dict[str, list[int]]  # model -> requests per day
    by_size: list[tuple[str, int]]  # size class -> requests


@dataclass(frozen=True, slots=True)
class Overview:
    states: list[ModelState]
    by_state: list[tuple[str, list[ModelState]]]
    attention: list[ComplianceReport]
    use_cases: list[UseCaseConfig]
    by_tier: list[tuple[RiskTier, list[UseCaseConfig]]]
    hosting: list[HostingRow]
    departments: list[queries.Totals]
    month_total: queries.Totals
    mix: RoutingMix
    savings: Savings | None
    audit: list[AuditEntry]
    knowledge: list[tuple[Basis, list[KnownModel]]]
    """The models by how the router knows them (not the retired ones: it never sees them)."""


def build_overview(gov: Governance, window: Window, router: Router) -> Overview:
    config = gov.config
    states = gov.catalog.states()
    use_cases = gov.use_cases.list()
    with gov.ledger.connect() as connection:
        departments = queries.totals_by(connection, window, "department")
        mix = _routing_mix(connection, window, gov)
        savings = _savings(connection, window, states)
    total = queries.Totals(
        "",
        *(
            sum(getattr(d, f) for d in departments)
            for f in (
                "requests",
                "errors",
                "fallbacks",
                "prompt_tokens",
                "completion_tokens",
                "cost",
                "energy_wh",
                "latency_ms_sum",
            )
        ),
    )
    return Overview(
        states=states,
        by_state=[(s, [m for m in states if m.lifecycle == s]) for s in STATES],
        attention=non_compliant(
            config.models, tuple(use_cases), config.governance, gov.catalog.evaluated()
        ),
        use_cases=use_cases,
        by_tier=[(tier, [u for u in use_cases if u.risk_tier == tier]) for tier in RISK_TIERS],
        hosting=_hosting(gov, states),
        departments=departments,
        month_total=total,
        mix=mix,
        savings=savings,
        audit=gov.ledger.list_audit(limit=12),
        knowledge=by_basis(router, (s.config for s in states if s.lifecycle != "retired")),
    )


def _hosting(gov: Governance, states: list[ModelState]) -> list[HostingRow]:
    allowed = gov.config.governance.classification_hosting
    return [
        HostingRow(
            hosting=place,
            classifications=tuple(c for c in CLASSIFICATIONS if place in allowed.get(c, ())),
            models=tuple(
                s.id for s in states if s.config.hosting == place and s.lifecycle != "retired"
            ),
        )
        for place in HOSTINGS
    ]


def _routing_mix(connection: Connection, window: Window, gov: Governance) -> RoutingMix:
    size_of = {m.id: m.size_class for m in gov.config.models}
    per_day: dict[datetime, Counter[str]] = {}
    sizes: Counter[str] = Counter()
    for day, model, requests in queries.daily_requests(connection, window):
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
    )


def _savings(connection: Connection, window: Window, states: list[ModelState]) -> Savings | None:
    baseline = largest_approved(states)
    if baseline is None:
        return None
    routed = queries.totals_by(connection, window, "model", routed=True)
    if not any(t.group for t in routed):
        return None
    on_baseline = queries.total(connection, window, model=baseline.id)
    return compute_savings(routed, baseline, on_baseline.mean_latency_ms)
