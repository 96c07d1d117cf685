"""The refusals by key and reason (the dashboard's): they count the refused records (4xx) and
nothing else, on SQLite and PostgreSQL, and PostgreSQL reads them through the partial index of the
refused records however it plans the query, its generic plan included."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import Connection, text

from stellwerk.ledger.ledger import Ledger, open_ledger
from stellwerk.ledger.usage_totals import refusals
from stellwerk.ledger.window import Window
from tests.ledger.factory import make_record

NOVEMBER = Window.month("2026-11")


def test_refusals_count_the_refused_records_by_key_and_reason(ledger: Ledger) -> None:
    records = [make_record(i) for i in range(600)]
    ledger.insert_usage(records)
    expected = Counter(
        (r.department, r.key_id, r.error_kind or "", r.status)
        for r in records
        if 400 <= r.status < 500 and r.time.strftime("%Y-%m") == "2026-11"
    )
    with ledger.connect() as connection:
        found = refusals(connection, NOVEMBER)
    assert {(r.department, r.key_id, r.reason, r.status): r.requests for r in found} == expected
    assert {r.status for r in found} == {400, 429}  # the 5xx failures are not refusals


def _prepared(connection: Connection) -> tuple[str, list[str]]:
    """The name and parameter types of the prepared statement of ``refusals``."""
    for name, sql, types in connection.execute(
        text("SELECT name, statement, parameter_types::text[] FROM pg_prepared_statements")
    ):
        if sql.startswith("SELECT") and "coalesce(usage.error_kind" in sql:
            return str(name), list(types)
    raise LookupError("refusals() has not been prepared")


def _values(types: list[str]) -> str:
    """Arguments for ``EXECUTE`` of those types: the reason's placeholder, the status bounds and
    the window's bounds, in the order the statement names them."""
    numbers = iter(("400", "500"))
    times = iter((f"'{NOVEMBER.start}'", f"'{NOVEMBER.end}'"))
    found = []
    for kind in types:
        if kind.startswith("timestamp"):
            found.append(next(times))
        elif kind in ("integer", "smallint", "bigint"):
            found.append(next(numbers))
        else:
            found.append("''")
    return ", ".join(found)


@pytest.mark.postgres
def test_postgres_reads_refusals_through_the_partial_index_in_a_generic_plan(
    pg_schema_url: str,
) -> None:
    """A statement run often on one connection is prepared (psycopg, after five runs) and then
    planned once for any values (PostgreSQL's generic plan): the refused records' partial index
    serves it only if the query's own text implies the index's condition (the status bounds as
    constants, not bound parameters). Forced here to the generic plan, the plan must scan a
    partial index and filter no status."""
    ledger = open_ledger(pg_schema_url)
    try:
        ledger.insert_usage([make_record(i) for i in range(600)])
        with ledger.connect() as connection:
            connection.execute(text("ANALYZE usage"))
            connection.execute(text("SET plan_cache_mode = force_generic_plan"))
            connection.execute(text("SET enable_seqscan = off"))  # a table this small
            for _ in range(10):  # until psycopg has prepared it
                refusals(connection, NOVEMBER)
            name, types = _prepared(connection)
            plan = "\n".join(
                connection.execute(text(f"EXPLAIN EXECUTE {name}({_values(types)})")).scalars()
            )
            partial = set(
                connection.execute(
                    text("SELECT indexname FROM pg_indexes WHERE indexdef LIKE '% WHERE %'")
                ).scalars()
            )
    finally:
        ledger.close()
    assert any(f"using {index} on" in plan.lower() for index in partial), plan
    assert "(status >=" not in plan, plan  # the index's condition holds: nothing filtered by it
