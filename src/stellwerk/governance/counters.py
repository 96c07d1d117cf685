"""The counters a gateway counts its rate limits and budgets in, and how the config picks them.

``InProcessCounters`` keeps them in this process (one gateway); ``RedisCounters``
(``stellwerk.governance.redis_counters``) in a Redis that every replica shares. Both implement
the seam ``stellwerk.policy.counters.Counters`` that the limiter counts through; they are state,
so they live here and not in ``policy``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence

from stellwerk.config.loader import resolve_env
from stellwerk.config.schema import StellwerkConfig
from stellwerk.governance.redis_pool import RedisHealth
from stellwerk.policy.counters import Charge, Counters, Refused


def redis_password(config: StellwerkConfig, environ: Mapping[str, str]) -> str | None:
    """The Redis password from the variable named by ``server.redis_password_env`` (a missing
    variable is a ``ConfigError`` naming it)."""
    name = config.server.redis_password_env
    return resolve_env([name], environ)[name] if name else None


def build_counters(
    config: StellwerkConfig,
    password: str | None = None,
    health: RedisHealth | None = None,
    instance: str | None = None,
) -> Counters:
    """Redis counters when ``server.redis_url`` is set (shared by replicas), else in-process;
    ``health``: the gateway's, which they report their uses of Redis to; ``instance``: the
    gateway's name in Redis (its liveness key, which its governance notices share)."""
    server = config.server
    if not server.redis_url:
        return InProcessCounters()
    from stellwerk.governance.redis_counters import RedisCounters

    return RedisCounters(
        server.redis_url,
        prefix=server.redis_prefix,
        password=password,
        health=health,
        instance=instance,
    )


class InProcessCounters(Counters):
    """Counters in a dict, guarded by a lock; for a single gateway process."""

    _SWEEP_EVERY = 1024

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._values: dict[str, tuple[int, float]] = {}  # expired entries swept (_maybe_sweep)
        self._ops = 0
        self._seeded = False

    async def reserve(self, charges: Sequence[Charge], ident: str = "") -> Refused | None:
        with self._lock:
            now = self._clock()
            self._maybe_sweep(now)
            for index, charge in enumerate(charges):
                limit, current = charge.limit, self._current(charge.key, now)
                if limit is not None and current + charge.amount > limit:
                    return Refused(index, current)
            for charge in charges:
                current = self._current(charge.key, now)
                self._values[charge.key] = (current + charge.amount, now + charge.ttl_s)
            return None

    async def settle(self, entries: Sequence[tuple[str, int, int]], ident: str = "") -> None:
        # Held amounts need no book of their own here: they die with the process anyway; and
        # nothing is sent anywhere, so nothing is repeated (``ident`` is not needed).
        self._adjust([(key, used - held) for key, held, used in entries])

    def _adjust(self, deltas: Sequence[tuple[str, int]]) -> None:
        """Add each delta to its counter if the counter still exists (an ended window is left
        alone); counters never go below zero."""
        with self._lock:
            now = self._clock()
            for key, delta in deltas:
                entry = self._values.get(key)
                if entry is None or entry[1] <= now:
                    continue
                self._values[key] = (max(0, entry[0] + delta), entry[1])

    async def value(self, key: str) -> int:
        with self._lock:
            return self._current(key, self._clock())

    async def seed(self, key: str, value: int, ttl_s: int) -> bool:
        with self._lock:
            now = self._clock()
            entry = self._values.get(key)
            if entry is not None and entry[1] > now:
                return False
            self._values[key] = (value, now + ttl_s)
            return True

    async def seeded(self) -> bool:
        return self._seeded

    async def mark_seeded(self) -> None:
        self._seeded = True

    def _current(self, key: str, now: float) -> int:
        entry = self._values.get(key)
        if entry is None or entry[1] <= now:
            return 0
        return entry[0]

    def _maybe_sweep(self, now: float) -> None:
        self._ops += 1
        if self._ops % self._SWEEP_EVERY:
            return
        for key in [k for k, (_, expires) in self._values.items() if expires <= now]:
            del self._values[key]
