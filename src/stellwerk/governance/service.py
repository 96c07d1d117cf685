"""The governance of one running gateway (or one CLI command) over one ledger, in three parts:

- ``admin`` (``Administration``): what an administrator changes (catalog, keys, use cases,
  limits), written to the database and audited;
- ``snapshot`` (``Snapshot``): what a request reads, immutable, read from ``admin``'s stores and
  swapped whole after every change made through this object (``changed``), on every change
  notice from another replica or the CLI (``notices``, with Redis) and every ``refresh_seconds``
  in the background (the fallback), so a revocation, a consent withdrawal or a use case's new
  classification made here takes effect on the next request, and one made elsewhere too once
  its notice was acknowledged (with Redis), else within ``refresh_seconds``. Reloads run one at
  a time (a slow read never overwrites a newer one), and each swap tells the ``on_swap``
  listeners (the gateway cuts running requests a change forbids: ``stellwerk.gateway.cuts``);
- ``limiter`` over ``counters``: the rate limit and budget counters (in process or Redis), which
  a request reserves in with the snapshot's limits (``Snapshot.scopes``).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from stellwerk.config.schema import StellwerkConfig
from stellwerk.errors import CountersUnavailable
from stellwerk.governance.admin import Administration, Evaluated
from stellwerk.governance.counters import InProcessCounters
from stellwerk.governance.notices import Notices
from stellwerk.governance.snapshot import Snapshot, read_snapshot
from stellwerk.ledger.graded import GradedStore
from stellwerk.ledger.in_thread import in_thread
from stellwerk.ledger.ledger import Ledger
from stellwerk.ledger.outage import OutageLog
from stellwerk.ledger.window import Window
from stellwerk.policy.counters import Counters
from stellwerk.policy.limits import UNLIMITED, Limiter, department_scope, key_scope

log = logging.getLogger("stellwerk.governance")


class Governance:
    def __init__(
        self,
        ledger: Ledger,
        config: StellwerkConfig,
        *,
        evaluated: Evaluated,
        config_hash: str | None = None,
        counters: Counters | None = None,
        notices: Notices | None = None,
    ) -> None:
        self.admin = Administration(ledger, config, evaluated=evaluated, config_hash=config_hash)
        self.snapshot = Snapshot.empty(config)
        self.counters = counters if counters is not None else InProcessCounters()
        self.limiter = Limiter(self.counters)
        self.notices = notices if notices is not None else Notices()
        self._reloading = threading.Lock()  # one read at a time, swapped in the order read
        self._listeners: list[Callable[[], None]] = []

    def start(self) -> None:
        """Seed the catalog and use cases from the config, audit a config change, load; when
        the seeding added a model or a use case, announce it as any change is (``changed``), so
        the replicas already running read it now, not at their next poll."""
        if self.admin.seed():
            self.changed()
        else:
            self.reload()

    def reload(self) -> None:
        """Read a new snapshot and swap it in (requests in flight keep the one they took), then
        tell the ``on_swap`` listeners. Called from any thread."""
        with self._reloading:
            self.snapshot = read_snapshot(self.admin)
        for listener in self._listeners:
            listener()

    def changed(self) -> None:
        """After a change made through this object: reload, then announce it to the other
        replicas and wait (at most ``notices.ACK_WAIT_S``) until they have read it too. Called
        in a worker thread (the admin API, the dashboard) or by the CLI."""
        self.reload()
        self.notices.publish()

    def on_swap(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` (in the thread that reloaded) after every new snapshot."""
        self._listeners.append(listener)

    async def refresh(self) -> None:
        await in_thread(self.reload)

    async def follow(self) -> None:
        """Reload on every change notice from another replica or the CLI, until cancelled."""
        await self.notices.listen(self._on_notice)

    async def _on_notice(self) -> None:
        try:
            await self.refresh()
        except Exception:
            log.exception("governance reload on a change notice failed; keeping the snapshot")

    async def run(self, refresh_seconds: float, retention_every_s: float = 24 * 3600) -> None:
        """Background loop: reload the snapshot, expire usage records and graded requests once
        a day."""
        since_retention = retention_every_s  # run once at start
        outage = OutageLog("governance refresh")
        while True:
            try:
                await self.refresh()
                outage.answered()
                if since_retention >= retention_every_s:
                    since_retention = 0.0
                    expiry = await in_thread(self.admin.expire)
                    if expiry.total:
                        log.info("retention: %d usage records expired", expiry.total)
                    graded = await in_thread(self.expire_graded)
                    if graded:
                        log.info("retention: %d graded requests expired", graded)
            except Exception as exc:
                if not outage.failed(exc):
                    log.exception("governance refresh failed; keeping the previous snapshot")
            await asyncio.sleep(refresh_seconds)
            since_retention += refresh_seconds

    async def seed_month_spend(self, now: datetime | None = None) -> None:
        """Start this month's spend counter of every department and key at its spend in the
        ledger, so that a restart (in-process counters) or an emptied Redis does not forget it.
        Counters that exist already are left alone: they have counted every request, whatever
        limits were in force (``stellwerk.policy.limits``), so a budget set later needs no
        seeding."""
        try:
            await self._seed_month_spend(now or datetime.now(UTC))
        except CountersUnavailable:  # Redis's own error is logged once, by its health
            log.warning("could not seed the budget counters; requests get 503 until they work")

    async def _seed_month_spend(self, moment: datetime) -> None:
        window = Window.month(moment.strftime("%Y-%m"))
        by_department, by_key = await in_thread(lambda: self.admin.month_spend(window))
        for department, spent in by_department.items():
            await self.limiter.seed_spent(department_scope(department, UNLIMITED), spent)
        for key_id, spent in by_key.items():
            await self.limiter.seed_spent(key_scope(key_id, None), spent)

    def expire_graded(self, now: datetime | None = None) -> int:
        """Delete the graded requests past ``router.graded_retention_days`` / ``_max``."""
        rules = self.admin.config.router
        if rules.graded_retention_days is None and rules.graded_retention_max is None:
            return 0
        return GradedStore(self.admin.ledger).expire(
            days=rules.graded_retention_days,
            keep=rules.graded_retention_max,
            now=now or datetime.now(UTC),
            config_hash=self.admin.config_hash,
        )
