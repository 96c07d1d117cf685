"""Scheduled adaptation: the gateway adapts the learned router on its own (``adapt_every_s``).

Every check (``router.adapt_every_s``, at most the governance refresh), each replica tries the
ledger's job lock ``router.adapt:<artifact>``: one replica at a time holds it, the others skip
the round. The holder reads where the router last changed or was judged (``last_mark``): the
newest ``router.adapt`` audit entry of the artifact (by command or on schedule, promoted or not)
and the newest rollback (``GradedStore.learning_window``). It adapts only when the newer is at
least ``adapt_every_s`` old and at least ``router.adapt_min_new`` graded requests came since the
newest one it read (``newest_record``); so a rollback holds until that many came after it. It
then learns from those alone: the records before the newest rollback are never read again by
the schedule (what was learned from them was rolled back), so it does not promote again what the
admin rolled back. The adaptation is ``online.adapt_stored``, as the command runs it (without
``all_records``), audited the same way with actor
``schedule:<replica>``; a promoted version is put on the router of this replica at once and on
the others at their next refresh (``gateway.router_versions``). Deciding and adapting happen
under the lock, so two replicas never both adapt from the same records; a rollback made while
an adaptation runs is kept (``GradedStore.promote`` refuses to promote over it).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from stellwerk.config.schema import StellwerkConfig
from stellwerk.errors import Conflict
from stellwerk.learning.online import Outcome, adapt_stored, judging
from stellwerk.ledger.graded import GradedStore
from stellwerk.ledger.in_thread import in_thread
from stellwerk.ledger.job_lock import job_lock
from stellwerk.ledger.ledger import Ledger
from stellwerk.routing.base import Router
from stellwerk.routing.learned import LearnedRouter

log = logging.getLogger("stellwerk.gateway")


class AdaptSchedule:
    def __init__(
        self,
        router: LearnedRouter,
        store: GradedStore,
        config: StellwerkConfig,
        *,
        replica: str,
        config_hash: str | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.router = router
        self.store = store
        self.config = config
        self.actor = f"schedule:{replica}"
        self.config_hash = config_hash
        self._clock = clock

    @property
    def every_s(self) -> float:
        return self.config.router.adapt_every_s

    def due(self) -> bool:
        """Whether an adaptation is due now (module docstring); reads the ledger."""
        newest = self.store.newest_id(self.router.version)
        mark = last_mark(self.store, self.router.version)
        seen = 0
        if mark is not None:
            if self._clock() - mark[0] < timedelta(seconds=self.every_s):
                return False
            seen = mark[1]
        return newest - seen >= self.config.router.adapt_min_new

    def run_once(self) -> Outcome | None:
        """Adapt if this replica holds the lock and an adaptation is due; the outcome, or None
        when nothing ran (or a rollback came while it ran: nothing is promoted over it)."""
        with job_lock(self.store.ledger, f"router.adapt:{self.router.version}") as held:
            if not held or not self.due():
                return None
            try:
                return adapt_stored(
                    self.router,
                    self.store,
                    actor=self.actor,
                    config_hash=self.config_hash,
                    judged_at=judging(self.config, self.router),
                )
            except Conflict as exc:
                log.info("scheduled adaptation of the router: %s", exc.message)
                return None

    async def run(self, check_s: float) -> None:
        """Background loop: try ``run_once`` every ``check_s`` seconds."""
        while True:
            await asyncio.sleep(check_s)
            try:
                outcome = await in_thread(self.run_once)
            except Exception:  # a database hiccup must not end the loop
                log.exception("scheduled adaptation of the router failed; trying again later")
                continue
            if outcome is not None:
                log.info(
                    "router %s adapted on schedule: %s%s",
                    self.router.version,
                    f"version {outcome.version.id}" if outcome.version else "not promoted",
                    "".join(f" ({w})" for w in (outcome.why or outcome.window_note,) if w),
                )


def last_mark(store: GradedStore, base_version: str) -> tuple[datetime, int] | None:
    """When the router of ``base_version`` was last adapted (promoted or not) or rolled back,
    and the newest graded record there was then; None: neither ever happened."""
    marks: list[tuple[datetime, int]] = []
    last = store.last_adaptation(base_version)
    if last is not None:
        marks.append((last.time, int(last.details.get("newest_record") or 0)))
    window = store.learning_window(base_version)
    if window is not None:
        marks.append((window.time, window.after))
    if not marks:
        return None
    return max(m[0] for m in marks), max(m[1] for m in marks)


def replica_name() -> str:
    """This process's name in the audit log: host, process id and a random tag (two gateways
    in one process are two replicas)."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


def adapt_schedule(
    config: StellwerkConfig, router: Router, ledger: Ledger, *, config_hash: str | None = None
) -> AdaptSchedule | None:
    """The schedule of a gateway with ``router.adapt_every_s`` set and a learned router; None
    otherwise (adaptation by command only)."""
    if config.router.adapt_every_s <= 0 or not isinstance(router, LearnedRouter):
        return None
    return AdaptSchedule(
        router, GradedStore(ledger), config, replica=replica_name(), config_hash=config_hash
    )
