"""Usage totals for the dashboard, all from the rollup tables (never a scan of ``usage``).

A month is at most 31 days times the departments, keys and models that were active in it, so
each query reads a few thousand rows, however many usage records the month holds. Windows are
whole UTC days (a month is).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import ColumnElement, Connection, and_, case, false, func, select, true

from stellwerk.ledger.learning_totals import SHADOW_KEY
from stellwerk.ledger.rollup_tables import LATENCY_EDGES_MS, usage_daily, usage_latency_daily
from stellwerk.ledger.tables import FAILED_STATUS, IDLE_GROUP, refused, usage
from stellwerk.ledger.window import Window
from stellwerk.money import from_micro

Dimension = Literal["department", "model", "key_id"]


@dataclass(frozen=True, slots=True)
class Totals:
    group: str
    requests: int
    errors: int
    fallbacks: int
    prompt_tokens: int
    completion_tokens: int
    cost_micro: int
    energy_wh: float
    latency_ms_sum: float
    refused: int = 0
    """Of ``errors``, the requests refused for the request (a 4xx: a policy, a limit, a bad
    request, a prompt over the context, a client that hung up): the client's side, not a
    failure."""
    referenced: int = 0
    """Of ``requests``, those whose records keep their reference (``usage.reference_model``,
    since migration 1100_usage_reference); the rest were written before."""
    reference_cost_micro: int = 0
    """What the ``referenced`` requests' references would have charged, as recorded then."""
    referenced_prompt: int = 0
    referenced_completion: int = 0
    """The ``referenced`` requests' tokens (the rest are priced with today's reference)."""
    reference_energy_wh: float = 0.0
    """What the references would have used in energy, as recorded then (since migration
    1200_usage_reference_energy; the records between 1100 and 1200 kept the cost only)."""
    reference_energy_tokens: int = 0
    """The tokens of the records that keep a reference energy."""

    @property
    def failed(self) -> int:
        """Errors that are not refusals (a 5xx): a backend down, failing or too slow, a stream
        cut short."""
        return self.errors - self.refused

    @property
    def cost(self) -> Decimal:
        """The exact cost (stellwerk.money); format it for display, never via float sums."""
        return from_micro(self.cost_micro)

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


def _where(
    window: Window,
    *,
    department: str | None = None,
    model: str | None = None,
    routed: bool | None = None,
) -> ColumnElement[bool]:
    h = usage_daily.c
    clauses = window.clauses(h.day)
    if department is not None:
        clauses.append(h.department == department)
    if model is not None:
        clauses.append(h.model == model)
    if routed is not None:
        clauses.append(h.routed == routed)
    return and_(true(), *clauses)


def totals_by(
    connection: Connection,
    window: Window,
    by: Dimension,
    *,
    department: str | None = None,
    model: str | None = None,
    routed: bool | None = None,
) -> list[Totals]:
    """Sums per department, model or key in ``window``, highest cost first."""
    h = usage_daily.c
    group = h[by]
    statement = (
        select(group, *(func.sum(h[c]) for c in _SUMS))
        .where(_where(window, department=department, model=model, routed=routed))
        .group_by(group)
        .order_by(func.sum(h.cost_micro).desc(), func.sum(h.requests).desc(), group)
    )
    return [_totals(str(row[0]), row[1:]) for row in connection.execute(statement)]


@dataclass(frozen=True, slots=True)
class RoutedTraffic:
    """The routed requests of one key on one model that keep one reference."""

    department: str
    key_id: str
    reference_model: str
    """The reference their records keep; ``''``: none (written before the ledger kept it)."""
    totals: Totals
    """Grouped by the model that served them (``''``: refused before a model was chosen)."""


def routed_by_key(connection: Connection, window: Window) -> list[RoutedTraffic]:
    """The routed requests in ``window`` per department, key, model and stored reference."""
    h = usage_daily.c
    statement = (
        select(
            h.department,
            h.key_id,
            h.reference_model,
            h.model,
            *(func.sum(h[c]) for c in _SUMS),
        )
        .where(_where(window, routed=True))
        .group_by(h.department, h.key_id, h.reference_model, h.model)
        .order_by(h.department, h.key_id, h.reference_model, h.model)
    )
    return [
        RoutedTraffic(str(row[0]), str(row[1]), str(row[2]), _totals(str(row[3]), row[4:]))
        for row in connection.execute(statement)
    ]


def idle_apart(rows: Sequence[Totals]) -> list[Totals]:
    """``rows`` by model with the requests answered with no model (a load or an unload,
    ``tables.IDLE_GROUP``) apart from those refused or failed before a model was chosen: the
    rollups file both under no model (``''``), and of those only the refused and failed are
    errors, so the rest are the loads and unloads. Their row holds their count only (they used
    no tokens, cost nothing); the no-model row keeps every other sum, so the rows still add up
    to the same totals."""
    out: list[Totals] = []
    for row in rows:
        answered = row.requests - row.errors if not row.group else 0
        if answered == 0:
            out.append(row)
        elif row.errors == 0:
            out.append(replace(row, group=IDLE_GROUP))
        else:
            counted = Totals(IDLE_GROUP, answered, *(0 for _ in fields(Totals)[2:]))
            out.extend((replace(row, requests=row.errors), counted))
    return out


def summed(rows: Sequence[Totals], group: str = "") -> Totals:
    """``rows`` added up field by field (every count, the cost in micro-units, energy,
    latency, refusals): one rule, so a new field cannot be left out or summed into another."""
    return Totals(group, *(sum(getattr(r, f.name) for r in rows) for f in fields(Totals)[1:]))


def _totals(group: str, sums: Sequence[Any]) -> Totals:
    """Totals from the sums in ``_SUMS`` order (``None``: nothing summed); the counts and the
    amounts in micro-units are whole numbers, energy and latency are not."""
    n = (0 if v is None else v for v in sums)
    values: list[Any] = [
        float(v) if name in _FRACTIONAL else int(v) for name, v in zip(_SUMS, n, strict=True)
    ]
    return Totals(group, *values)


_SUMS = (
    "requests",
    "errors",
    "fallbacks",
    "prompt_tokens",
    "completion_tokens",
    "cost_micro",
    "energy_wh",
    "latency_ms_sum",
    "refused",
    "referenced",
    "reference_cost_micro",
    "referenced_prompt",
    "referenced_completion",
    "reference_energy_wh",
    "reference_energy_tokens",
)
_FRACTIONAL = frozenset({"energy_wh", "latency_ms_sum", "reference_energy_wh"})


def total(
    connection: Connection,
    window: Window,
    *,
    department: str | None = None,
    model: str | None = None,
    routed: bool | None = None,
) -> Totals:
    """One sum over everything matching (zeros when nothing does)."""
    rows = totals_by(
        connection, window, "department", department=department, model=model, routed=routed
    )
    return summed(rows)


def daily_requests(
    connection: Connection,
    window: Window,
    *,
    department: str | None = None,
    model: str | None = None,
    routed: bool | None = None,
) -> list[tuple[datetime, str, int]]:
    """(day, model, requests) for every day with traffic, oldest first (``routed=True``: only
    the requests the router chose the model for, see :func:`not_routed`)."""
    h = usage_daily.c
    statement = (
        select(h.day, h.model, func.sum(h.requests))
        .where(_where(window, department=department, model=model, routed=routed))
        .group_by(h.day, h.model)
        .order_by(h.day, h.model)
    )
    return [(row[0], str(row[1]), int(row[2])) for row in connection.execute(statement)]


@dataclass(frozen=True, slots=True)
class NotRouted:
    """Requests served on (or failed at) a model the router did not choose."""

    named: int
    """The client named the model (not a route ``auto...``)."""
    shadow: int
    """Shadow grading's reference and judge calls (key ``shadow``, endpoint ``shadow``): they
    name their model, so they are never routed; their cost is charged to shadow grading's
    account like any request's, but they are not the router's choices."""


def not_routed(connection: Connection, window: Window) -> NotRouted:
    """What a routing figure leaves out. A routing figure (the overview's routing mix, a model's
    share of the routed requests, the savings, the familiarity of routed traffic) counts the
    rollup rows of ``routed`` (the client asked for a route, ``auto...``) and nothing else: the
    requests that named a model and shadow grading's calls are usage (requests, tokens, cost,
    charged to their department), not routing."""
    h = usage_daily.c
    shadow = h.key_id == SHADOW_KEY
    statement = select(
        func.sum(case((shadow, 0), else_=h.requests)),
        func.sum(case((shadow, h.requests), else_=0)),
    ).where(and_(_where(window, routed=False), h.model != ""))
    named, calls = connection.execute(statement).one()
    return NotRouted(int(named or 0), int(calls or 0))


@dataclass(frozen=True, slots=True)
class Refusal:
    """Requests of one key refused for one reason (the error code the client got)."""

    department: str
    key_id: str
    reason: str
    status: int
    requests: int


def refusals(
    connection: Connection,
    window: Window,
    *,
    department: str | None = None,
    named: Sequence[str] = (),
) -> list[Refusal]:
    """The requests refused for the request (a 4xx: policy, limits, budget, a bad request, a
    prompt over the context), before a model was chosen or after, most first. Read from
    ``usage`` through its partial index of the refused records (``ix_usage_refused_time``): only
    they are read, never the month's traffic. ``named``: only those refused before a model was
    chosen that named one of these (``usage.requested_model``; a model's page: its id, and the
    name with Ollama's ``:latest`` that stands for it), the refusals the rollups file under no
    model."""
    u = usage.c
    clauses = [refused(u.status), *window.clauses(u.time)]
    if department is not None:
        clauses.append(u.department == department)
    if named:
        clauses.extend((u.model.is_(None), u.requested_model.in_(list(named))))
    reason = func.coalesce(u.error_kind, "")
    statement = (
        select(u.department, u.key_id, reason, u.status, func.count())
        .where(and_(*clauses))
        .group_by(u.department, u.key_id, reason, u.status)
        .order_by(func.count().desc(), u.department, u.key_id, reason)
    )
    return [
        Refusal(str(r[0]), str(r[1]), str(r[2]), int(r[3]), int(r[4]))
        for r in connection.execute(statement)
    ]


def refused_total(found: Sequence[Refusal]) -> int:
    return sum(r.requests for r in found)


def by_reason(found: Sequence[Refusal]) -> list[tuple[str, int, Mapping[str, int]]]:
    """(reason, requests, requests per department), most refused first."""
    reasons: dict[str, dict[str, int]] = {}
    for r in found:
        per = reasons.setdefault(r.reason, {})
        per[r.department] = per.get(r.department, 0) + r.requests
    rows = [(reason, sum(per.values()), per) for reason, per in reasons.items()]
    return sorted(rows, key=lambda row: (-row[1], row[0]))


RECENT_LIMIT = 10_000


def recent_by_backend(connection: Connection, since: datetime) -> dict[str, tuple[int, int]]:
    """backend -> (requests, failures) since ``since``, read from ``usage`` itself: the newest
    records first through the time index, at most ``RECENT_LIMIT`` of them (so the read stays
    short however busy the hour was, and whatever the planner's statistics say). A failure is a
    5xx; a request refused for what it asked (a 4xx, such as a prompt over the context that the
    backend itself refused) says nothing about the backend's health."""
    recent = (
        select(usage.c.backend, usage.c.status)
        .where(usage.c.time >= since)
        .order_by(usage.c.time.desc())
        .limit(RECENT_LIMIT)
        .subquery()
    )
    statement = (
        select(
            recent.c.backend,
            func.count(),
            func.sum(case((recent.c.status >= FAILED_STATUS, 1), else_=0)),
        )
        .where(recent.c.backend.is_not(None))
        .group_by(recent.c.backend)
    )
    return {str(r[0]): (int(r[1]), int(r[2] or 0)) for r in connection.execute(statement)}


@dataclass(frozen=True, slots=True)
class Latency:
    requests: int
    p50_ms: float | None
    p95_ms: float | None


def latency(connection: Connection, window: Window, *, model: str | None = None) -> Latency:
    """Latency percentiles of the clients' requests from the daily histogram: the upper edge of
    the bucket holding the percentile (so at most 25 % above the exact value). Days are whole UTC
    days. Shadow grading's own calls (key ``shadow``: the reference's answers cut short, the
    judge's verdicts of a few tokens) are no client's and are left out, as the answer lengths and
    times leave them out (``answer_lengths``, ``answer_times``)."""
    d = usage_latency_daily.c
    clauses = [*window.clauses(d.day), d.shadow == false()]
    if model is not None:
        clauses.append(d.model == model)
    statement = (
        select(d.bucket, func.sum(d.requests))
        .where(and_(true(), *clauses))
        .group_by(d.bucket)
        .order_by(d.bucket)
    )
    counts = [(int(row[0]), int(row[1])) for row in connection.execute(statement)]
    n = sum(c for _, c in counts)
    return Latency(n, _percentile(counts, n, 50), _percentile(counts, n, 95))


def _percentile(counts: list[tuple[int, int]], n: int, percent: int) -> float | None:
    if n == 0:
        return None
    seen = 0
    for bucket, count in counts:
        seen += count
        if seen * 100 >= n * percent:
            if bucket < len(LATENCY_EDGES_MS):
                return float(LATENCY_EDGES_MS[bucket])
            return float("inf")
    return float("inf")  # pragma: no cover - the loop always reaches n
