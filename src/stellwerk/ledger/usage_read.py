"""Read usage records back: how many, and the most recent ones."""

from __future__ import annotations

from sqlalchemy import ColumnElement, Connection, and_, func, select, true

from stellwerk.errors import InvalidRequest
from stellwerk.ledger.record import UsageRecord
from stellwerk.ledger.rows import row_to_record
from stellwerk.ledger.tables import usage
from stellwerk.ledger.window import EVERYTHING, Window

MAX_LIMIT = 10_000


def usage_filter(window: Window, department: str | None = None) -> ColumnElement[bool]:
    """The WHERE clause for a time window and, optionally, one department."""
    clauses = window.clauses(usage.c.time)
    if department is not None:
        clauses.append(usage.c.department == department)
    return and_(true(), *clauses)


def count_usage(
    connection: Connection, window: Window = EVERYTHING, *, department: str | None = None
) -> int:
    statement = select(func.count()).select_from(usage).where(usage_filter(window, department))
    return int(connection.execute(statement).scalar_one())


def recent_usage(
    connection: Connection,
    *,
    limit: int = 100,
    window: Window = EVERYTHING,
    department: str | None = None,
) -> list[UsageRecord]:
    """The newest records first (ties broken by request id, so pages are stable)."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidRequest(f"limit must be between 1 and {MAX_LIMIT}, got {limit}", param="limit")
    statement = (
        select(usage)
        .where(usage_filter(window, department))
        .order_by(usage.c.time.desc(), usage.c.request_id.desc())
        .limit(limit)
    )
    return [row_to_record(row._mapping) for row in connection.execute(statement)]
