"""Shared counters for rate limits and budgets: the seam, and the in-process implementation.

A counter is an integer under a name that lives for a window (a minute, a month). ``reserve``
adds to several counters at once, all or none: either every counter stays within its limit
after the addition (a counter without a limit only counts), or nothing changes and the index of
the first counter that would go over is returned. That single atomic step is what keeps
concurrent requests from overspending: two requests can never both see the same remaining
budget. ``settle`` later corrects a reservation to what was really used (reserve-then-settle).

A charge may be ``held``: a reservation of a request in flight rather than a use (the budget's).
``settle`` turns it into what the request used, in one step. A reservation may carry an
``ident`` (the limiter gives each one its own): shared counters then apply its reservation and its
settlement each at most once, however often they are sent (a retry after a lost answer), and keep
a settlement they could not send to apply it later (``stellwerk.governance.redis_counters``).

Held amounts belong to the process that holds them and cannot outlive it: in process they die
with the process (the month's counters are seeded from the ledger at the next start); in Redis
they are kept per gateway instance and count only while that instance is alive (a liveness key
it refreshes), so the reservations of a replica that was killed disappear once its liveness key
expires.

The month's counters start at the ledger's spend (``seed``), and the counters remember that they
were seeded (``seeded``, ``mark_seeded``). In process that happens once, at the start. Shared
counters can be emptied under a running gateway (Redis restarted without persistence, flushed,
failed over to an empty replica): they then count nothing until the gateway's ``seeder`` (given
with ``seed_with``) has seeded them again, so no request counts from zero meanwhile.

This module is the seam only: policy counts through it and holds no state. The counters
themselves are state and live in governance: ``InProcessCounters``
(``stellwerk.governance.counters``) serves one gateway process; ``RedisCounters``
(``stellwerk.governance.redis_counters``) lets several replicas share the same counters.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Charge:
    """Add ``amount`` to counter ``key`` if it stays within ``limit`` (``None``: count it, never
    refuse); the counter expires ``ttl_s`` seconds from now (a window's remaining length plus
    some grace for settling)."""

    key: str
    amount: int
    limit: int | None
    ttl_s: int
    held: bool = False


@dataclass(frozen=True, slots=True)
class Refused:
    """A reservation refused: the index of the first charge that would exceed its limit, and
    that counter's value the refusal was decided on (held amounts of live processes included),
    which a refusal's message names: read later, requests settled meanwhile would have changed
    it, and the message could contradict itself."""

    index: int
    value: int


class Counters(ABC):
    @abstractmethod
    async def reserve(self, charges: Sequence[Charge], ident: str = "") -> Refused | None:
        """All-or-nothing: add every charge and return ``None``, or add none and say which
        charge would exceed its limit (``Refused``). ``ident``: the reservation's own name
        (``""``: none), under which a repeated ``reserve`` adds nothing more."""

    @abstractmethod
    async def settle(self, entries: Sequence[tuple[str, int, int]], ident: str = "") -> None:
        """For each ``(key, held, used)``: take ``held`` off what this process holds under
        ``key`` and add ``used`` (which may be negative) to the counter, all in one step; an
        ended window is left alone, and counters never go below zero. ``ident``: the
        reservation's, given to ``reserve``: its settlement is applied once at most."""

    @abstractmethod
    async def value(self, key: str) -> int:
        """The current value, held amounts of live processes included (0 for a counter that
        does not exist)."""

    @abstractmethod
    async def seed(self, key: str, value: int, ttl_s: int) -> bool:
        """Set a counter that does not exist yet (this month's spend from the ledger at a start
        with in-process counters or an emptied Redis); returns whether it was set."""

    @abstractmethod
    async def seeded(self) -> bool:
        """Whether the month's counters were seeded from the ledger since they were last
        emptied (``mark_seeded``)."""

    @abstractmethod
    async def mark_seeded(self) -> None:
        """Record that the month's counters are seeded (after every ``seed`` of the month)."""

    def seed_with(self, seeder: Callable[[], Awaitable[None]]) -> None:
        """``seeder`` seeds the month's counters from the ledger and marks them seeded; counters
        that can be emptied under a running gateway call it when they find themselves unseeded
        (in process they cannot be: nothing to do)."""
        return None

    async def keep_alive(self) -> None:
        """Run while the gateway serves: keep this process's held amounts alive (in process
        there is nothing to do)."""
        return None

    async def close(self) -> None:
        """Release connections; the in-process counters hold none."""
        return None
