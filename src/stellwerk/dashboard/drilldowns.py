"""The drill-down pages: one model, one department."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from stellwerk.calibration.records import CalibrationRecord, CalibrationStore
from stellwerk.config.key_class import key_class
from stellwerk.config.schema import (
    Classification,
    DepartmentConfig,
    KeyConfig,
    UsageLimits,
    UseCaseConfig,
)
from stellwerk.dashboard.key_limits import KeyLimits, key_limits
from stellwerk.dashboard.knowledge import model_knowledge
from stellwerk.errors import NotFound
from stellwerk.governance.catalog import HistoryEntry
from stellwerk.governance.key_actors import UNNAMED, head_key
from stellwerk.governance.key_store import KeyInfo
from stellwerk.governance.service import Governance
from stellwerk.ledger import usage_totals
from stellwerk.ledger.window import Window
from stellwerk.policy.compliance import ComplianceReport, check_model
from stellwerk.policy.lifecycle import TRANSITIONS
from stellwerk.policy.state import ModelState
from stellwerk.routing.base import Router
from stellwerk.routing.knowledge import Knowledge


@dataclass(frozen=True, slots=True)
class ModelPage:
    state: ModelState
    compliance: ComplianceReport
    history: list[HistoryEntry]
    moves: list[str]
    usage: usage_totals.Totals
    by_department: list[usage_totals.Totals]
    latency: usage_totals.Latency
    routed_share: float | None
    daily: list[tuple[datetime, int]]
    calibrations: list[CalibrationRecord]  # newest first; the first is the model's quality
    knowledge: Knowledge  # how the gateway's router knows the model
    refused_named: list[tuple[str, int, Mapping[str, int]]]
    """The requests that named the model and were refused before it was chosen (lifecycle,
    consent, hosting, allow-lists, limits), by reason and department. Not in ``usage``: the
    overview and department pages count them once, under "refused (no model chosen)"."""
    same_weights: tuple[str, ...] = ()  # the other ids serving its weights (config.weights)
    withdrawn_on: str | None = None  # the model whose withdrawal of consent refuses it

    @property
    def refused_named_total(self) -> int:
        return sum(requests for _, requests, _ in self.refused_named)


def model_page(gov: Governance, router: Router, model_id: str, window: Window) -> ModelPage:
    state = gov.admin.catalog.state(model_id)  # NotFound for an unknown model
    with gov.admin.ledger.connect() as connection:
        usage = usage_totals.total(connection, window, model=model_id)
        by_department = usage_totals.totals_by(connection, window, "department", model=model_id)
        latency = usage_totals.latency(connection, window, model=model_id)
        routed = usage_totals.totals_by(connection, window, "model", routed=True)
        per_day = usage_totals.daily_requests(connection, window, model=model_id)
        named = usage_totals.refusals(connection, window, named=_names(gov, model_id))
    calibrations = CalibrationStore(gov.admin.ledger).history(model_id, limit=5)
    routed_all = sum(t.requests for t in routed if t.group)
    routed_here = sum(t.requests for t in routed if t.group == model_id)
    daily: dict[datetime, int] = {}
    for day, _, requests in per_day:
        daily[day] = daily.get(day, 0) + requests
    return ModelPage(
        state=state,
        # a calibration record is the model's evaluation record (read now, not from the snapshot)
        compliance=check_model(
            state.config, gov.admin.config.governance, evaluated=bool(calibrations)
        ),
        calibrations=calibrations,
        history=gov.admin.catalog.history(model_id),
        moves=sorted(TRANSITIONS[state.lifecycle]),
        usage=usage,
        by_department=by_department,
        latency=latency,
        routed_share=routed_here / routed_all if routed_all else None,
        daily=sorted(daily.items()),
        knowledge=model_knowledge(router, state.config),
        refused_named=usage_totals.by_reason(named),
        same_weights=gov.snapshot.same_weights.get(model_id, ()),
        withdrawn_on=gov.snapshot.withdrawn_on(model_id),
    )


def _names(gov: Governance, model_id: str) -> tuple[str, ...]:
    """The names a request asks for the model by: its id, and its id with Ollama's default tag
    (``x:latest`` is ``x``, as the gateway reads it) unless another model has that id."""
    tagged = f"{model_id}:latest"
    if any(m.id == tagged for m in gov.admin.config.models):
        return (model_id,)
    return (model_id, tagged)


@dataclass(frozen=True, slots=True)
class DepartmentPage:
    department: DepartmentConfig
    usage: usage_totals.Totals
    by_model: list[usage_totals.Totals]
    by_key: list[usage_totals.Totals]
    refusals: list[tuple[str, int, Mapping[str, int]]]  # reason, requests, per key
    limits: UsageLimits
    budget_used: float | None
    key_limits: list[KeyLimits]
    """Its keys with limits of their own (which refuse their requests apart from the
    department's)."""
    config_keys: list[KeyConfig]
    keys: list[KeyInfo]
    """Its stored keys; for a head key's page, who made or revoked them named only when that is
    a key of the department, else ``unnamed`` (``governance/key_actors.py``)."""
    use_cases: list[UseCaseConfig]
    key_classes: Mapping[str, Classification]
    """Each key's class by key id: what its requests run under now without a header (the
    highest of its own, its use case's and its department's)."""
    use_case_classes: Mapping[str, Classification]
    """Each use case's class by name: what its keys' requests run under at least (the higher of
    its own and its department's); its own class does not apply where it is lower."""
    unnamed: str | None = None
    """The actor of ``keys`` that stands for one outside the department (a head key's page:
    shown as "an admin"); ``None``: every actor is named."""


def find_department(gov: Governance, name: str) -> DepartmentConfig:
    for dept in gov.admin.config.departments:
        if dept.name == name:
            return dept
    raise NotFound(f"unknown department {name!r}", param="department")


def department_page(
    gov: Governance, name: str, window: Window, *, head: bool = False
) -> DepartmentPage:
    """The department ``name``'s page in ``window``; ``head``: as its head key reads it, no key
    id but its keys' named."""
    dept = find_department(gov, name)
    with gov.admin.ledger.connect() as connection:
        refused = usage_totals.refusals(connection, window, department=name)
        usage = replace(usage_totals.total(connection, window, department=name), group=name)
        by_model = usage_totals.idle_apart(
            usage_totals.totals_by(connection, window, "model", department=name)
        )
        by_key = usage_totals.totals_by(connection, window, "key_id", department=name)
    limits = gov.admin.budgets.department_limits(name)
    used = limits.budget_used(usage.cost)  # the share GET /admin/limits's spend is of it
    per_key = [replace(r, department=r.key_id) for r in refused]
    keys = gov.admin.keys.list(department=name)
    _, own_limits = gov.admin.budgets.effective()
    key_ids = [k.id for k in dept.keys] + [k.key_id for k in keys]
    if head:
        keys = [head_key(k, key_ids) for k in keys]
    use_cases = [u for u in gov.admin.use_cases.list() if u.department == name]
    snapshot = gov.snapshot
    classes = {k.id: snapshot.key_class(name, k.use_case, k.classification) for k in dept.keys}
    classes.update({k.key_id: snapshot.key_class(name, k.use_case, k.classification) for k in keys})
    return DepartmentPage(
        department=dept,
        usage=usage,
        by_model=by_model,
        by_key=by_key,
        refusals=usage_totals.by_reason(per_key),
        limits=limits,
        budget_used=used,
        key_limits=key_limits(key_ids, own_limits, by_key),
        config_keys=list(dept.keys),
        keys=keys,
        use_cases=use_cases,
        key_classes=classes,
        use_case_classes={u.name: key_class(None, u, dept) for u in use_cases},
        unnamed=UNNAMED if head else None,
    )
