"""Migration 1400_latency_shadow: the daily latency histogram counts shadow grading's own calls
(key ``shadow``) apart from the clients' requests. A ledger at 1300 has them counted together:
upgraded, the calls ``usage`` still holds are moved to rows of their own, so a model's latency
figures are its clients' from the first page after the upgrade; a downgrade adds them back, and
no request is lost either way. On both databases."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from alembic import command
from sqlalchemy import Engine, MetaData, Table, select

from stellwerk.config.governance import SHADOW_KEY_ID
from stellwerk.ledger import migrate, usage_totals
from stellwerk.ledger.engine import build_engine
from stellwerk.ledger.partitions import ensure_partitions, month_of, with_next
from stellwerk.ledger.record import UsageRecord
from stellwerk.ledger.rows import record_to_row
from stellwerk.ledger.window import EVERYTHING
from tests.ledger.factory import make_record

BEFORE = "1300_key_requests"
MODEL = "mistral-8b"


def _calls() -> list[UsageRecord]:
    """One day of a model: 10 client requests of 2 s and 2 of 0.1 s, and 30 shadow calls of 0.1 s
    (the reference's cut answers, the judge's short verdicts): the bucket of 0.1 s holds both."""
    day = datetime(2026, 11, 12, 9, tzinfo=UTC)
    clients = [
        make_record(i, prefix="client", model=MODEL, time=day, latency_ms=2000.0) for i in range(10)
    ]
    quick = [
        make_record(i, prefix="quick", model=MODEL, time=day, latency_ms=100.0) for i in range(2)
    ]
    shadow = [
        make_record(
            i, prefix="shadow", model=MODEL, time=day, latency_ms=100.0, key_id=SHADOW_KEY_ID
        )
        for i in range(30)
    ]
    return clients + quick + shadow


def _insert_at_1300(engine: Engine, records: list[UsageRecord]) -> None:
    table = Table("usage", MetaData(), autoload_with=engine)
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            ensure_partitions(connection, with_next(month_of(r.time) for r in records))
        connection.execute(table.insert(), [record_to_row(r) for r in records])


def _histogram(engine: Engine) -> Counter[int]:
    """Requests per latency bucket, shadow rows or not (1300's view of the table)."""
    table = Table("usage_latency_daily", MetaData(), autoload_with=engine)
    counts: Counter[int] = Counter()
    with engine.connect() as connection:
        for row in connection.execute(select(table)).mappings():
            counts[int(row["bucket"])] += int(row["requests"])
    return counts


def _latency(engine: Engine) -> usage_totals.Latency:
    with engine.connect() as connection:
        return usage_totals.latency(connection, EVERYTHING, model=MODEL)


def test_a_ledger_at_1300_has_its_shadow_calls_counted_apart_once_upgraded(
    any_db_url: str,
) -> None:
    engine = build_engine(any_db_url)
    migrate.upgrade(engine, BEFORE)
    _insert_at_1300(engine, _calls())
    counted = _histogram(engine)
    assert sum(counted.values()) == 42
    migrate.upgrade(engine)

    # the clients' 12 requests only: 10 of 2 s, 2 of 0.1 s (their bucket's edge 114 ms)
    assert _latency(engine) == usage_totals.Latency(requests=12, p50_ms=2068.0, p95_ms=2068.0)
    assert _histogram(engine) == counted  # moved, none lost
    later = make_record(99, prefix="later", model=MODEL, latency_ms=100.0, key_id=SHADOW_KEY_ID)
    _insert_at_1300(engine, [later])  # the trigger counts a new one apart too
    assert _latency(engine).requests == 12

    with engine.begin() as connection:
        command.downgrade(migrate.alembic_config(connection), BEFORE)
    assert _histogram(engine) == counted + Counter({14: 1})  # added back, none lost
    migrate.upgrade(engine)
    assert _latency(engine).requests == 12
    assert _histogram(engine) == counted + Counter({14: 1})
    engine.dispose()
