"""Totals of the router's learning for the dashboard's router-learning page: graded requests, the
familiarity of routed traffic and what shadow grading cost, per department, in a window. (The
ledger owns these tables, so their queries live here; the page is ``dashboard.learning``.)

Graded requests are read from ``graded_records`` (one row per graded request and source, a few
thousand a month at most: a request graded by both sources is two grades, one graded request),
both counts in one query; the
familiarity and the shadow calls from the daily rollups (``usage_daily``: its
``familiarity_measured`` and ``unfamiliar`` counts, and the rows of key ``shadow``); only the
refused shadow calls are read from ``usage``, through its index."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, Connection, and_, case, func, select, true

from stellwerk.config.governance import SHADOW_KEY_ID
from stellwerk.ledger.graded_tables import graded_records
from stellwerk.ledger.rollup_tables import usage_daily
from stellwerk.ledger.tables import asked_for_answers, usage
from stellwerk.ledger.window import Window

SHADOW_KEY = SHADOW_KEY_ID
"""The key id of shadow grading's own calls (``gateway.shadow``)."""


@dataclass(frozen=True, slots=True)
class Familiarity:
    """A department's routed requests: all, those whose familiarity the router measured, and of
    those the ones it called unfamiliar."""

    routed: int
    measured: int
    unfamiliar: int

    @property
    def unfamiliar_share(self) -> float | None:
        return self.unfamiliar / self.measured if self.measured else None


@dataclass(frozen=True, slots=True)
class ShadowSpend:
    """Shadow grading's calls in a window: how many, how many failed, what they cost."""

    requests: int
    errors: int
    tokens: int
    cost_micro: int


def _days(window: Window) -> list[ColumnElement[bool]]:
    return window.clauses(usage_daily.c.day)


@dataclass(frozen=True, slots=True)
class GradedDepartment:
    """A department's graded requests in a window, each once, and its grades by source."""

    requests: int
    """Requests graded, each once: one graded by feedback and by shadow grading is one request
    with a grade of each source."""
    grades: dict[str, int]
    """source (``feedback``, ``shadow``) -> its grades (one per graded request and source)."""


def graded_by_department(connection: Connection, window: Window) -> dict[str, GradedDepartment]:
    """department -> its graded requests and grades by source in ``window``, in one query: each
    row is numbered within its request (``row_number``), so a source's rows numbered 1 count the
    requests it was the first grade of, which sum to the department's requests."""
    g = graded_records.c
    nth = (
        func.row_number()
        .over(partition_by=(g.department, g.request_id), order_by=g.source)
        .label("nth")
    )
    rows = (
        select(g.department, g.source, nth).where(and_(true(), *window.clauses(g.time))).subquery()
    )
    first = func.sum(case((rows.c.nth == 1, 1), else_=0))
    statement = select(rows.c.department, rows.c.source, func.count(), first).group_by(
        rows.c.department, rows.c.source
    )
    grades: dict[str, dict[str, int]] = {}
    requests: dict[str, int] = {}
    for department, source, count, firsts in connection.execute(statement):
        grades.setdefault(str(department), {})[str(source)] = int(count)
        requests[str(department)] = requests.get(str(department), 0) + int(firsts or 0)
    return {name: GradedDepartment(requests[name], grades[name]) for name in grades}


def graded_kept(connection: Connection, base_version: str) -> dict[str, int]:
    """source -> grades kept for the router artifact ``base_version`` (what the next
    adaptation reads from, up to its limit)."""
    g = graded_records.c
    statement = (
        select(g.source, func.count()).where(g.base_version == base_version).group_by(g.source)
    )
    return {str(source): int(count) for source, count in connection.execute(statement)}


def familiarity_by_department(connection: Connection, window: Window) -> dict[str, Familiarity]:
    """department -> its routed requests in ``window`` and how familiar they were (a load or an
    unload of a route is no routed request: ``tables.asked_for_answers``, the savings' rule)."""
    h = usage_daily.c
    statement = (
        select(
            h.department,
            func.sum(asked_for_answers(h.model, h.requests, h.errors)),
            func.sum(h.familiarity_measured),
            func.sum(h.unfamiliar),
        )
        .where(and_(h.routed.is_(True), *_days(window)))
        .group_by(h.department)
    )
    return {
        str(row[0]): Familiarity(int(row[1] or 0), int(row[2] or 0), int(row[3] or 0))
        for row in connection.execute(statement)
    }


def shadow_spend(connection: Connection, window: Window, account: str) -> ShadowSpend:
    """Shadow grading's calls in ``window``, charged to the department ``account``."""
    h = usage_daily.c
    statement = select(
        func.sum(h.requests),
        func.sum(h.errors),
        func.sum(h.prompt_tokens + h.completion_tokens),
        func.sum(h.cost_micro),
    ).where(and_(h.department == account, h.key_id == SHADOW_KEY, *_days(window)))
    row = connection.execute(statement).one()
    return ShadowSpend(*(int(v or 0) for v in row))


def department_spend_micro(connection: Connection, window: Window, department: str) -> int:
    """What ``department`` spent in ``window`` (every key, shadow grading's too), micro-units."""
    h = usage_daily.c
    statement = select(func.sum(h.cost_micro)).where(
        and_(h.department == department, *_days(window))
    )
    return int(connection.execute(statement).scalar_one() or 0)


def shadow_refused(connection: Connection, window: Window, account: str) -> int:
    """Shadow grading calls the account's limits refused in ``window`` (its budget spent, or a
    rate limit): read from ``usage`` under ``model IS NULL`` through its ``(model, time)``
    index, so only refused records are read."""
    u = usage.c
    clauses: list[ColumnElement[bool]] = [
        u.model.is_(None),
        u.status == 429,
        u.department == account,
        u.key_id == SHADOW_KEY,
        *window.clauses(u.time),
    ]
    return int(connection.execute(select(func.count()).where(and_(*clauses))).scalar_one())
