"""Database work in a thread: a cancelled caller waits for it to end (no connection left behind)."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from stellwerk.ledger.in_thread import in_thread


def test_the_result_comes_back() -> None:
    assert asyncio.run(in_thread(lambda: 6 * 7)) == 42


def test_a_cancelled_caller_waits_for_the_work_to_end() -> None:
    started, ended = threading.Event(), threading.Event()

    def work() -> None:
        started.set()
        time.sleep(0.3)
        ended.set()

    async def main() -> None:
        task = asyncio.create_task(in_thread(work))
        await asyncio.to_thread(started.wait)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert ended.is_set()  # with asyncio.to_thread alone the thread would still be running

    asyncio.run(main())
