"""Whether a replica's governance snapshot is known to be out of date: it was told of a change
(a notice from another replica or the CLI, ``governance.notices``) that it has not read.

A notice says only "read again"; the replica does not know what changed: a key revoked, a
budget lowered, a consent withdrawn, a model retired. Once it knows that it missed one it
cannot tell which of its answers the change would forbid, so it refuses them all (security over
availability) until a read that began after the notice succeeded:

    current --(a notice's read failed, or it has not finished within ACK_WAIT_S)--> stale
    stale   --(a read that began after the newest notice succeeded)-------------> current

While stale, the model APIs answer 503 ``governance_stale`` (``errors.GovernanceStale``),
``/readyz`` is not ready (its ``governance`` part says why) and ``stellwerk_governance_stale``
is 1; the replica has not acknowledged the notice, so the replica that announced the change
counts it in ``not_acknowledged``. Its background refresh (``governance.refresh_seconds``) reads
again until it succeeds; then it acknowledges the notices it holds and serves again. One
WARNING when a stale period begins and one INFO when it ends, whatever the requests between.

Without a notice nothing is stale: a replica whose database is unreachable while nothing
changed serves on its snapshot (docs/reliability.md), for it knows of no change it lacks.

The notices are numbered as they come (``received``); a read takes the number of the newest
before it starts (``reading``): one that succeeds has every change announced up to then.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime

from stellwerk.errors import GovernanceStale
from stellwerk.governance.notice_acks import ACK_WAIT_S
from stellwerk.ledger.outage import describe, unreachable

log = logging.getLogger("stellwerk.governance")

#: What a refused request is told.
MESSAGE = (
    "this replica could not read a governance change announced by another replica (its"
    " database did not answer) and refuses requests until it has; it tries again every"
    " governance.refresh_seconds: send the request again shortly, or to another replica"
)


class Staleness:
    """The notices one replica received and the reads of its snapshot that followed them."""

    def __init__(
        self, *, grace_s: float = ACK_WAIT_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._grace_s = grace_s
        self._clock = clock
        self._lock = threading.Lock()
        self._received = 0  # notices received so far, numbered 1, 2, ...
        self._applied = 0  # the newest notice a successful read began after
        self._failed = 0  # the newest notice whose read failed
        self._arrived: deque[tuple[int, float]] = deque()  # (notice, clock) not yet applied
        self._error: str | None = None  # why the newest failed read failed
        self._since: float | None = None  # wall time the stale period began (None: current)

    def received(self) -> int:
        """A notice came: its number, to give ``failed`` if its read fails."""
        with self._lock:
            self._received += 1
            self._arrived.append((self._received, self._clock()))
            return self._received

    def reading(self) -> int:
        """A read of the snapshot begins: the newest notice it will have read if it succeeds."""
        with self._lock:
            return self._received

    def applied(self, notice: int) -> None:
        """A read that began after ``notice`` (``reading``) succeeded."""
        with self._lock:
            if notice <= self._applied:
                return
            self._applied = notice
            while self._arrived and self._arrived[0][0] <= notice:
                self._arrived.popleft()
            if self._since is not None and not self._stale():
                log.info(
                    "governance: the announced change is read after %.0fs; serving again",
                    time.time() - self._since,
                )
                self._since, self._error = None, None

    def failed(self, notice: int, exc: BaseException) -> None:
        """The read that followed ``notice`` failed with ``exc``: stale from now."""
        with self._lock:
            self._failed = max(self._failed, notice)
            self._error = describe(exc)
            self._check(exc)

    @property
    def stale(self) -> bool:
        """Whether a notice is known not to be read (its read failed or is late)."""
        with self._lock:
            return self._check(None)

    def since(self) -> datetime | None:
        """When the stale period now began (``None`` while current)."""
        with self._lock:
            self._check(None)
            return None if self._since is None else datetime.fromtimestamp(self._since, UTC)

    def error(self) -> str | None:
        """Why the replica is stale, for ``/readyz`` (never the database's own words: the log
        has them); ``None`` while current."""
        with self._lock:
            if not self._check(None):
                return None
            if self._failed > self._applied:
                why = "its read failed"
                if self._error is not None:
                    why += f" ({self._error.partition(':')[0]})"
            else:
                why = f"its read has not finished within {self._grace_s}s"
            return (
                f"a governance change announced by another replica is not read: {why}; model"
                " requests are refused with 503 governance_stale until a read succeeds (tried"
                " every governance.refresh_seconds)"
            )

    def check(self) -> None:
        """Raise the 503 of a stale replica (``GovernanceStale``); nothing while current."""
        if self.stale:
            raise GovernanceStale(MESSAGE)

    def _stale(self) -> bool:
        if self._applied >= self._received:
            return False
        if self._failed > self._applied:
            return True
        return bool(self._arrived) and self._clock() - self._arrived[0][1] > self._grace_s

    def _check(self, exc: BaseException | None) -> bool:
        """Whether stale now; logs the start of a stale period once (the lock is held)."""
        stale = self._stale()
        if stale and self._since is None:
            self._since = time.time()
            why = (
                f"its read failed ({self._error})"
                if self._failed > self._applied
                else f"its read has not finished within {self._grace_s}s"
            )
            bug = exc is not None and not unreachable(exc)
            log.warning(
                "governance: a change announced by another replica is not read: %s; refusing"
                " model requests with 503 governance_stale and not ready until a read succeeds"
                " (tried every governance.refresh_seconds)",
                why,
                exc_info=exc if bug else None,
            )
        return stale
