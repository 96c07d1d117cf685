"""Governance overhead per request: the policy filter, and the limiter's reserve + settle, with
in-process counters and with Redis.

    PYTHONPATH=src python benchmarks/governance.py
    STELLWERK_TEST_REDIS_URL=redis://127.0.0.1:6379/0   # the Redis figures (default: that URL)

Keys in Redis live under a fresh prefix and are deleted at the end. Prints a Markdown table;
docs/governance.md keeps the figures we measured.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial

from stellwerk.config import parse_config
from stellwerk.config.governance import MAX_REQUESTS_PER_MINUTE, MAX_TOKENS_PER_MINUTE
from stellwerk.config.schema import UsageLimits
from stellwerk.governance.counters import InProcessCounters
from stellwerk.policy.counters import Counters
from stellwerk.policy.filter import PolicyFilter
from stellwerk.policy.limits import Limiter, scopes_for
from stellwerk.policy.state import ModelState


@dataclass(frozen=True)
class Caller:
    department: str
    key_id: str = "key-1"
    use_case: str | None = None
    role: str = "user"


REDIS_URL = os.environ.get("STELLWERK_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def percentiles(samples: list[float]) -> tuple[float, float]:
    samples = sorted(samples)
    return statistics.median(samples), samples[int(len(samples) * 0.99) - 1]


def bench_filter(models: int, repeats: int) -> tuple[float, float]:
    raw = {
        "backends": [{"name": "b", "kind": "openai", "base_url": "http://127.0.0.1:9"}],
        "models": [
            {
                "id": f"m-{i}",
                "backend": "b",
                "upstream": f"m-{i}",
                "params_b": 1 + i,
                "size_class": "small",
                "licence": "apache-2.0",
                "hosting": ("on_prem", "eu_cloud", "non_eu_cloud")[i % 3],
                "lifecycle": ("approved", "in_review", "deprecated", "approved")[i % 4],
            }
            for i in range(models)
        ],
        "departments": [{"name": f"d-{i}"} for i in range(20)],
        "governance": {"compliance_mode": "block"},
    }
    config = parse_config(raw)
    states = [ModelState.from_config(m) for m in config.models]
    policy = PolicyFilter.from_config(config)
    caller = Caller(department="d-3")
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        policy.allowed(caller, "internal", states)
        samples.append((time.perf_counter() - start) * 1e6)
    return percentiles(samples)


async def bench_limiter(
    counters: Counters, repeats: int, *, limited: bool = True
) -> tuple[float, float]:
    """A department with every limit and a key with a budget, or (``limited=False``) neither
    with any limit: its requests are counted all the same."""
    limiter = Limiter(counters)
    department = UsageLimits(
        requests_per_minute=MAX_REQUESTS_PER_MINUTE,
        tokens_per_minute=MAX_TOKENS_PER_MINUTE,
        monthly_budget=1e9,
    )
    key = UsageLimits(monthly_budget=1e9)
    if limited:
        scopes = scopes_for("legal", department, "key-1", key)
    else:
        scopes = scopes_for("legal", UsageLimits(), "key-1", None)
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        reservation = await limiter.admit(scopes, max_tokens=1000, max_cost=0.01)
        await limiter.settle(reservation, tokens=500, cost=0.005)
        samples.append((time.perf_counter() - start) * 1e6)
    return percentiles(samples)


async def with_redis(
    body: Callable[[Counters], Awaitable[tuple[float, float]]],
) -> tuple[float, float]:
    import redis

    from stellwerk.governance.redis_counters import RedisCounters

    prefix = f"stellwerk-bench:{uuid.uuid4().hex}:"
    counters = RedisCounters(REDIS_URL, prefix=prefix)

    async def never() -> None:  # the marker is set: a gateway's seeder is never called
        raise AssertionError("the counters were emptied during the benchmark")

    counters.seed_with(never)  # as a gateway's counters: every reservation checks the marker
    try:
        await counters.mark_seeded()
        return await body(counters)
    finally:
        await counters.close()
        client = redis.Redis.from_url(REDIS_URL)
        keys = list(client.scan_iter(match=prefix + "*"))
        if keys:
            client.delete(*keys)
        client.close()


def main() -> None:
    rows = []
    for models in (10, 100):
        p50, p99 = bench_filter(models, 5000)
        rows.append((f"policy filter, {models} models", p50, p99))
    for limited, what in ((True, "4 limits"), (False, "no limits")):
        p50, p99 = asyncio.run(bench_limiter(InProcessCounters(), 5000, limited=limited))
        rows.append((f"limits: reserve + settle, in process ({what}, 6 counters)", p50, p99))
        p50, p99 = asyncio.run(with_redis(partial(bench_limiter, repeats=2000, limited=limited)))
        rows.append((f"limits: reserve + settle, Redis on loopback ({what}, 6 counters)", p50, p99))
    print("| step | p50 µs | p99 µs |")
    print("|---|---|---|")
    for name, p50, p99 in rows:
        print(f"| {name} | {p50:.1f} | {p99:.1f} |")


if __name__ == "__main__":
    main()
