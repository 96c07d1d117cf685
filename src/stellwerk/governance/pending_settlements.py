"""The settlements a replica could not send to Redis, kept to be applied once Redis answers.

A request that ends while Redis is away (a stream in flight across an outage, a flapping
network) has been answered and recorded in the ledger; its budget reservation is still held in
Redis. Its settlement (take the reservation off, add the real cost) is kept here, in the
replica, with what the request really used, and ``RedisCounters`` applies it when Redis answers
again (its liveness renewal, every second while Redis fails) and tries once more at a clean stop.
The settlement script is applied once at most per reservation (``RedisCounters``), so a kept
settlement whose first attempt did reach Redis (its answer lost with the connection) is not
charged twice.

A reservation whose outcome the replica does not know (Redis ran it, perhaps, but its answer was
lost and the one retry failed too; or the request was cancelled while it was sent) is undone the
same way: a settlement of nothing (``undo``) under its name, kept here and applied when Redis
answers. It releases the reservation if Redis had run it, and does nothing if Redis had not.

The store is bounded (``MAX_PENDING``): past it, a settlement is dropped and counted; the log
says so once. Outages are logged once each way, not per request: how many settlements were kept
when they are applied, how many were dropped, and at a stop what could not be applied.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass

log = logging.getLogger("stellwerk.limits")

#: The most settlements a replica keeps while Redis fails (a few hundred bytes each).
MAX_PENDING = 100_000


@dataclass(frozen=True, slots=True)
class Settlement:
    """One settlement script's call: its keys and arguments, as they were to be sent."""

    keys: tuple[str, ...]
    args: tuple[int | str, ...]
    undo: bool = False  # a reservation whose outcome is unknown, undone (nothing used)


class PendingSettlements:
    """Settlements waiting for Redis, oldest first (called on the gateway's event loop)."""

    def __init__(self, bound: int = MAX_PENDING) -> None:
        self._bound = bound
        self._waiting: deque[Settlement] = deque()
        self._dropped = 0
        self._kept = 0  # since the last time they were all applied
        self._void = 0  # of those, found applied already (or forgotten by an emptied Redis)
        self._undone = 0  # undone reservations since then (not in ``_kept``)
        self._released = 0  # of those, found held (Redis had run them): released

    def __len__(self) -> int:
        return len(self._waiting)

    def keep(self, settlement: Settlement) -> None:
        if len(self._waiting) >= self._bound:
            if not self._dropped:
                log.error(
                    "%d settlements wait for Redis, the most this replica keeps: the costs of"
                    " the requests that end from now until Redis answers are missing from the"
                    " month's budget counters (docs/governance.md, The budget guarantee)",
                    self._bound,
                )
            self._dropped += 1
            return
        self._waiting.append(settlement)
        if settlement.undo:
            self._undone += 1
        else:
            self._kept += 1

    def first(self) -> Settlement | None:
        return self._waiting[0] if self._waiting else None

    def done(self, applied: bool) -> None:
        """The first one was sent: ``applied``, or found applied already (its first attempt
        reached Redis) or forgotten by an emptied Redis (whose seeding counted its record); an
        undone reservation is ``applied`` when Redis had run it (its hold is released now)."""
        settlement = self._waiting.popleft()
        if settlement.undo:
            self._released += applied
        else:
            self._void += not applied
        if self._waiting:
            return
        if self._undone:
            log.log(
                logging.WARNING if self._released else logging.INFO,
                "%d reservations whose outcome was unknown (their answer lost with Redis, or"
                " their request cancelled) were undone; %d of them had reached Redis and their"
                " holds are released now",
                self._undone,
                self._released,
            )
        if self._kept:
            void = f" ({self._void} had reached Redis before or were counted by a seeding)"
            log.warning(
                "Redis failed as %d requests ended: their settlements were kept by this replica"
                " and are applied now, so their budget reservations are replaced by their costs%s",
                self._kept,
                void if self._void else "",
            )
        if self._dropped:
            log.error("%d settlements were dropped while Redis failed", self._dropped)
        self._kept = self._dropped = self._void = self._undone = self._released = 0

    def abandoned(self) -> None:
        """The replica stops with settlements it could not apply: say what is lost."""
        if self._waiting or self._dropped:
            log.error(
                "stopping with %d settlements Redis did not take (and %d dropped): the costs of"
                " those requests are missing from the month's budget counters until they are"
                " seeded from the ledger again (docs/governance.md, The budget guarantee)",
                len(self._waiting),
                self._dropped,
            )
