"""A gateway's Redis loops end when they are cancelled, even when redis-py answers the cancel
with an error of its own (it closes the connection under a cancelled call): the counters'
liveness loop took that error for an outage, waited to try again and went on, the cancellation
lost, so a gateway's stop waited for it (120 s in the test fixture, seen under load by two
helpers in stop 33)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from stellwerk.governance.redis_counters import RedisCounters

pytestmark = pytest.mark.redis


def test_the_liveness_loop_ends_when_cancelled_though_redis_py_raises_its_own_error(
    redis_url: str, redis_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    async def main() -> tuple[bool, bool]:
        counters = RedisCounters(redis_url, prefix=redis_prefix)
        send = counters._redis.execute_command
        in_flight = asyncio.Event()
        calls = 0

        async def closed_under_a_cancel(*command: Any, **options: Any) -> Any:
            nonlocal calls
            calls += 1
            if calls == 1:  # the first call is answered by Redis itself
                return await send(*command, **options)
            if calls > 2:  # the old loop took the error for an outage and tried again
                raise AssertionError("the loop went on after it was cancelled")
            in_flight.set()
            try:
                await asyncio.Event().wait()  # a reply that has not come yet
            except asyncio.CancelledError:  # what redis-py may say when it closes under it
                raise RedisConnectionError("Connection closed by server.") from None
            raise AssertionError("unreachable")

        counters._redis.execute_command = closed_under_a_cancel
        try:
            loop = asyncio.create_task(counters.keep_alive())
            await asyncio.wait_for(in_flight.wait(), 30)
            loop.cancel()
            await asyncio.wait({loop}, timeout=30)
            return loop.done(), loop.done() and loop.cancelled()
        finally:
            counters._redis.execute_command = send
            await counters.close()

    with caplog.at_level(logging.WARNING, logger="stellwerk.redis"):
        assert asyncio.run(main()) == (True, True)
    assert "Redis failed" not in caplog.text  # a stop, not an outage
