"""Redis counters' settlements are applied exactly once: sent twice (redis-py's retry after an
answer lost with its connection) they count once, and one Redis did not take (it was away) is
kept by the replica and applied when Redis answers, or at the replica's clean stop; one kept
across an emptied Redis (whose counters are seeded again from the ledger, this request's cost
included) adds nothing. The gateway across a real outage: tests/gateway/test_redis_settlement.py."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import pytest
import redis
from tests.fixtures.tcp_proxy import tcp_proxy

from stellwerk.config.schema import UsageLimits
from stellwerk.governance.redis_counters import RedisCounters
from stellwerk.policy.counters import Charge
from stellwerk.policy.limits import Limiter, department_scope

pytestmark = pytest.mark.redis

SCOPE = department_scope("research", UsageLimits(monthly_budget=10))


def _budget(store: redis.Redis, prefix: str) -> tuple[int, dict[Any, Any]]:
    """Research's month counter in micro-units and its held amounts by replica."""
    key = _budget_key(prefix)
    value = store.get(key)
    return int(value) if value is not None else -1, dict(store.hgetall(key + ":held"))


def test_a_reservation_and_its_settlement_sent_twice_count_once(
    redis_url: str, redis_prefix: str
) -> None:
    async def main() -> tuple[int, int]:
        counters = RedisCounters(redis_url, prefix=redis_prefix)
        try:
            charge = Charge("budget", 700, 1000, 60, held=True)
            for _ in range(2):
                assert await counters.reserve([charge], "r1") is None
            reserved = await counters.value("budget")
            for _ in range(2):
                await counters.settle([("budget", 700, 250)], "r1")
            return reserved, await counters.value("budget")
        finally:
            await counters.close()

    assert asyncio.run(main()) == (700, 250)


def test_a_settlement_redis_did_not_take_is_applied_once_it_answers(
    redis_url: str, redis_prefix: str
) -> None:
    """Redis goes away while a request runs: its settlement is kept (no error for the request
    that ended), and applied when Redis is back; here at the clean stop, which tries it."""
    target = urlsplit(redis_url)
    store = redis.Redis.from_url(redis_url)

    async def main() -> tuple[int, dict[Any, Any]]:
        counters = RedisCounters(through, prefix=redis_prefix)
        limiter = Limiter(counters)
        try:
            reservation = await limiter.admit([SCOPE], max_tokens=10, max_cost=2.0)
            held = _budget(store, redis_prefix)
            proxy.stop()
            await limiter.settle(reservation, tokens=8, cost=0.5)  # kept, not raised
            proxy.start()
        finally:
            await counters.close()  # applies what is kept
        return held

    try:
        with tcp_proxy(target.port or 6379, target.hostname or "127.0.0.1") as proxy:
            through = f"redis://127.0.0.1:{proxy.port}{target.path or '/0'}"
            held = asyncio.run(main())
        assert held[0] == 0 and list(held[1].values()) == [b"2000000"]
        assert _budget(store, redis_prefix) == (500_000, {})
    finally:
        store.close()


def test_a_settlement_kept_across_an_emptied_redis_adds_nothing(
    redis_url: str, redis_prefix: str
) -> None:
    """Redis comes back emptied and the month's counter is seeded again from the ledger (which
    has the request's cost): the kept settlement finds its reservation gone and adds nothing."""
    target = urlsplit(redis_url)
    store = redis.Redis.from_url(redis_url)

    async def main() -> int:
        counters = RedisCounters(through, prefix=redis_prefix)
        limiter = Limiter(counters)
        try:
            reservation = await limiter.admit([SCOPE], max_tokens=10, max_cost=2.0)
            proxy.stop()
            await limiter.settle(reservation, tokens=8, cost=0.5)  # kept
            store.delete(*store.keys(redis_prefix + "*"))  # emptied ...
            store.set(_budget_key(redis_prefix), 500_000)  # ... seeded from the ledger
            proxy.start()
            return await counters.apply_pending()
        finally:
            await counters.close()

    try:
        with tcp_proxy(target.port or 6379, target.hostname or "127.0.0.1") as proxy:
            through = f"redis://127.0.0.1:{proxy.port}{target.path or '/0'}"
            assert asyncio.run(main()) == 0
        assert _budget(store, redis_prefix) == (500_000, {})
    finally:
        store.close()


def _budget_key(prefix: str) -> str:
    return f"{prefix}budget:dept:research:{datetime.now(UTC).strftime('%Y-%m')}"
