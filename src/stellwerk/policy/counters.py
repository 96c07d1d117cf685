"""Shared counters for rate limits and budgets: the seam, and the in-process implementation.

A counter is an integer under a name that lives for a window (a minute, a month). ``reserve``
adds to several counters at once, all or none: either every counter stays within its limit
after the addition, or nothing changes and the index of the first counter that would go over is
returned. That single atomic step is what keeps concurrent requests from overspending: two
requests can never both see the same remaining budget. ``adjust`` later corrects a reservation
to what was really used (reserve-then-settle).

A charge may be ``held``: a reservation of a request in flight rather than a use (the budget's).
``settle`` turns it into what the request used, in one step. Held amounts belong to the process
that holds them and cannot outlive it: in process they die with the process (the month's
counter is seeded from the ledger at the next start); in Redis they are kept per gateway
instance and count only while that instance is alive (a liveness key it refreshes), so the
reservations of a replica that was killed disappear once its liveness key expires.

``InProcessCounters`` serves one gateway process; ``RedisCounters``
(``stellwerk.policy.redis_counters``) lets several replicas share the same counters.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Charge:
    """Add ``amount`` to counter ``key`` if it stays within ``limit``; the counter expires
    ``ttl_s`` seconds from now (a window's remaining length plus some grace for settling)."""

    key: str
    amount: int
    limit: int
    ttl_s: int
    held: bool = False


class Counters(ABC):
    @abstractmethod
    async def reserve(self, charges: Sequence[Charge]) -> int | None:
        """All-or-nothing: add every charge and return ``None``, or add none and return the
        index of the first charge that would exceed its limit."""

    @abstractmethod
    async def adjust(self, deltas: Sequence[tuple[str, int]]) -> None:
        """Add each delta to its counter if the counter still exists (an ended window is left
        alone); counters never go below zero."""

    @abstractmethod
    async def settle(self, entries: Sequence[tuple[str, int, int]]) -> None:
        """For each ``(key, held, used)``: take ``held`` off what this process holds under
        ``key`` and add ``used`` (which may be negative) to the counter, all in one step; an
        ended window is left alone, and counters never go below zero."""

    @abstractmethod
    async def value(self, key: str) -> int:
        """The current value, held amounts of live processes included (0 for a counter that
        does not exist)."""

    @abstractmethod
    async def seed(self, key: str, value: int, ttl_s: int) -> bool:
        """Set a counter that does not exist yet (e.g. this month's spend from the ledger after
        a restart); returns whether it was set."""

    async def keep_alive(self) -> None:
        """Run while the gateway serves: keep this process's held amounts alive (in process
        there is nothing to do)."""
        return None

    async def close(self) -> None:
        """Release connections; the in-process counters hold none."""
        return None


class InProcessCounters(Counters):
    """Counters in a dict, guarded by a lock; for a single gateway process."""

    _SWEEP_EVERY = 1024

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._values: dict[str, tuple[int, float]] = {}
        self._ops = 0

    async def reserve(self, charges: Sequence[Charge]) -> int | None:
        with self._lock:
            now = self._clock()
            self._maybe_sweep(now)
            for index, charge in enumerate(charges):
                if self._current(charge.key, now) + charge.amount > charge.limit:
                    return index
            for charge in charges:
                current = self._current(charge.key, now)
                self._values[charge.key] = (current + charge.amount, now + charge.ttl_s)
            return None

    async def adjust(self, deltas: Sequence[tuple[str, int]]) -> None:
        with self._lock:
            now = self._clock()
            for key, delta in deltas:
                entry = self._values.get(key)
                if entry is None or entry[1] <= now:
                    continue
                self._values[key] = (max(0, entry[0] + delta), entry[1])

    async def settle(self, entries: Sequence[tuple[str, int, int]]) -> None:
        await self.adjust([(key, used - held) for key, held, used in entries])

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
