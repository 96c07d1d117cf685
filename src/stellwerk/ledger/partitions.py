"""Monthly partitions of the ``usage`` table on PostgreSQL.

``usage`` is ``PARTITION BY RANGE (time)``; each calendar month (UTC) is its own table
``usage_yYYYYmMM``, created on demand before the first record of that month is written. So a month's
report scans one partition, the indexes stay as small as a month, and retention can drop a month in
one statement instead of deleting rows. There is no default partition: a record is never parked
where a later ``CREATE TABLE ... PARTITION OF`` would conflict with it.

Creation is idempotent and safe with several replicas: it takes a transaction-level advisory lock
and uses ``CREATE TABLE IF NOT EXISTS``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import Connection, text

# pg_advisory_xact_lock key for partition creation: b"usagepar" as a signed 64-bit integer.
_LOCK_KEY = int.from_bytes(b"usagepar", "big", signed=True)

Month = tuple[int, int]


def month_of(moment: datetime) -> Month:
    """The (year, month) of ``moment`` in UTC."""
    utc = moment.astimezone(UTC)
    return (utc.year, utc.month)


def month_bounds(month: Month) -> tuple[datetime, datetime]:
    """The first instant of ``month`` and of the month after it, in UTC."""
    year, number = month
    start = datetime(year, number, 1, tzinfo=UTC)
    end = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=UTC)
    return start, end


def with_next(months: Iterable[Month]) -> set[Month]:
    """``months`` and the month after each: creating next month's partition early keeps its
    (briefly exclusive) creation away from the first busy minutes of that month."""
    result: set[Month] = set()
    for year, number in months:
        result.add((year, number))
        result.add((year + number // 12, number % 12 + 1))
    return result


def partition_name(month: Month) -> str:
    year, number = month
    return f"usage_y{year:04d}m{number:02d}"


def ensure_partitions(connection: Connection, months: Iterable[Month]) -> None:
    """Create the partitions of ``usage`` for ``months`` that do not exist yet (PostgreSQL only)."""
    wanted = sorted(set(months))
    if not wanted or connection.dialect.name != "postgresql":
        return
    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
    for month in wanted:
        start, end = month_bounds(month)
        # Identifiers and bounds come from integers, never from user input.
        connection.execute(
            text(
                f"CREATE TABLE IF NOT EXISTS {partition_name(month)} PARTITION OF usage "
                f"FOR VALUES FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"
            )
        )


def existing_partitions(connection: Connection) -> list[str]:
    """Names of the partitions of ``usage`` in the current schema, oldest first."""
    if connection.dialect.name != "postgresql":
        return []
    rows = connection.execute(
        text(
            "SELECT c.relname FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_class p ON p.oid = i.inhparent "
            "WHERE p.oid = to_regclass('usage') ORDER BY c.relname"
        )
    )
    return [str(row[0]) for row in rows]
