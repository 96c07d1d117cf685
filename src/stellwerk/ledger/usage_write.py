"""Insert usage records: one transaction per batch, idempotent by ``(request_id, time)``.

A batch that is retried after a commit whose acknowledgement was lost (a dropped connection) does
not produce duplicates: rows already present are skipped (``ON CONFLICT DO NOTHING``).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql, sqlite

from stellwerk.ledger.record import UsageRecord
from stellwerk.ledger.rows import record_to_row
from stellwerk.ledger.tables import usage


def insert_usage(connection: Connection, records: Sequence[UsageRecord]) -> None:
    """Insert ``records`` in the caller's transaction.

    On PostgreSQL the months' partitions must exist (``partitions.ensure_partitions``).
    """
    if not records:
        return
    rows = [record_to_row(record) for record in records]
    if connection.dialect.name == "postgresql":
        statement = postgresql.insert(usage).on_conflict_do_nothing()
    else:
        statement = sqlite.insert(usage).on_conflict_do_nothing()  # type: ignore[assignment]
    connection.execute(statement, rows)
