"""A routed request's feedback entry in Redis when its client hangs up: the cancel that reaches a
call of the entries is the request's cancellation, even when redis-py answers it with an error of
its own as it closes the connection under the call (what ``test_redis_cancel`` makes it do for
the counters). That error was reported as a Redis outage (a WARNING, the feedback entries'
part failing until the next call) and the cancel was swallowed: the request went on, to its
backend, for nobody. A request cancelled before (a hung-up client's request, accounted under a
shield in its cancelled task) still meets a Redis that fails as failing."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import anyio
import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from stellwerk.gateway.pending_redis import FEEDBACK, RedisPending
from stellwerk.governance.redis_pool import RedisHealth

pytestmark = pytest.mark.redis


def test_a_request_cancelled_while_it_marks_its_entry_ends_cancelled_with_no_outage(
    redis_url: str, redis_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    async def main() -> tuple[bool, str | None]:
        health = RedisHealth()
        store = RedisPending(redis_url, 60, 20, prefix=redis_prefix, health=health)
        send = store._redis.execute_command
        in_flight = asyncio.Event()

        async def closed_under_a_cancel(*command: Any, **options: Any) -> Any:
            in_flight.set()
            try:
                await asyncio.Event().wait()  # Redis's answer, not come yet
            except asyncio.CancelledError:  # what redis-py may say when it closes under it
                raise RedisConnectionError("Connection closed by server.") from None
            raise AssertionError("unreachable")

        async def request() -> None:
            await store.started("r1", "k1")  # routed: its feedback waits for its end
            await asyncio.Event().wait()  # the backend's answer, for nobody now

        store._redis.execute_command = closed_under_a_cancel
        try:
            task = asyncio.create_task(request())
            await asyncio.wait_for(in_flight.wait(), 30)
            task.cancel()  # the client hung up
            await asyncio.wait({task}, timeout=30)
            return task.cancelled(), health.error(FEEDBACK)
        finally:
            store._redis.execute_command = send
            await store.close()

    with caplog.at_level(logging.WARNING, logger="stellwerk.redis"):
        assert asyncio.run(main()) == (True, None)
    assert "Redis failed" not in caplog.text  # a hang-up, not an outage


def test_a_hung_up_requests_accounting_meets_a_failing_redis_as_failing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Nothing listens at the discard port: the entry of a request whose client hung up, given
    up at its accounting in its cancelled task, is Redis failing, reported once."""

    async def main() -> str | None:
        health = RedisHealth()
        store = RedisPending("redis://127.0.0.1:9/0", 60, 20, health=health)
        started = asyncio.Event()

        async def request() -> None:
            try:
                started.set()
                await asyncio.Event().wait()
            except asyncio.CancelledError:  # accounted, as the gateway does, then ended
                with anyio.CancelScope(shield=True):  # in its own task (``pipeline.accounted``)
                    await store.ended("r1", None)
                raise

        try:
            task = asyncio.create_task(request())
            await started.wait()
            task.cancel()
            await asyncio.wait({task}, timeout=30)
            assert task.cancelled()
            return health.error(FEEDBACK)
        finally:
            await store.close()

    with caplog.at_level(logging.WARNING, logger="stellwerk.redis"):
        assert asyncio.run(main()) == "Redis failed (ConnectionError)"
    assert "Redis failed (feedback entries" in caplog.text
