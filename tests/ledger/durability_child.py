"""A gateway stand-in for test_durability: writes usage, says what it promised, waits for SIGKILL.

Usage: python -m tests.ledger.durability_child URL flushed|interval
"""

from __future__ import annotations

import asyncio
import sys

from stellwerk.ledger.ledger import open_ledger
from stellwerk.ledger.writer import LedgerWriter
from tests.ledger.factory import make_records

HOUR_MS = 3_600_000.0


def say(line: str) -> None:
    print(line, flush=True)


async def flushed(url: str) -> None:
    """50 records flushed, then 30 more accepted but (with a one-hour interval) not committed."""
    ledger = open_ledger(url)
    records = make_records(80)
    async with LedgerWriter(ledger, batch_size=1000, flush_interval_ms=HOUR_MS) as writer:
        for record in records[:50]:
            await writer.submit(record)
        await writer.flush()
        say("flushed 50")
        for record in records[50:]:
            await writer.submit(record)
        say("accepted 30 more")
        await asyncio.sleep(3600)


async def interval(url: str) -> None:
    """40 records left to the interval flush, seen committed; then one submitted with wait=True."""
    ledger = open_ledger(url)
    records = make_records(41)
    async with LedgerWriter(ledger, batch_size=1000, flush_interval_ms=50) as writer:
        for record in records[:40]:
            await writer.submit(record)
        for _ in range(6000):  # the parent gives up after a minute anyway
            if await asyncio.to_thread(ledger.count_usage) >= 40:
                say("interval committed 40")
                break
            await asyncio.sleep(0.01)
        await writer.submit(records[40], wait=True)
        say("waited for 1")
        await asyncio.sleep(3600)


if __name__ == "__main__":
    scenario = {"flushed": flushed, "interval": interval}[sys.argv[2]]
    asyncio.run(scenario(sys.argv[1]))
