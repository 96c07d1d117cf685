"""Pending feedback entries in this process's memory (one gateway, or replicas without Redis).

Each key's entries are in order of arrival; past ``max_entries`` in all, the key holding the
most gives up its oldest (``PendingStore``'s fair bound), remembered as pushed out. Requests under
way and those pushed out are kept by id and key only, each bounded as the entries are.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import TypeVar

from stellwerk.gateway.pending import Pending
from stellwerk.gateway.pending_store import Found, PendingStore, State


class InProcessPending(PendingStore):
    def __init__(
        self,
        window_s: float,
        max_entries: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(window_s, max_entries)
        self._clock = clock
        self._by_key: dict[str, OrderedDict[str, tuple[Pending, float]]] = {}
        self._count = 0
        # id: (key, since, finishing)
        self._running: OrderedDict[str, tuple[str, float, bool]] = OrderedDict()
        self._evicted: OrderedDict[str, tuple[str, float]] = OrderedDict()  # id: (key, when)

    def __len__(self) -> int:
        return self._count

    async def started(self, request_id: str, key_id: str) -> None:
        if not self.on:
            return
        now = self._clock()
        self._running[request_id] = (key_id, now, False)
        _trim(self._running, self.max_entries, now - self.window_s)

    async def finishing(self, request_id: str, key_id: str) -> None:
        found = self._running.get(request_id)
        if found is not None and found[0] == key_id:
            self._running[request_id] = (key_id, found[1], True)

    async def ended(self, request_id: str, entry: Pending | None) -> None:
        self._running.pop(request_id, None)
        if entry is None or not self.on:
            return
        now = self._clock()
        self._expire(entry.key_id, now)
        self._by_key.setdefault(entry.key_id, OrderedDict())[request_id] = (entry, now)
        self._count += 1
        if self._count > self.max_entries:
            for key in list(self._by_key):
                self._expire(key, now)
        while self._count > self.max_entries:
            self._evict_one(now)

    async def lookup(self, request_id: str, key_id: str) -> Found:
        now = self._clock()
        self._expire(key_id, now)
        entries = self._by_key.get(key_id)
        held = entries.get(request_id) if entries is not None else None
        if held is not None:
            return Found(State.READY, held[0])
        running = self._running.get(request_id)
        if running is not None and running[0] == key_id and now - running[1] < self.window_s:
            return Found(State.FINISHING if running[2] else State.RUNNING)
        evicted = self._evicted.get(request_id)
        if evicted is not None and evicted[0] == key_id and now - evicted[1] < self.window_s:
            return Found(State.EVICTED)
        return Found(State.UNKNOWN)

    def _expire(self, key_id: str, now: float) -> None:
        entries = self._by_key.get(key_id)
        if entries is None:
            return
        while entries and now - next(iter(entries.values()))[1] >= self.window_s:
            entries.popitem(last=False)
            self._count -= 1
        if not entries:
            del self._by_key[key_id]

    def _evict_one(self, now: float) -> None:
        """The oldest entry of the key holding the most (of those, the one waiting longest)."""
        key = max(self._by_key, key=lambda k: (len(self._by_key[k]), -_oldest(self._by_key[k])))
        entries = self._by_key[key]
        request_id, _ = entries.popitem(last=False)
        self._count -= 1
        if not entries:
            del self._by_key[key]
        self._evicted[request_id] = (key, now)
        _trim(self._evicted, self.max_entries, now - self.window_s)


def _oldest(entries: OrderedDict[str, tuple[Pending, float]]) -> float:
    return next(iter(entries.values()))[1]


_Since = TypeVar("_Since", tuple[str, float], tuple[str, float, bool])  # (key, since, ...)


def _trim(ordered: OrderedDict[str, _Since], bound: int, before: float) -> None:
    """Drop ``ordered``'s oldest items past ``bound`` and those from before ``before``."""
    while ordered and (len(ordered) > bound or next(iter(ordered.values()))[1] <= before):
        ordered.popitem(last=False)
