"""Where routed requests wait for their feedback: the seam, and how the config picks one.

A routed request goes through these states in its store (by request id, for its key only)::

    started ──> finishing ──> ended: an entry (answered, status 200) ──> graded, expired
       │         (the backend's     └─> ended without one (failed, cut): gone
       │          stream is done;
       │          its last events go out)
       └──────> ended (a plain answer: accounted before it is sent)

``find`` tells a feedback call which state its request is in (``Found``). A request that is
``finishing`` has ended from its client's side (it may hold ``data: [DONE]`` already) but is not
accounted yet: ``find`` waits for it, up to ``FINISH_WAIT_S``, so that feedback sent at once
after the end of a stream is not told that the request is still running.

Entries are bounded in time (``router.feedback_window_s``: an entry older than that is gone) and
in number (``router.feedback_max_pending``), fairly: past the bound, the key holding the most
entries gives up its oldest, so one key's traffic never pushes out another key's entries while
it holds more than they do. A request pushed out is remembered (its id and key, within the
window and the same bound) so that its feedback is told so, not that it is unknown.

``InProcessPending`` (``pending_memory``) keeps them in this process: a feedback must reach the
replica that answered. ``RedisPending`` (``pending_redis``) keeps them in the Redis the replicas
share (``server.redis_url``), so that any replica takes feedback for any replica's request.
What an entry holds, and why it may be in Redis: docs/router.md, "Feedback and where graded
requests are kept".
"""

from __future__ import annotations

import asyncio
import enum
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass

from stellwerk.gateway.pending import Pending

#: How long a feedback call waits for a request that is finishing (its stream's last events sent
#: or being sent) to be accounted; it takes milliseconds unless the gateway is overloaded.
FINISH_WAIT_S = 5.0
_POLL_S = 0.02


class State(enum.Enum):
    READY = "ready"
    """Answered and accounted: its ``Pending`` entry may be graded."""
    RUNNING = "running"
    """Under way: its answer has not ended."""
    FINISHING = "finishing"
    """Its answer has ended (a stream's last events are going out); not accounted yet."""
    EVICTED = "evicted"
    """Pushed out for room (``router.feedback_max_pending``) within the window."""
    UNKNOWN = "unknown"
    """Unknown, not routed, not answered, another key's, or older than the window."""


@dataclass(frozen=True, slots=True)
class Found:
    state: State
    entry: Pending | None = None


class PendingStore(ABC):
    """Routed requests that may still get feedback (see the module docstring)."""

    shared: bool = False
    """Every replica sees the same entries (Redis), not only this process."""

    def __init__(self, window_s: float, max_entries: int) -> None:
        self.window_s = window_s
        self.max_entries = max_entries

    @property
    def on(self) -> bool:
        """Feedback is taken (a window and a bound above zero)."""
        return self.window_s > 0 and self.max_entries > 0

    @abstractmethod
    async def started(self, request_id: str, key_id: str) -> None:
        """``key_id``'s routed request ``request_id`` is under way."""

    @abstractmethod
    async def finishing(self, request_id: str, key_id: str) -> None:
        """Its backend's stream has ended; its last events go to the client now."""

    @abstractmethod
    async def ended(self, request_id: str, entry: Pending | None) -> None:
        """It was accounted: ``entry`` if it may be graded (answered, status 200), else None."""

    @abstractmethod
    async def lookup(self, request_id: str, key_id: str) -> Found:
        """Its state now, as ``key_id`` may know it (another key's request is ``UNKNOWN``)."""

    async def close(self) -> None:  # noqa: B027 - nothing to close in process
        """Let go of what the store holds outside the process (its Redis connections)."""

    async def find(self, request_id: str, key_id: str, *, wait_s: float = FINISH_WAIT_S) -> Found:
        """``lookup``, waiting up to ``wait_s`` for a request that is finishing."""
        deadline = time.monotonic() + wait_s
        found = await self.lookup(request_id, key_id)
        while found.state is State.FINISHING and time.monotonic() < deadline:
            await asyncio.sleep(_POLL_S)
            found = await self.lookup(request_id, key_id)
        return found
