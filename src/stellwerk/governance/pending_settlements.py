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
While Redis is away every request's reservation fails so, most of them never sent: the undone
ones are bounded apart (``MAX_UNDONE``), so that they never take the place of a settlement.

The store is bounded (``MAX_PENDING``): past it, a settlement is dropped and counted; the log
says so once. Outages are logged once each way, not per request: how many settlements were kept
when they are applied, how many were dropped, and at a stop what could not be applied.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass
from itertools import islice

log = logging.getLogger("stellwerk.limits")

#: The most settlements a replica keeps while Redis fails (a few hundred bytes each).
MAX_PENDING = 100_000
#: The most undone reservations it keeps besides them (``Settlement.undo``).
MAX_UNDONE = 10_000


@dataclass(frozen=True, slots=True)
class Settlement:
    """One settlement script's call: its keys and arguments, as they were to be sent."""

    keys: tuple[str, ...]
    args: tuple[int | str, ...]
    undo: bool = False  # a reservation whose outcome is unknown, undone (nothing used)


class PendingSettlements:
    """Settlements waiting for Redis, oldest first (called on the gateway's event loop)."""

    def __init__(self, bound: int = MAX_PENDING, undo_bound: int = MAX_UNDONE) -> None:
        self._bounds = {False: bound, True: undo_bound}
        self._waiting: deque[Settlement] = deque()
        self._count = {False: 0, True: 0}  # waiting now: settlements, undone reservations
        # since the last time they were all applied: kept, dropped, and of those kept, found
        # void (a settlement applied before or forgotten by an emptied Redis; an undone
        # reservation Redis never ran)
        self._kept = {False: 0, True: 0}
        self._dropped = {False: 0, True: 0}
        self._void = {False: 0, True: 0}

    def __len__(self) -> int:
        return len(self._waiting)

    def keep(self, settlement: Settlement) -> None:
        undo = settlement.undo
        if self._count[undo] >= self._bounds[undo]:
            if not self._dropped[undo]:
                log.error(_FULL[undo], self._bounds[undo])
            self._dropped[undo] += 1
            return
        self._waiting.append(settlement)
        self._count[undo] += 1
        self._kept[undo] += 1

    def first(self, count: int) -> list[Settlement]:
        """The ``count`` oldest ones (fewer when fewer wait), left waiting until ``done``."""
        return list(islice(self._waiting, count))

    def done(self, applied: bool) -> None:
        """The first one was sent: ``applied``, or found void: applied already (its first
        attempt reached Redis) or forgotten by an emptied Redis (whose seeding counted its
        record); an undone reservation Redis had never run."""
        undo = self._waiting.popleft().undo
        self._count[undo] -= 1
        self._void[undo] += not applied
        if self._waiting:
            return
        if self._kept[False]:
            void = f" ({self._void[False]} had reached Redis before or were counted by a seeding)"
            log.warning(
                "Redis failed as %d requests ended: their settlements were kept by this replica"
                " and are applied now, so their budget reservations are replaced by their costs%s",
                self._kept[False],
                void if self._void[False] else "",
            )
        if self._kept[True]:  # nothing to act on: a hold they left is gone now
            log.info(
                "%d reservations whose outcome was unknown (their answer lost as Redis failed,"
                " or their request cancelled) were undone: %d of them had run in Redis, and"
                " their holds are released now",
                self._kept[True],
                self._kept[True] - self._void[True],
            )
        for undo, what in ((False, "settlements"), (True, "undone reservations")):
            if self._dropped[undo]:
                log.error("%d %s were dropped while Redis failed", self._dropped[undo], what)
        for counts in (self._kept, self._dropped, self._void):
            counts[False] = counts[True] = 0

    def abandoned(self) -> None:
        """The replica stops with settlements it could not apply: say what is lost."""
        if self._count[False] or self._dropped[False]:
            log.error(
                "stopping with %d settlements Redis did not take (and %d dropped): the costs of"
                " those requests are missing from the month's budget counters until they are"
                " seeded from the ledger again (docs/governance.md, The budget guarantee)",
                self._count[False],
                self._dropped[False],
            )


_FULL = {
    False: "%d settlements wait for Redis, the most this replica keeps: the costs of the"
    " requests that end from now until Redis answers are missing from the month's budget"
    " counters (docs/governance.md, The budget guarantee)",
    True: "%d reservations whose outcome is unknown wait for Redis to be undone, the most this"
    " replica keeps: one that Redis ran and that is dropped from now on stays held until this"
    " replica stops (docs/governance.md, Limits and budgets)",
}
