"""Migration 1200_usage_reference_energy: the rollups are kept per stored reference model, with
the reference energy. A ledger at 1100 keeps its sums when upgraded (its rows hold no reference
model), records written after are rolled up per reference, and a downgrade adds the split rows up
again into 1100's rows without losing a request."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from alembic import command
from sqlalchemy import Engine, MetaData, Table, select

from stellwerk.ledger import migrate
from stellwerk.ledger.engine import build_engine
from stellwerk.ledger.ledger import open_ledger
from stellwerk.ledger.partitions import ensure_partitions, month_of, with_next
from stellwerk.ledger.record import UsageRecord
from stellwerk.ledger.rows import record_to_row
from tests.ledger.factory import make_record, with_reference

BEFORE = "1100_usage_reference"
KEY = ("day", "department", "key_id", "model", "routed")
SUMS = ("requests", "cost_micro", "energy_wh", "referenced", "reference_cost_micro")


def _routed(index: int) -> UsageRecord:
    """A routed request of one key, answered: all of them fall on one day and one 1100 row."""
    record = make_record(
        index,
        department="legal",
        key_id="key-1",
        requested_model="auto",
        model="mistral-8b",
        status=200,
    )
    return replace(record, backend="llamacpp-1", error_kind=None)


def _insert_at_1100(engine: Engine, records: list[UsageRecord]) -> None:
    table = Table("usage", MetaData(), autoload_with=engine)
    assert "reference_energy_wh" not in table.c
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            ensure_partitions(connection, with_next(month_of(r.time) for r in records))
        connection.execute(
            table.insert(),
            [{k: v for k, v in record_to_row(r).items() if k in table.c} for r in records],
        )


def _daily(engine: Engine) -> dict[tuple[object, ...], tuple[float, ...]]:
    """1100's view of ``usage_daily``: its sums per 1100 key, whatever rows hold them."""
    table = Table("usage_daily", MetaData(), autoload_with=engine)
    sums: dict[tuple[object, ...], list[float]] = defaultdict(lambda: [0.0] * len(SUMS))
    with engine.connect() as connection:
        for row in connection.execute(select(table)).mappings():
            found = sums[(_naive(row["day"]), *(row[k] for k in KEY[1:]))]
            for i, name in enumerate(SUMS):
                found[i] += float(row[name])
    return {k: tuple(round(v, 6) for v in found) for k, found in sums.items()}


def _naive(day: datetime) -> datetime:
    """A day as UTC without its zone (SQLite's rollups read back naive, PostgreSQL's aware)."""
    return day.astimezone(UTC).replace(tzinfo=None) if day.tzinfo else day


def _downgrade(engine: Engine) -> None:
    with engine.begin() as connection:
        command.downgrade(migrate.alembic_config(connection), BEFORE)


def test_a_ledger_at_1100_is_upgraded_and_downgraded_without_losing_a_sum(
    any_db_url: str,
) -> None:
    engine = build_engine(any_db_url)
    migrate.upgrade(engine, BEFORE)
    old = [_routed(i) for i in range(6)]
    old[1::2] = [with_reference(r, energy=False) for r in old[1::2]]  # as 1100 wrote them
    _insert_at_1100(engine, old)
    before = _daily(engine)
    engine.dispose()

    ledger = open_ledger(any_db_url)  # migrated to head
    try:
        new = [
            with_reference(_routed(i), ("apertus-8b", "mistral-3b")[i % 2]) for i in range(6, 12)
        ]
        ledger.insert_usage(new)
        with ledger.connect() as connection:
            rows = connection.execute(
                select(Table("usage_daily", MetaData(), autoload_with=connection))
            ).mappings()
            split: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
            for row in rows:
                if row["reference_model"]:
                    split[row["reference_model"]][0] += row["requests"]
                    split[row["reference_model"]][1] += row["reference_energy_wh"]
    finally:
        ledger.close()
    # the 1100 rows hold no reference model and no energy; each new reference has its rows
    for model in ("apertus-8b", "mistral-3b"):
        of_model = [r for r in new if r.reference_model == model]
        assert split[model][0] == len(of_model)
        assert split[model][1] == pytest.approx(sum(r.reference_energy_wh or 0 for r in of_model))
    assert set(split) == {"apertus-8b", "mistral-3b"}

    engine = build_engine(any_db_url)
    upgraded = _daily(engine)
    everything = _records_daily(old + new)
    assert upgraded == everything
    [(kept, sums)] = everything.items()  # one 1100 row, the new records' rows split apart
    assert (before[kept][0], sums[0]) == (6, 12)
    _downgrade(engine)
    assert _daily(engine) == everything  # 1100's rows again, the split rows added up
    migrate.upgrade(engine)
    assert _daily(engine) == everything
    engine.dispose()


def _records_daily(records: list[UsageRecord]) -> dict[tuple[object, ...], tuple[float, ...]]:
    sums: dict[tuple[object, ...], list[float]] = defaultdict(lambda: [0.0] * len(SUMS))
    for r in records:
        day = r.time.replace(hour=0, minute=0, second=0, microsecond=0)
        found = sums[(_naive(day), r.department, r.key_id, r.model or "", True)]
        for i, value in enumerate(
            (
                1,
                r.cost_micro,
                r.energy_wh,
                r.reference_model is not None,
                r.reference_cost_micro or 0,
            )
        ):
            found[i] += float(value)
    return {k: tuple(round(v, 6) for v in found) for k, found in sums.items()}
