"""Insert usage records: one transaction per batch, idempotent by ``(request_id, time)``.

A batch that is retried after a commit whose acknowledgement was lost (a dropped connection) does
not produce duplicates: rows already present are skipped (``ON CONFLICT DO NOTHING``).

On PostgreSQL a batch is one ``INSERT ... SELECT FROM unnest(...)`` statement: one array per
column, so the statement's text and its parameters are the same for every batch size. The rollup
trigger there is a statement trigger (``FOR EACH STATEMENT``, over the inserted rows), so it runs
once per batch. SQLAlchemy's executemany with psycopg sends one ``INSERT`` per record instead,
which ran the trigger once per record: three quarters of the server's work per record (measured
in BENCHMARKS.md, "Ledger write rate before and after migration 1100"). SQLite keeps executemany:
its trigger is a row trigger either way, and the driver's loop runs in C.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from sqlalchemy import Connection, TextClause, bindparam, text
from sqlalchemy.dialects import postgresql, sqlite

from stellwerk.ledger.record import UsageRecord
from stellwerk.ledger.rows import FIELD_NAMES, record_to_row, stored_column
from stellwerk.ledger.tables import usage


@cache
def _postgres_batch() -> TextClause:
    """``INSERT INTO usage (...) SELECT * FROM unnest(:a, :b, ...) ON CONFLICT DO NOTHING``, each
    parameter an array of its column's type (the column's own bind processing applies to every
    element, e.g. ``UTCDateTime`` refusing a naive time)."""
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]  # (untyped in SQLAlchemy)
    quote = dialect.identifier_preparer.quote
    columns = [usage.c[name] for name in FIELD_NAMES]
    names = ", ".join(quote(column.name) for column in columns)
    arrays = ", ".join(
        f"CAST(:{column.name} AS {column.type.compile(dialect=dialect)}[])" for column in columns
    )
    statement = text(
        f"INSERT INTO usage ({names}) SELECT * FROM unnest({arrays}) ON CONFLICT DO NOTHING"
    )
    return statement.bindparams(
        *(bindparam(column.name, type_=postgresql.ARRAY(column.type)) for column in columns)
    )


def insert_usage(connection: Connection, records: Sequence[UsageRecord]) -> None:
    """Insert ``records`` in the caller's transaction.

    On PostgreSQL the months' partitions must exist (``partitions.ensure_partitions``).
    """
    if not records:
        return
    if connection.dialect.name == "postgresql":
        arrays: dict[str, list[Any]] = {
            name: stored_column(name, [getattr(record, name) for record in records])
            for name in FIELD_NAMES
        }
        connection.execute(_postgres_batch(), arrays)
        return
    rows = [record_to_row(record) for record in records]
    connection.execute(sqlite.insert(usage).on_conflict_do_nothing(), rows)
