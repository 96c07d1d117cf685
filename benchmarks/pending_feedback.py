"""What keeping routed requests for feedback costs (``stellwerk.gateway.pending_store``): per
request, its start and its entry (``started`` + ``ended``), and a feedback's look-up, in memory and
in Redis; the time per entry kept at the bound (every entry pushes one out) with many keys; and the
memory an entry takes in Redis. The entries are the shipped router's reading of a real prompt.

    STELLWERK_TEST_REDIS_URL=redis://127.0.0.1:6379/0 \\
    PYTHONPATH=src python -m benchmarks.pending_feedback
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
import uuid

from stellwerk.gateway.pending import Pending
from stellwerk.gateway.pending_memory import InProcessPending
from stellwerk.gateway.pending_redis import RedisPending
from stellwerk.gateway.pending_store import PendingStore
from stellwerk.routing.graded_record import Evidence
from stellwerk.routing.loader import load_learned

PROMPT = "Explain the proof of the prime number theorem in simple words, with an example."


def _entry(found: Evidence, i: int, key: str = "k1") -> Pending:
    return Pending(f"{i:024x}", key, "research", "auto", "tiny-small", found)


def _ms(values: list[float]) -> str:
    ordered = sorted(values)
    median, p99 = statistics.median(ordered), ordered[int(len(ordered) * 0.99)]
    return f"median {median * 1e3:.3f} ms, p99 {p99 * 1e3:.3f} ms"


async def _timed(store: PendingStore, found: Evidence, n: int) -> tuple[str, str]:
    keep, look = [], []
    for i in range(n):
        start = time.perf_counter()
        await store.started(f"{i:024x}", "k1")
        await store.ended(f"{i:024x}", _entry(found, i))
        keep.append(time.perf_counter() - start)
    for i in range(n):
        start = time.perf_counter()
        await store.lookup(f"{i:024x}", "k1")
        look.append(time.perf_counter() - start)
    return _ms(keep), _ms(look)


async def main(n: int, keys: int) -> None:
    router = load_learned()
    found = Evidence.read(router.model, PROMPT, base_version=router.version).noised(
        router.model, PROMPT, 0.5
    )
    print(f"entry: latent {len(found.latent)}, base models {len(found.base)}")
    keep, look = await _timed(InProcessPending(3600, n), found, n)
    print(f"memory: keep {keep}; look-up {look}")
    url = os.environ.get("STELLWERK_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    prefix = f"stellwerk-bench:{uuid.uuid4().hex}:"
    store = RedisPending(url, 3600, n, prefix=prefix)
    try:
        keep, look = await _timed(store, found, n)
        print(f"redis: keep {keep}; look-up {look}")
        used = 0
        async for key in store._redis.scan_iter(match=prefix + "*"):
            used += await store._redis.memory_usage(key) or 0
        print(f"redis: {used / n:.0f} bytes per entry ({n} entries, with their sets)")
        start = time.perf_counter()
        for i in range(n):  # at the bound: each entry kept pushes one out
            await store.ended(f"b{i}", _entry(found, i, f"key{i % keys}"))
        per = (time.perf_counter() - start) / n
        print(f"redis at the bound, {keys} keys: {per * 1e3:.3f} ms per entry kept")
    finally:
        async for key in store._redis.scan_iter(match=prefix + "*"):
            await store._redis.delete(key)
        await store.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=2000)
    parser.add_argument("--keys", type=int, default=50)
    args = parser.parse_args()
    asyncio.run(main(args.entries, args.keys))
