"""The batched writer: everything submitted is written, nothing is dropped, the loop never waits."""

from __future__ import annotations

import asyncio
import logging
import math
from dataclasses import replace
from datetime import datetime

import pytest
from sqlalchemy import text

from stellwerk.errors import LedgerError
from stellwerk.ledger.ledger import Ledger, open_ledger
from stellwerk.ledger.writer import LedgerWriter
from tests.ledger.factory import make_record, make_records

HOUR_MS = 3_600_000.0
POLL_DEADLINE_S = 20.0


async def wait_for_count(ledger: Ledger, count: int) -> None:
    """Poll (off the loop) until the ledger holds ``count`` records; fail after a generous time."""
    loop = asyncio.get_running_loop()
    give_up = loop.time() + POLL_DEADLINE_S
    while await asyncio.to_thread(ledger.count_usage) < count:
        assert loop.time() < give_up, f"the ledger never reached {count} records"
        await asyncio.sleep(0.01)


def rename_usage(ledger: Ledger, old: str, new: str) -> None:
    """Take the usage table away (the database "is down" for the writer) or bring it back."""
    with ledger.begin() as connection:
        connection.execute(text(f"ALTER TABLE {old} RENAME TO {new}"))


def test_everything_submitted_is_there_after_close(ledger: Ledger) -> None:
    records = make_records(1234)

    async def scenario() -> None:
        async with LedgerWriter(ledger, batch_size=100, flush_interval_ms=20) as writer:
            for record in records:
                await writer.submit(record)
        assert writer.stats.written == writer.stats.accepted == len(records)

    asyncio.run(scenario())
    assert ledger.count_usage() == len(records)
    assert sorted(ledger.recent_usage(limit=2000), key=lambda r: r.request_id) == records


def test_concurrent_submitters_under_backpressure_lose_nothing(ledger: Ledger) -> None:
    tasks, per_task = 16, 250

    async def submitter(writer: LedgerWriter, number: int) -> None:
        for record in make_records(per_task, start=number * per_task):
            await writer.submit(record)
            if record.prompt_tokens % 5 == 0:
                await asyncio.sleep(0)  # interleave the submitters

    async def scenario() -> None:
        async with LedgerWriter(ledger, batch_size=50, flush_interval_ms=5, capacity=64) as writer:
            await asyncio.gather(*(submitter(writer, n) for n in range(tasks)))

    asyncio.run(scenario())
    stored = {r.request_id for r in ledger.recent_usage(limit=10_000)}
    assert stored == {r.request_id for r in make_records(tasks * per_task)}


def test_a_full_batch_is_written_without_waiting_for_the_interval(ledger: Ledger) -> None:
    async def scenario() -> None:
        async with LedgerWriter(ledger, batch_size=10, flush_interval_ms=HOUR_MS) as writer:
            for record in make_records(25):
                await writer.submit(record)
            await wait_for_count(ledger, 20)  # two full batches, no flush() called
            await asyncio.sleep(0.05)
            assert await asyncio.to_thread(ledger.count_usage) == 20  # the rest waits its hour
            await writer.flush()
            assert await asyncio.to_thread(ledger.count_usage) == 25

    asyncio.run(scenario())


def test_a_partial_batch_is_written_after_the_interval(ledger: Ledger) -> None:
    async def scenario() -> None:
        async with LedgerWriter(ledger, batch_size=1000, flush_interval_ms=30) as writer:
            for record in make_records(3):
                await writer.submit(record)
            await wait_for_count(ledger, 3)  # no flush() called: the interval did it

    asyncio.run(scenario())


def test_submit_with_wait_returns_after_the_commit(ledger: Ledger) -> None:
    async def scenario() -> None:
        async with LedgerWriter(ledger, batch_size=1000, flush_interval_ms=HOUR_MS) as writer:
            await writer.submit(make_record(1))
            await writer.submit(make_record(2), wait=True)
            assert await asyncio.to_thread(ledger.count_usage) == 2
            assert writer.stats.held == 0

    asyncio.run(scenario())


def test_database_down_records_held_loud_backpressure_then_all_written(
    ledger: Ledger, caplog: pytest.LogCaptureFixture
) -> None:
    records = make_records(60)
    caplog.set_level(logging.ERROR, logger="stellwerk.ledger.writer")

    async def scenario() -> None:
        writer = LedgerWriter(
            ledger,
            batch_size=5,
            flush_interval_ms=1,
            capacity=20,
            retry_initial_s=0.01,
            retry_max_s=0.05,
        )
        async with writer:
            await asyncio.to_thread(rename_usage, ledger, "usage", "usage_away")
            for record in records[:20]:
                await writer.submit(record)
            blocked = asyncio.create_task(writer.submit(records[20]))
            give_up = asyncio.get_running_loop().time() + POLL_DEADLINE_S
            while writer.stats.consecutive_failures < 3:
                assert asyncio.get_running_loop().time() < give_up, "the writer never failed"
                await asyncio.sleep(0.01)
            assert not blocked.done()  # at capacity: the submitter waits, nothing is dropped
            assert writer.stats.held == 20
            assert not writer.stats.healthy
            assert "usage" in (writer.stats.last_error or "")
            await asyncio.to_thread(rename_usage, ledger, "usage_away", "usage")
            await blocked
            for record in records[21:]:
                await writer.submit(record)
        assert writer.stats.healthy

    asyncio.run(scenario())
    assert ledger.count_usage() == len(records)
    failures = [r for r in caplog.records if "ledger write failed" in r.getMessage()]
    assert failures and all(r.levelno == logging.ERROR for r in failures)
    assert "usage records held in memory" in failures[0].getMessage()


def test_close_timeout_while_down_names_and_returns_the_unwritten(ledger: Ledger) -> None:
    records = make_records(3)

    async def scenario() -> LedgerWriter:
        writer = LedgerWriter(ledger, flush_interval_ms=1, retry_initial_s=0.01, retry_max_s=0.02)
        await writer.start()
        await asyncio.to_thread(rename_usage, ledger, "usage", "usage_away")
        for record in records:
            await writer.submit(record)
        with pytest.raises(LedgerError, match="3 usage records unwritten"):
            await writer.close(timeout=0.3)
        return writer

    writer = asyncio.run(scenario())
    assert writer.unwritten() == records
    rename_usage(ledger, "usage_away", "usage")
    ledger.insert_usage(writer.unwritten())  # e.g. a shutdown hook's last resort
    assert ledger.count_usage() == 3


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"time": datetime(2026, 11, 1)}, "time"),
        ({"prompt_tokens": -1}, "prompt_tokens"),
        ({"completion_tokens": 1.5}, "completion_tokens"),
        ({"cost_micro": 0.5}, "cost_micro"),
        ({"latency_ms": math.inf}, "latency_ms"),
        ({"status": "200"}, "status"),
        ({"stream": 1}, "stream"),
        ({"department": None}, "department"),
        ({"request_id": ""}, "request_id"),
        ({"reference_cost_micro": -3, "reference_model": "m"}, "reference_cost_micro"),
        ({"reference_model": "m"}, "reference_model"),  # a reference without its cost
        ({"reference_cost_micro": 12}, "reference_model"),  # a cost without its reference
        ({"reference_energy_wh": 0.5}, "reference_model"),  # energy without its reference
        (
            {"reference_model": "m", "reference_cost_micro": 1, "reference_energy_wh": -1.0},
            "reference_energy_wh",
        ),
    ],
)
def test_malformed_records_are_refused_at_submit(
    sqlite_url: str, change: dict[str, object], field: str
) -> None:
    ledger = open_ledger(sqlite_url)

    async def scenario() -> None:
        async with LedgerWriter(ledger) as writer:
            with pytest.raises(LedgerError, match=f"'{field}'"):
                await writer.submit(replace(make_record(1), **change))  # type: ignore[arg-type]
            await writer.submit(make_record(2))  # the writer is unharmed

    asyncio.run(scenario())
    assert [r.request_id for r in ledger.recent_usage()] == [make_record(2).request_id]
    ledger.close()


def test_not_a_record_is_refused(sqlite_url: str) -> None:
    ledger = open_ledger(sqlite_url)

    async def scenario() -> None:
        async with LedgerWriter(ledger) as writer:
            with pytest.raises(LedgerError, match="expected a UsageRecord, got dict"):
                await writer.submit({"request_id": "x"})  # type: ignore[arg-type]

    asyncio.run(scenario())
    ledger.close()


def test_submit_before_start_and_after_close_is_refused(sqlite_url: str) -> None:
    ledger = open_ledger(sqlite_url)

    async def scenario() -> None:
        writer = LedgerWriter(ledger)
        with pytest.raises(LedgerError, match="not started"):
            await writer.submit(make_record(1))
        await writer.start()
        await writer.close()
        with pytest.raises(LedgerError, match="closed"):
            await writer.submit(make_record(1))

    asyncio.run(scenario())
    assert ledger.count_usage() == 0
    ledger.close()


@pytest.mark.parametrize(
    "kwargs",
    [{"batch_size": 0}, {"batch_size": 10, "capacity": 5}, {"flush_interval_ms": 0}],
)
def test_nonsense_settings_are_refused(sqlite_url: str, kwargs: dict[str, float]) -> None:
    ledger = open_ledger(sqlite_url)
    with pytest.raises(LedgerError):
        LedgerWriter(ledger, **kwargs)  # type: ignore[arg-type]
    ledger.close()


def test_a_record_the_database_refuses_is_set_aside_and_the_rest_written(
    ledger: Ledger, caplog: pytest.LogCaptureFixture
) -> None:
    """A record the database cannot hold (PostgreSQL: a status past its integer, which SQLite
    holds) no retry changes: its batch is written in halves, the record is logged whole and
    set aside. It was retried for ever, and nothing was written after it."""
    records = make_records(40)
    refused = replace(records[17], status=2**31)
    batch = [*records[:17], refused, *records[18:]]

    async def scenario() -> int:
        async with LedgerWriter(ledger, batch_size=40, flush_interval_ms=20) as writer:
            for record in batch:
                await writer.submit(record)
            await writer.submit(make_record(99), wait=True)  # written after it, not stuck
        return writer.stats.set_aside

    with caplog.at_level(logging.ERROR, logger="stellwerk.ledger.writer"):
        set_aside = asyncio.run(scenario())
    if ledger.engine.dialect.name == "postgresql":
        assert set_aside == 1 and ledger.count_usage() == 40
        assert refused.request_id not in {r.request_id for r in ledger.recent_usage(limit=100)}
        assert "set aside, the database refuses it" in caplog.text
        assert refused.request_id in caplog.text
    else:
        assert set_aside == 0 and ledger.count_usage() == 41
