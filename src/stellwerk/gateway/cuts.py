"""Requests already running when governance takes away what they run on: the cut.

A request is checked against the policy when it starts (``stellwerk.policy.filter``). Two changes
also end the requests already running:

    change                                running requests                 record
    its model's data owner withdraws      cut: the model serves no         403 consent_withdrawn
      consent (or the data owner of       request while it is withdrawn
      another id of the same weights)
    its key is revoked (perhaps stolen)   cut: a stolen key must stop      401 key_revoked
                                          now, not after a long stream
    its model is retired or deprecated,   not cut: they finish; new        (as they end)
      a budget or a use case changes      requests follow the change

A request being cut that still waits for its answer (a plain one, or a stream before its first
chunk) gets the refusal instead (403 or 401, in its API's error format); a stream already
answering ends with its API's error event naming the reason, and its record keeps the tokens
received so far (``stellwerk.gateway.stream_end``). Other replicas cut theirs when they read the
change: at once on its notice with Redis, else at their poll (``governance.refresh_seconds``).

Cheap on the request path: a request registers one ``Watch`` while it runs; every chunk of a
stream reads one attribute (``Watch.cut``, in ``StreamEnd``). The work is done on a governance
change instead: after every snapshot swap (``Governance.on_swap``, in whatever thread reloaded)
the event loop ``sweep``s the running requests, one set lookup each against the new snapshot.
A stream that waits for its backend's next chunk is cut when that chunk arrives (a backend that
sends nothing more is ended by its ``timeouts``); a wait for an answer is cut at once (its
deadline moved to now).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from stellwerk.errors import AuthenticationFailed, PermissionDenied, RequestError
from stellwerk.gateway.calls import Call
from stellwerk.governance.service import Governance
from stellwerk.governance.snapshot import Snapshot
from stellwerk.policy.weights import why_withdrawn


class Watch:
    """One running request as the cuts see it; ``cut`` is set once a change ends it."""

    __slots__ = ("_waiting", "call", "cut")

    def __init__(self, call: Call) -> None:
        self.call = call
        self.cut: RequestError | None = None
        self._waiting: asyncio.Timeout | None = None

    def end(self, cut: RequestError) -> None:
        self.cut = cut
        if self._waiting is not None:  # a wait for an answer ends now
            self._waiting.reschedule(asyncio.get_running_loop().time())

    @asynccontextmanager
    async def waiting(self) -> AsyncIterator[None]:
        """Around a wait for an answer: a cut meanwhile ends the wait with the cut's error."""
        try:
            async with asyncio.timeout(None) as deadline:
                self._waiting = deadline
                if self.cut is not None:
                    deadline.reschedule(asyncio.get_running_loop().time())
                yield
        except TimeoutError as exc:
            if self.cut is None:
                raise
            raise self.cut from exc
        finally:
            self._waiting = None


class Cuts:
    """The requests running in this gateway, cut when a governance change forbids them."""

    def __init__(self, governance: Governance) -> None:
        self._governance = governance
        self._running: set[Watch] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        governance.on_swap(self._swapped)

    def watch(self, call: Call) -> Watch:
        """Register a request that is about to call its model (checked against the snapshot at
        once: a change that came between its permit and now counts)."""
        if self._loop is None:  # the gateway's one event loop, for sweeps from other threads
            self._loop = asyncio.get_running_loop()
        watch = Watch(call)
        self._running.add(watch)
        cut = cut_by(self._governance.snapshot, call)
        if cut is not None:
            watch.end(cut)
        return watch

    def done(self, watch: Watch) -> None:
        self._running.discard(watch)

    def _swapped(self) -> None:
        loop = self._loop
        if loop is None or not self._running:
            return
        with contextlib.suppress(RuntimeError):  # a closed loop: nothing runs any more
            loop.call_soon_threadsafe(self.sweep)

    def sweep(self) -> None:
        """Cut every running request the current snapshot forbids (on the event loop)."""
        snapshot = self._governance.snapshot
        for watch in list(self._running):
            if watch.cut is None:
                cut = cut_by(snapshot, watch.call)
                if cut is not None:
                    watch.end(cut)


def cut_by(snapshot: Snapshot, call: Call) -> RequestError | None:
    """What ends ``call`` under ``snapshot``: its key revoked, or its model's consent
    withdrawn (or that of another id serving the same weights); None if it may go on."""
    principal, model = call.principal, call.model
    if principal is not None and principal.key_id not in snapshot.key_ids:
        return AuthenticationFailed(
            f"key {principal.key_id!r} was revoked while this request ran; it was ended",
            code="key_revoked",
        )
    withdrawn = None if model is None else snapshot.withdrawn.get(model.id)
    if model is not None and withdrawn is not None:
        return PermissionDenied(
            f"model {model.id!r} stopped serving this request:"
            f" {why_withdrawn(model.id, withdrawn, 'withdrew consent while it ran')}",
            code="consent_withdrawn",
        )
    return None
