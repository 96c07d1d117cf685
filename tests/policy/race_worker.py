"""One of two processes racing on the same Redis counters (run by test_redis_race.py).

Usage: python -m tests.policy.race_worker URL PREFIX NOW ATTEMPTS
Says it is ready (RPUSH PREFIX + "ready"), waits for the start signal (BLPOP PREFIX + "go"), then
makes one admission, waits until both processes hold one (BLPOP PREFIX + "both"), then fires
the other ATTEMPTS - 1 concurrent requests. Each reserves one request and a cost of 1.0 of a
budget of 150.0; prints how many were admitted.
"""

from __future__ import annotations

import asyncio
import sys

from stellwerk.config.schema import UsageLimits
from stellwerk.errors import RateLimited
from stellwerk.governance.redis_counters import RedisCounters
from stellwerk.policy.limits import Limiter, scopes_for


async def main(url: str, prefix: str, now: float, attempts: int) -> int:
    import redis

    counters = RedisCounters(url, prefix=prefix)
    limiter = Limiter(counters, clock=lambda: now)
    scopes = scopes_for(
        "legal", UsageLimits(monthly_budget=150.0, requests_per_minute=1000), "key-1", None
    )
    await limiter.spent(scopes[0])  # connected and warm before the start signal
    control = redis.Redis.from_url(url)
    try:
        control.rpush(prefix + "ready", 1)
        control.blpop([prefix + "go"], timeout=30)
    finally:
        control.close()

    async def one() -> bool:
        try:
            reservation = await limiter.admit(scopes, max_tokens=0, max_cost=1.0)
        except RateLimited:
            return False
        await limiter.settle(reservation, tokens=0, cost=1.0)
        return True

    try:
        # one admission each, held while the other process gets its own: from here on both
        # are provably in the race, which then starts on one signal
        first = await one()
        control = redis.Redis.from_url(url)
        try:
            control.rpush(prefix + "holding", 1)
            control.blpop([prefix + "both"], timeout=30)
        finally:
            control.close()
        rest = await asyncio.gather(*(one() for _ in range(attempts - 1)))
        return int(first) + sum(rest)
    finally:
        await counters.close()


if __name__ == "__main__":
    url, prefix, now, attempts = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
    print(asyncio.run(main(url, prefix, now, attempts)))
