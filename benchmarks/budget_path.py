"""Requests per second through the budget path: a request's reserve and settle of its six counters
(its department's and its key's requests, tokens and cost; ``Limiter.admit`` and ``settle``),
in process, in Redis without the per-reservation id set, in Redis without the undone
reservations' markers and in Redis as shipped, side by side in one run.

Since the id set (``redis_counters._OPEN``), every Redis reservation adds its id to
``<prefix>open:<instance>`` (one ``SADD`` and one ``EXPIRE`` inside the reservation's script) and
its settlement takes it off (one ``SREM`` inside the settlement's script): no round trip more,
some work more in Redis. "Without the id set" is the same counters given no id, so the scripts
skip those commands: the shipped scripts before that work, as far as Redis is concerned.

Since the undone reservations' markers (``redis_counters.UNDONE_CHECK``), a reservation not open
yet looks for its undo's marker first (one ``EXISTS`` inside its script). "Without the markers"
is the shipped counters with that check taken out of the reservation's script: the script before
that work.

Each round runs every variant for ``--seconds`` at each concurrency (``--clients``: that many
requests in flight in one process, each reserving and settling in a loop), in turn, the order
rotating from round to round; a variant's figure is the median of its rounds, and the ratios are
taken round by round, then their median (on a shared machine the load changes less within a round
than across the run: many short rounds). The process's CPU time per request is measured too, and,
on a Redis of the benchmark's own (``--own-redis``: a ``redis-server`` it starts on a free port,
without persistence, and stops), the time Redis spent in the scripts per request (``INFO
commandstats``), which a shared Redis mixes with its other clients' work. On the shared Redis
(``STELLWERK_TEST_REDIS_URL``) keys live under a fresh prefix, deleted at the end; it is never
flushed.

    PYTHONPATH=src python -m benchmarks.budget_path --own-redis [--rounds 30] [--seconds 0.3]
    STELLWERK_TEST_REDIS_URL=redis://127.0.0.1:6379/0 \\
    PYTHONPATH=src python -m benchmarks.budget_path
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import operator
import os
import platform
import socket
import statistics
import subprocess
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from stellwerk.config.governance import MAX_REQUESTS_PER_MINUTE, MAX_TOKENS_PER_MINUTE
from stellwerk.config.schema import UsageLimits
from stellwerk.governance.counters import InProcessCounters
from stellwerk.governance.redis_counters import RESERVE, UNDONE_CHECK, RedisCounters
from stellwerk.policy.counters import Charge, Counters, Refused
from stellwerk.policy.limits import Limiter, Scope, scopes_for

REDIS_URL = os.environ.get("STELLWERK_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
RESULTS = Path(__file__).resolve().parent / "results" / "budget-path.json"
VARIANTS = ("in process", "Redis, no id set", "Redis, no undo marker", "Redis, as shipped")
_SCRIPTED = ("evalsha", "eval")  # the counters' scripts, as Redis counts them


class WithoutIds(Counters):
    """``counters`` with every reservation's id left out: its scripts skip the id set."""

    def __init__(self, counters: Counters) -> None:
        self._counters = counters

    async def reserve(self, charges: Sequence[Charge], ident: str = "") -> Refused | None:
        return await self._counters.reserve(charges)

    async def settle(self, entries: Sequence[tuple[str, int, int]], ident: str = "") -> None:
        await self._counters.settle(entries)

    async def value(self, key: str) -> int:
        return await self._counters.value(key)

    async def seed(self, key: str, value: int, ttl_s: int) -> bool:
        return await self._counters.seed(key, value, ttl_s)

    async def seeded(self) -> bool:
        return await self._counters.seeded()

    async def mark_seeded(self) -> None:
        await self._counters.mark_seeded()


def _scopes(client: int) -> tuple[Scope, Scope]:
    """A department with every limit (none reached) and a key of its own with a budget."""
    department = UsageLimits(
        requests_per_minute=MAX_REQUESTS_PER_MINUTE,
        tokens_per_minute=MAX_TOKENS_PER_MINUTE,
        monthly_budget=1e9,
    )
    return scopes_for("legal", department, f"key-{client}", UsageLimits(monthly_budget=1e9))


async def _rate(
    counters: Counters, clients: int, seconds: float, scripts: Callable[[], Awaitable[float]]
) -> dict[str, float]:
    """Requests per second, process CPU and Redis's time in scripts (``scripts``: its total so
    far, NaN when not known) per request of ``clients`` concurrent loops."""
    limiter = Limiter(counters)
    done = 0
    stop = time.monotonic() + seconds

    async def client(n: int) -> None:
        nonlocal done
        scopes = _scopes(n)
        while time.monotonic() < stop:
            reservation = await limiter.admit(scopes, max_tokens=1000, max_cost=0.01)
            await limiter.settle(reservation, tokens=500, cost=0.005)
            done += 1

    in_redis = await scripts()
    started, cpu = time.monotonic(), time.process_time()
    await asyncio.gather(*(client(n) for n in range(clients)))
    elapsed, cpu = time.monotonic() - started, time.process_time() - cpu
    in_redis = await scripts() - in_redis
    each = max(1, done)
    return {"rate": done / elapsed, "cpu_ms": cpu / each * 1e3, "redis_us": in_redis / each}


async def _never() -> None:  # the marker is set: a gateway's seeder is never called
    raise AssertionError("the counters were emptied during the benchmark")


async def _measure(
    url: str, own: bool, rounds: int, seconds: float, concurrency: Sequence[int]
) -> dict[str, Any]:
    import redis.asyncio as redis

    prefix = f"stellwerk-bench:{uuid.uuid4().hex}:"
    shared = RedisCounters(url, prefix=prefix, max_connections=max(concurrency) + 4)
    watcher = redis.Redis.from_url(url)

    async def scripts() -> float:  # µs Redis spent in scripts so far (its own Redis only)
        if not own:
            return math.nan
        stats = await watcher.info("commandstats")
        return float(sum(stats.get(f"cmdstat_{c}", {}).get("usec", 0) for c in _SCRIPTED))

    async def nothing() -> float:
        return math.nan

    unmarked = RedisCounters(url, prefix=prefix, max_connections=max(concurrency) + 4)
    # the reservation's script before the markers (a benchmark's look inside, not an option)
    if UNDONE_CHECK not in RESERVE:
        raise RuntimeError("the reservation's script no longer holds UNDONE_CHECK")
    unmarked._reserve = unmarked._redis.register_script(RESERVE.replace(UNDONE_CHECK, "\n"))
    for counters in (shared, unmarked):
        counters.seed_with(_never)  # as a gateway's: every reservation looks at the marker
    await shared.mark_seeded()
    made: dict[str, Callable[[], Counters]] = {
        VARIANTS[0]: InProcessCounters,
        VARIANTS[1]: lambda: WithoutIds(shared),
        VARIANTS[2]: lambda: unmarked,
        VARIANTS[3]: lambda: shared,
    }
    samples: dict[int, dict[str, list[dict[str, float]]]] = {
        c: {v: [] for v in VARIANTS} for c in concurrency
    }
    try:
        for counters in (shared, unmarked):  # scripts loaded, pools full
            await _rate(counters, max(concurrency), seconds / 2, nothing)
        for round_ in range(rounds):
            turn = round_ % len(VARIANTS)
            order = VARIANTS[turn:] + VARIANTS[:turn]
            for clients in concurrency:
                for variant in order:
                    local = variant == VARIANTS[0]
                    figure = await _rate(
                        made[variant](), clients, seconds, nothing if local else scripts
                    )
                    samples[clients][variant].append(figure)
                    print(
                        f"round {round_ + 1}, {clients} clients, {variant}:"
                        f" {figure['rate']:,.0f} requests/s, {figure['cpu_ms']:.3f} ms CPU each",
                        flush=True,
                    )
    finally:
        await shared.close()
        await unmarked.close()
        await _delete(watcher, prefix)
        await watcher.aclose()
    return {"samples": samples, "medians": _medians(samples), "ratios": _ratios(samples)}


def _medians(
    samples: dict[int, dict[str, list[dict[str, float]]]],
) -> dict[int, dict[str, dict[str, float]]]:
    return {
        clients: {
            variant: {
                what: statistics.median(s[what] for s in figures)
                for what in ("rate", "cpu_ms", "redis_us")
            }
            for variant, figures in by_variant.items()
        }
        for clients, by_variant in samples.items()
    }


def _ratios(
    samples: dict[int, dict[str, list[dict[str, float]]]],
) -> dict[int, dict[str, float]]:
    """Paired, round by round (the machine's load changes less within a round than across the
    run), then the median: requests/s of the shipped Redis counters against the others, and
    Redis's time per request they add."""
    found: dict[int, dict[str, float]] = {}
    for clients, by_variant in samples.items():
        local, bare, unmarked, shipped = (by_variant[v] for v in VARIANTS)
        found[clients] = {
            "shipped / no id set": _paired(shipped, bare, "rate", operator.truediv),
            "shipped / no undo marker": _paired(shipped, unmarked, "rate", operator.truediv),
            "shipped / in process": _paired(shipped, local, "rate", operator.truediv),
            "redis_us added": _paired(shipped, bare, "redis_us", operator.sub),
            "redis_us added by the marker": _paired(shipped, unmarked, "redis_us", operator.sub),
        }
    return found


def _paired(
    shipped: list[dict[str, float]],
    other: list[dict[str, float]],
    what: str,
    of: Callable[[float, float], float],
) -> float:
    """The median over the rounds of ``of(shipped's figure, other's)`` for ``what``."""
    return statistics.median(of(s[what], o[what]) for s, o in zip(shipped, other, strict=True))


async def _delete(client: Any, prefix: str) -> None:
    keys = [key async for key in client.scan_iter(match=prefix + "*")]
    if keys:
        await client.delete(*keys)


@contextmanager
def own_redis() -> Iterator[str]:
    """A ``redis-server`` of this run's own on a free loopback port, without persistence."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    argv = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    server = subprocess.Popen([*argv, "--appendonly", "no"], stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            with suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                break
            if time.monotonic() > deadline:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.terminate()
        server.wait(10)


def table(measured: dict[str, Any]) -> str:
    """The Markdown table: medians of the rounds, and the ratios paired round by round."""
    lines = [
        "| clients | in process (requests/s) | Redis, no id set | Redis, no undo marker"
        " | Redis, as shipped | shipped / no id set | shipped / no undo marker"
        " | shipped / in process | gateway CPU per request: no id set / no marker / shipped (ms)"
        " | Redis's time in scripts per request: no id set / no marker / shipped (µs)"
        " | added by the id set, paired (µs) | added by the undo marker, paired (µs) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for clients, by_variant in measured["medians"].items():
        local, bare, unmarked, shipped = (by_variant[v] for v in VARIANTS)
        ratios = measured["ratios"][clients]
        redis = [bare, unmarked, shipped]
        lines.append(
            f"| {clients} | {local['rate']:,.0f} | {bare['rate']:,.0f}"
            f" | {unmarked['rate']:,.0f} | {shipped['rate']:,.0f}"
            f" | {ratios['shipped / no id set']:.2f} | {ratios['shipped / no undo marker']:.2f}"
            f" | {ratios['shipped / in process']:.3f}"
            f" | {' / '.join(format(v['cpu_ms'], '.3f') for v in redis)}"
            f" | {' / '.join(_us(v['redis_us']) for v in redis)}"
            f" | {_us(ratios['redis_us added'])} | {_us(ratios['redis_us added by the marker'])} |"
        )
    return "\n".join(lines)


def _plain(value: Any) -> Any:
    """``value`` for JSON: a figure not measured (NaN) as ``null``."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return None if isinstance(value, float) and math.isnan(value) else value


def _us(value: float) -> str:
    return "not measured (shared Redis)" if math.isnan(value) else f"{value:.1f}"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=0.3)
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 16])
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--own-redis", action="store_true", help="start a redis-server of its own")
    args = parser.parse_args(argv)
    with own_redis() if args.own_redis else nullcontext(REDIS_URL) as url:
        measured = asyncio.run(
            _measure(url, args.own_redis, args.rounds, args.seconds, args.clients)
        )
    print(table(measured))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(
        json.dumps(
            {
                "when": datetime.now(UTC).isoformat(timespec="seconds"),
                "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
                "load_average_at_end": load,
                "redis": "its own" if args.own_redis else "shared",
                "rounds": args.rounds,
                "seconds": args.seconds,
                **_plain(measured),
            },
            indent=1,
        )
        + "\n"
    )
    print(f"written: {args.results}")


if __name__ == "__main__":
    main()
