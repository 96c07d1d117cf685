"""``/readyz``'s ``ledger`` part, from the real writer on a real ledger whose writes fail (its
table renamed away, on SQLite and PostgreSQL): failing writes leave the replica ready (requests
are answered, their records held), a writer that holds its capacity does not (requests wait for
room), and it is ready again once the records are written. The outage of a whole gateway is in
tests/reliability/test_outages.py."""

from __future__ import annotations

import asyncio
import time

from stellwerk.gateway.ops import ledger_readiness
from stellwerk.ledger.ledger import Ledger
from stellwerk.ledger.writer import LedgerWriter
from tests.ledger.factory import make_records
from tests.ledger.test_writer import POLL_DEADLINE_S, rename_usage


def test_a_ledger_writer_at_capacity_makes_the_replica_not_ready(ledger: Ledger) -> None:
    records = make_records(4)

    async def scenario() -> None:
        writer = LedgerWriter(
            ledger,
            batch_size=1,
            flush_interval_ms=1,
            capacity=3,
            retry_initial_s=0.01,
            retry_max_s=0.05,
        )
        async with writer:
            assert ledger_readiness(writer.stats).ready
            await asyncio.to_thread(rename_usage, ledger, "usage", "usage_away")
            for record in records[:2]:
                await writer.submit(record)
            give_up = time.monotonic() + POLL_DEADLINE_S
            while writer.stats.consecutive_failures < 2:
                assert time.monotonic() < give_up, "the writer never failed"
                await asyncio.sleep(0.01)
            failing = ledger_readiness(writer.stats)
            await writer.submit(records[2])
            full = ledger_readiness(writer.stats)
            blocked = asyncio.create_task(writer.submit(records[3]))
            await asyncio.sleep(0.05)
            assert not blocked.done()  # at capacity: the request waits for room
            await asyncio.to_thread(rename_usage, ledger, "usage_away", "usage")
            await blocked
            await writer.flush()
            back = ledger_readiness(writer.stats)
        assert failing.ready and failing.held == 2 and failing.consecutive_failures >= 2
        assert failing.error is not None and "ledger writes fail" in failing.error
        assert failing.failing_since is not None
        assert not full.ready and full.held == full.capacity == 3
        assert full.error is not None and "requests wait for room" in full.error
        assert back.ready and back.error is None and back.held == 0
        assert back.consecutive_failures == 0 and back.failing_since is None

    asyncio.run(scenario())
    assert ledger.count_usage() == len(records)
