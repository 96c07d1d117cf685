"""Usage summed over a time window, grouped by department, model, backend, key, UTC day, or not.

One query serves both databases. Latency percentiles use the nearest-rank definition (the smallest
latency with at least p% of the requests at or below it, taken from the data; PostgreSQL's
``percentile_disc``), computed with the window function ``cume_dist`` so that SQLite, which has no
percentile function, gives exactly the same numbers as PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal, get_args

from sqlalchemy import Connection, Text, case, cast, func, null, select

from stellwerk.errors import InvalidRequest
from stellwerk.ledger.tables import ERROR_STATUS, refused, usage
from stellwerk.ledger.usage_read import usage_filter
from stellwerk.ledger.window import EVERYTHING, Window
from stellwerk.money import from_micro

GroupBy = Literal["department", "model", "backend", "key_id", "day"]
GROUP_BY: tuple[str, ...] = get_args(GroupBy)


@dataclass(frozen=True, slots=True)
class UsageAggregate:
    """Totals of one group; ``group`` is ``None`` for the ungrouped total or a missing model.

    ``errors`` counts every record with a status of 400 or more; of them, ``refused`` those
    refused for what the request asked (a 4xx: a policy, a limit, a bad request, a prompt over
    the context) and ``failed`` the rest (a 5xx: a backend down, failing or too slow)."""

    group: str | None
    requests: int
    errors: int
    refused: int
    prompt_tokens: int
    completion_tokens: int
    cost_micro: int
    energy_wh: float
    latency_p50_ms: float
    latency_p95_ms: float

    @property
    def failed(self) -> int:
        """Errors that are not refusals (a 5xx)."""
        return self.errors - self.refused

    @property
    def cost(self) -> Decimal:
        """The group's cost, exactly (the sum of its records' charges)."""
        return from_micro(self.cost_micro)

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


def _percentile(cumulative: Any, latency: Any, percent: int) -> Any:
    # Nearest rank: the smallest latency v with (number of latencies <= v) / n >= p, which is
    # cume_dist() >= p. (k / n and p are each the nearest double to their exact value, and two
    # different such fractions with n < 2**30 lie far more than a rounding error apart.)
    return func.min(case((cumulative >= percent / 100, latency)))


def _group_expression(by: GroupBy | None, dialect: str) -> Any:
    if by is None:
        return cast(null(), Text)
    if by != "day":
        return usage.c[by]
    if dialect == "postgresql":
        return func.to_char(func.timezone("UTC", usage.c.time), "YYYY-MM-DD")
    # SQLite keeps times as naive UTC text "YYYY-MM-DD HH:MM:SS.ffffff" (see types.UTCDateTime).
    return func.substr(cast(usage.c.time, Text), 1, 10)


def summarize_usage(
    connection: Connection,
    window: Window = EVERYTHING,
    *,
    by: GroupBy | None = None,
    department: str | None = None,
) -> list[UsageAggregate]:
    """One aggregate per group (ordered by cost, highest first), or one total if ``by`` is None.

    ``by="day"`` groups by the UTC date (``group`` is ``"YYYY-MM-DD"``; ordered by date instead).
    ``errors`` counts records with an HTTP status of 400 or more, ``refused`` those below 500 (a
    4xx), ``failed`` the rest. With no records in the window the result is empty.
    """
    if by is not None and by not in GROUP_BY:
        raise InvalidRequest(
            f"cannot group usage by {by!r}; choose one of {', '.join(GROUP_BY)}", param="by"
        )
    group: Any = _group_expression(by, connection.dialect.name)
    partition = {"partition_by": group} if by is not None else {}
    ranked = (
        select(
            group.label("grp"),
            usage.c.status,
            usage.c.prompt_tokens,
            usage.c.completion_tokens,
            usage.c.cost_micro,
            usage.c.energy_wh,
            usage.c.latency_ms,
            func.cume_dist().over(order_by=usage.c.latency_ms, **partition).label("cumulative"),
        )
        .where(usage_filter(window, department))
        .subquery()
    )
    r = ranked.c
    statement = (
        select(
            r.grp,
            func.count().label("requests"),
            func.coalesce(func.sum(case((r.status >= ERROR_STATUS, 1), else_=0)), 0),
            func.coalesce(func.sum(case((refused(r.status), 1), else_=0)), 0),
            func.coalesce(func.sum(r.prompt_tokens), 0),
            func.coalesce(func.sum(r.completion_tokens), 0),
            func.coalesce(func.sum(r.cost_micro), 0),
            func.coalesce(func.sum(r.energy_wh), 0.0),
            _percentile(r.cumulative, r.latency_ms, 50),
            _percentile(r.cumulative, r.latency_ms, 95),
        )
        .group_by(r.grp)
        .order_by(*((r.grp,) if by == "day" else (func.sum(r.cost_micro).desc(), r.grp)))
    )
    return [
        UsageAggregate(
            group=row[0],
            requests=int(row[1]),
            errors=int(row[2]),
            refused=int(row[3]),
            prompt_tokens=int(row[4]),
            completion_tokens=int(row[5]),
            cost_micro=int(row[6]),
            energy_wh=float(row[7]),
            latency_p50_ms=float(row[8]),
            latency_p95_ms=float(row[9]),
        )
        for row in connection.execute(statement)
    ]
