"""The router-learning page: how much the router has learned from the organisation's traffic.

Per department: the graded requests of the month (each once) and their grades by source (an
application's feedback, shadow grading; a request may have one of each), the share of its routed
traffic the router found unfamiliar (the prompts it most needs to learn), and the routing gain of
the version in use on the department's graded requests, as its promotion measured it
(``adapt.Comparison.departments``; below the promotion's ``min_judged`` judged requests only the
count is shown: the mean of a few is noise). For the router's artifact: the grades kept (one per
graded request and source), its versions (promoted or rolled back, with the before and after error
of each promotion, from its audit figures), the routing gain of the version in use (the one its
promotion was decided on) and its newest adaptation runs, promoted or not and why not
(``adaptations``, from the audit log). The version in use is the promotion whose correction the
router carries (``LearnedRouter.adapted``): after a rollback that restored an earlier promotion's
correction, that promotion, with its figures (``GradedStore.correction_of``). After a rollback,
a line says that adaptation learns from the graded requests since it, and how many came so far
(``GradedStore.learning_window``). For shadow grading:
what it cost the account it is charged to, against that department's monthly budget, and how many
of its calls the budget refused (docs/router.md)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from stellwerk.dashboard.adaptations import (
    RUNS_SHOWN,
    AdaptationRun,
    adaptation_run,
    as_float,
    as_int,
)
from stellwerk.errors import NotFound
from stellwerk.governance.service import Governance
from stellwerk.ledger import learning_totals as q
from stellwerk.ledger.graded import GradedStore, LearningWindow, RouterVersion
from stellwerk.ledger.window import Window
from stellwerk.money import from_micro, share_spent
from stellwerk.routing.adapt import AdaptSettings
from stellwerk.routing.base import Router
from stellwerk.routing.learned import LearnedRouter

VERSIONS_SHOWN = 20


@dataclass(frozen=True, slots=True)
class DepartmentRouting:
    """A department's part of the comparison that promoted the version in use (its
    ``adapt.DepartmentGain``, as the audit figures keep it)."""

    records: int
    """Its graded requests judged (held out, with two graded models or more)."""
    gain: float | None
    standard_error: float | None
    min_records: int
    """The judged requests a promotion needs (the comparison's ``min_records``): below it the
    page shows the count, not the gain."""

    @property
    def shown(self) -> bool:
        return self.gain is not None and self.records >= max(self.min_records, 2)


@dataclass(frozen=True, slots=True)
class DepartmentLearning:
    department: str
    configured: bool
    """A department of the config (it has a page); else one the ledger still names."""
    feedback: int
    """Its grades from applications' feedback in the month."""
    shadow: int
    """Its grades from shadow grading in the month."""
    graded: int
    """Its requests graded in the month, each once (one graded by feedback and by shadow
    grading is a grade of each source, so this may be less than ``feedback + shadow``)."""
    familiarity: q.Familiarity
    routing: DepartmentRouting | None = None
    """None: the version in use reports no gains per department (the base alone, or a
    version promoted before they were reported)."""


@dataclass(frozen=True, slots=True)
class VersionRow:
    """One router version: a promotion (``adapt``, with its held-out figures) or a rollback."""

    id: int
    time: datetime
    actor: str
    action: str
    records: int | None
    current_error: float | None
    """Mean squared error of the router it replaced, on the held-out grades."""
    candidate_error: float | None
    rollback_to: int | None
    in_use: bool
    routing_gain: float | None = None
    """How much better the new version's picks were graded than the replaced router's, on the
    held-out grades (the comparison's ``gain``, where the adaptation reports one)."""
    routing_error: float | None = None
    """The standard error of ``routing_gain`` (the comparison's ``standard_error``)."""
    departments: dict[str, DepartmentRouting] | None = None
    """The routing gain per department (None: the adaptation reports none)."""
    min_judged: int = 0
    """The judged requests its promotion needed (the comparison's ``min_records``)."""

    @property
    def gain(self) -> float | None:
        """The share of the replaced router's error that this version removed."""
        if self.current_error is None or self.candidate_error is None:
            return None
        if self.current_error <= 0:
            return None
        return (self.current_error - self.candidate_error) / self.current_error


@dataclass(frozen=True, slots=True)
class ShadowCost:
    account: str
    share: float
    requests_per_minute: int
    spend: q.ShadowSpend
    account_spent: Decimal
    """What the account's department spent in the month, shadow grading included."""
    budget: Decimal | None
    refused: int
    skipped: tuple[tuple[str, int], ...] = ()
    """The requests this gateway process skipped grading since its start, per reason, most
    first (``gateway.shadow``: they are not kept in the ledger)."""

    @property
    def cost(self) -> Decimal:
        return from_micro(self.spend.cost_micro)

    @property
    def budget_used(self) -> float | None:
        return share_spent(self.account_spent, self.budget)


@dataclass(frozen=True, slots=True)
class Learning:
    artifact: str | None
    """The learned router's artifact; None: the router does not learn."""
    in_use: int
    """The promotion whose correction the gateway routes with (0: the base alone), also when a
    rollback restored it: the version its decisions name."""
    kept: dict[str, int]
    versions: list[VersionRow]
    promotion: VersionRow | None
    """The promotion in use, with its figures (None: the base alone)."""
    departments: list[DepartmentLearning]
    shadow: ShadowCost | None
    """None: shadow grading is off."""
    runs: tuple[AdaptationRun, ...] = ()
    """The newest adaptation runs of the artifact, newest first, promoted or not."""
    restored_by: int | None = None
    """The newest version, when it is a rollback that made ``in_use`` current again."""
    window: LearningWindow | None = None
    """The newest rollback, after which adaptation learns (None: never rolled back)."""
    since_rollback: int = 0
    """The graded requests kept that came after ``window``'s rollback."""

    @property
    def kept_total(self) -> int:
        return sum(self.kept.values())

    @property
    def routing_gains(self) -> bool:
        """Whether any version reports a routing gain (a column of its own then)."""
        return any(v.routing_gain is not None for v in self.versions)

    @property
    def department_gains(self) -> bool:
        """Whether the version in use reports its gain per department (a column then)."""
        return any(d.routing is not None for d in self.departments)

    @property
    def runs_shown(self) -> int:
        """How many adaptation runs the page shows at most."""
        return RUNS_SHOWN

    @property
    def promotion_rule(self) -> tuple[int, float]:
        """The judged requests and the standard errors of gain a promotion needed in the newest
        run that judged any (the defaults of ``AdaptSettings`` before one did)."""
        for run in self.runs:
            if run.judged is not None:
                return run.min_judged, run.margin
        settings = AdaptSettings()
        return settings.min_judged, settings.margin

    @property
    def min_judged(self) -> int:
        """The judged requests below which a department's gain is not shown."""
        return max((d.routing.min_records for d in self.departments if d.routing), default=0)


def build_learning(
    gov: Governance, router: Router, window: Window, skipped: Mapping[str, int] | None = None
) -> Learning:
    """The page's figures; ``skipped``: the gradings this process skipped, per reason."""
    learned = router if isinstance(router, LearnedRouter) else None
    shadow = gov.admin.config.router.shadow
    account = shadow.account if shadow.share > 0 else None
    with gov.admin.ledger.connect() as connection:
        graded = q.graded_by_department(connection, window)
        familiarity = q.familiarity_by_department(connection, window)
        kept = q.graded_kept(connection, learned.version) if learned else {}
        spend = q.shadow_spend(connection, window, account) if account else None
        refused = q.shadow_refused(connection, window, account) if account else 0
        spent = q.department_spend_micro(connection, window, account) if account else 0
    versions: list[VersionRow] = []
    runs: tuple[AdaptationRun, ...] = ()
    promotion: VersionRow | None = None
    restored_by: int | None = None
    rolled: LearningWindow | None = None
    since_rollback = 0
    if learned is not None:
        store = GradedStore(gov.admin.ledger)
        stored = store.versions(learned.version, limit=VERSIONS_SHOWN)
        versions = [_row(v, learned.adapted) for v in stored]
        entries = store.adaptations(learned.version, limit=RUNS_SHOWN)
        runs = tuple(adaptation_run(e) for e in entries)
        promotion = _promotion(store, learned, versions)
        restored_by = _restored_by(store, stored, learned.adapted)
        rolled = store.learning_window(learned.version)
        if rolled is not None:
            since_rollback = store.count(learned.version, after=rolled.after)
    shadow_cost = None
    if account is not None and spend is not None:
        # the limits in force, which admit the grading calls (docs/router.md)
        limits = gov.snapshot.department_limits.get(account)
        shadow_cost = ShadowCost(
            account=account,
            share=shadow.share,
            requests_per_minute=shadow.requests_per_minute,
            spend=spend,
            account_spent=from_micro(spent),
            budget=None if limits is None else limits.monthly_budget,
            refused=refused,
            skipped=tuple(sorted((skipped or {}).items(), key=lambda kv: (-kv[1], kv[0]))),
        )
    return Learning(
        artifact=learned.version if learned else None,
        in_use=learned.adapted if learned else 0,
        kept=kept,
        versions=versions,
        promotion=promotion,
        departments=_departments(gov, graded, familiarity, promotion),
        shadow=shadow_cost,
        runs=runs,
        restored_by=restored_by,
        window=rolled,
        since_rollback=since_rollback,
    )


def _departments(
    gov: Governance,
    graded: dict[str, q.GradedDepartment],
    familiarity: dict[str, q.Familiarity],
    promotion: VersionRow | None,
) -> list[DepartmentLearning]:
    """Every configured department (config order), then any other the ledger names."""
    configured = [d.name for d in gov.admin.config.departments]
    gains = None if promotion is None else promotion.departments
    named = set(graded) | set(familiarity) | set(gains or {})
    names = configured + sorted(named - set(configured))
    none = q.Familiarity(0, 0, 0)
    ungraded = q.GradedDepartment(0, {})
    return [
        DepartmentLearning(
            department=name,
            configured=name in configured,
            feedback=graded.get(name, ungraded).grades.get("feedback", 0),
            shadow=graded.get(name, ungraded).grades.get("shadow", 0),
            graded=graded.get(name, ungraded).requests,
            familiarity=familiarity.get(name, none),
            routing=None if gains is None else gains.get(name, _unjudged(promotion)),
        )
        for name in names
    ]


def _unjudged(version: VersionRow | None) -> DepartmentRouting:
    """The share of a department none of whose requests the version's promotion judged."""
    least = 0 if version is None else version.min_judged
    return DepartmentRouting(records=0, gain=None, standard_error=None, min_records=least)


def _row(version: RouterVersion, in_use: int) -> VersionRow:
    d: dict[str, Any] = version.details
    comparison = d.get("comparison") or {}
    rollback = "rollback_to" in d
    return VersionRow(
        id=version.id,
        time=version.time,
        actor=version.actor,
        action="rollback" if rollback else "adapt",
        records=None if rollback else as_int(d.get("records")),
        current_error=as_float(comparison.get("current_error")),
        candidate_error=as_float(comparison.get("candidate_error")),
        rollback_to=as_int(d.get("rollback_to")) if rollback else None,
        in_use=version.id == in_use,
        routing_gain=as_float(comparison.get("gain")),
        routing_error=as_float(comparison.get("standard_error")),
        departments=_department_gains(comparison),
        min_judged=as_int(comparison.get("min_records")) or 0,
    )


def _department_gains(comparison: dict[str, Any]) -> dict[str, DepartmentRouting] | None:
    """The comparison's gain per department (``adapt.Comparison.as_json``), None without."""
    found = comparison.get("departments")
    if not isinstance(found, dict):
        return None
    least = as_int(comparison.get("min_records")) or 0
    return {
        str(name): DepartmentRouting(
            records=as_int(figures.get("records")) or 0,
            gain=as_float(figures.get("gain")),
            standard_error=as_float(figures.get("standard_error")),
            min_records=least,
        )
        for name, figures in found.items()
        if isinstance(figures, dict)
    }


def _promotion(
    store: GradedStore, router: LearnedRouter, versions: list[VersionRow]
) -> VersionRow | None:
    """The promotion whose correction ``router`` carries (None: the base alone), read on its own
    when it is older than the versions shown."""
    if not router.adapted:
        return None
    row = next((v for v in versions if v.id == router.adapted), None)
    if row is None:
        try:
            row = _row(store.version(router.version, router.adapted), router.adapted)
        except NotFound:
            return None
    return row


def _restored_by(store: GradedStore, stored: list[RouterVersion], in_use: int) -> int | None:
    """The newest version, when it is a rollback that restored ``in_use`` (0: the base)."""
    newest = stored[0] if stored else None
    if newest is None or newest.restores is None or store.correction_of(newest) != in_use:
        return None
    return newest.id
