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
  a request reserves in with the snapshot's limits (``Snapshot.scopes``). Their month counters
  start at the ledger's spend (``ensure_seeded``): at the start, and, with Redis, again whenever
  the counters find themselves emptied under the running gateway (checked on every refresh, when
  Redis answers again after failing, and inside every reservation).

A notice this replica could not read (its database unreachable) makes its snapshot known to be
out of date (``staleness``): the notice is not acknowledged, the model APIs refuse (503
``governance_stale``) and the replica is not ready until a read succeeds; the background refresh
reads again every ``refresh_seconds``, and the read that succeeds acknowledges the notices held.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from stellwerk.config.schema import StellwerkConfig
from stellwerk.errors import CountersUnavailable
from stellwerk.governance.admin import Administration, Evaluated
from stellwerk.governance.counters import InProcessCounters
from stellwerk.governance.notices import Announcement, Notices
from stellwerk.governance.redis_pool import rest
from stellwerk.governance.snapshot import Snapshot, read_snapshot
from stellwerk.governance.staleness import Staleness
from stellwerk.ledger.graded import GradedStore
from stellwerk.ledger.in_thread import in_thread
from stellwerk.ledger.ledger import Ledger
from stellwerk.ledger.outage import OutageLog
from stellwerk.ledger.window import Window
from stellwerk.policy.counters import Counters
from stellwerk.policy.limits import UNLIMITED, Limiter, department_scope, key_scope

log = logging.getLogger("stellwerk.governance")

#: Seconds a seeding of shared counters waits before it reads the ledger: the records the
#: replicas' ledger writers hold are written within ``flush_interval_ms`` (200 ms).
SEED_DELAY_S = 0.5
#: After a seeding failed, the next one is tried no sooner than this many seconds later: the
#: requests meanwhile get their 503 at once instead of each waiting for a failing ledger.
SEED_RETRY_S = 1.0


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
        seed_delay_s: float = 0.0,
        key_hashes: Mapping[str, str] | None = None,
    ) -> None:
        self.admin = Administration(
            ledger, config, evaluated=evaluated, config_hash=config_hash, key_hashes=key_hashes
        )
        self.snapshot = Snapshot.empty(config)
        self.counters = counters if counters is not None else InProcessCounters()
        self.limiter = Limiter(self.counters)
        self.counters.seed_with(self.ensure_seeded)
        self._seed_delay_s = seed_delay_s
        self._seeding = asyncio.Lock()  # one seeding at a time in this gateway
        self._seed_attempts = 0
        self._seed_failed_at: float | None = None  # time.monotonic() of the last failure
        self._seed_outage = OutageLog("budget counters' seeding")
        self.notices = notices if notices is not None else Notices()
        self._reloading = threading.Lock()  # one read at a time, swapped in the order read
        self.staleness = Staleness()  # a notice not read: the model APIs refuse meanwhile
        self._listeners: list[Callable[[], None]] = []

    def start(self, actor: str = "config") -> None:
        """Seed the catalog and use cases from the config, audit a config change (loaded by
        ``actor``), load; when the seeding added a model or a use case, announce it as any
        change is (``changed``), so the replicas already running read it now, not at their next
        poll."""
        if self.admin.seed(actor):
            self.changed()
        else:
            self.reload()

    def reload(self) -> None:
        """Read a new snapshot and swap it in (requests in flight keep the one they took), then
        tell the ``on_swap`` listeners. Called from any thread."""
        with self._reloading:
            notice = self.staleness.reading()
            self.snapshot = read_snapshot(self.admin)
        self.staleness.applied(notice)
        for listener in self._listeners:
            listener()

    def changed(self) -> Announcement:
        """After a change made through this object: reload, then announce it to the other
        replicas and wait (at most ``notices.ACK_WAIT_S``) until they have read it too; how
        many did not (told to the administrator). Called in a worker thread (the admin API, the
        dashboard) or by the CLI."""
        self.reload()
        return self.notices.publish()

    def on_swap(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` (in the thread that reloaded) after every new snapshot."""
        self._listeners.append(listener)

    async def refresh(self) -> None:
        await in_thread(self.reload)

    async def follow(self) -> None:
        """Reload on every change notice from another replica or the CLI, until cancelled."""
        await self.notices.listen(self._on_notice)

    async def _on_notice(self, announced: bool) -> bool:
        """Read the snapshot again for a change ``announced`` by another replica (or, not
        announced, for what may have changed while the listener did not listen); whether the
        snapshot is current now (the listener acknowledges the notices only then). An announced
        change this read fails to get makes the replica stale (``staleness``)."""
        notice = self.staleness.received() if announced else None
        try:
            await self.refresh()
        except Exception as exc:
            if notice is None:
                log.warning("governance reload after listening again failed (%s)", exc)
            else:
                self.staleness.failed(notice, exc)  # logged there, once a stale period
            return False
        return not self.staleness.stale

    async def run(self, refresh_seconds: float, retention_every_s: float = 24 * 3600) -> None:
        """Background loop: reload the snapshot, expire usage records and graded requests once
        a day."""
        since_retention = retention_every_s  # run once at start
        outage = OutageLog("governance refresh")
        while True:
            await self.ensure_seeded()  # an emptied Redis (one EXISTS a round otherwise)
            try:
                await self.refresh()
                outage.answered()
                if self.notices.held and not self.staleness.stale:
                    await in_thread(self.notices.acknowledge_held)  # notices read late
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
            await rest(refresh_seconds)  # a cancel redis-py took in ends the loop here
            since_retention += refresh_seconds

    async def seed_month_spend(self, now: datetime | None = None) -> None:
        """At the start: seed this month's spend counters from the ledger unless they are
        seeded already (``ensure_seeded``)."""
        await self.ensure_seeded(now)

    async def ensure_seeded(self, now: datetime | None = None) -> None:
        """Unless the counters say they are seeded (in process: once this process seeded them;
        in Redis: ``<redis_prefix>seeded`` exists), start this month's spend counter of every
        department and key at its spend in the ledger, then mark them seeded. So a start with
        in-process counters, a start on an emptied Redis and a Redis emptied under the running
        gateway all count the month's spend so far.

        A counter that exists already is left alone: it has counted every request since the
        last seeding, whatever limits were in force (``stellwerk.policy.limits``), so a budget
        set later needs no seeding; and unseeded Redis counters refuse every reservation
        (``stellwerk.governance.redis_counters``), so none of them counted from zero. Before
        reading the ledger it waits ``seed_delay_s`` (Redis: 0.5 s), for the records the
        replicas' ledger writers hold (``flush_interval_ms``, 200 ms) to be written.

        One seeding at a time per gateway; callers that waited for one in progress take its
        outcome. Never raises: a failure (Redis or the ledger unreachable) is logged once per
        outage, and the counters stay unseeded (their reservations get 503) until a later call
        (the next refresh, the next request, no sooner than ``SEED_RETRY_S`` after the failure)
        succeeds."""
        failed_at = self._seed_failed_at
        if failed_at is not None and time.monotonic() - failed_at < SEED_RETRY_S:
            return
        attempt = self._seed_attempts
        async with self._seeding:
            if attempt != self._seed_attempts:
                return  # one ran while this call waited
            self._seed_attempts += 1
            try:
                if await self.counters.seeded():
                    self._seed_failed_at = None
                    return
                await asyncio.sleep(self._seed_delay_s)
                spent = await self._seed_month_spend(now or datetime.now(UTC))
                await self.counters.mark_seeded()
            except CountersUnavailable:  # Redis's own error is logged once, by its health
                self._seed_failed_at = time.monotonic()
                return
            except Exception as exc:
                self._seed_failed_at = time.monotonic()
                if not self._seed_outage.failed(exc):
                    log.exception("could not seed the budget counters from the ledger")
                return
            self._seed_failed_at = None
            self._seed_outage.answered()
            log.info("budget counters seeded from the ledger: %d departments and keys", spent)

    async def _seed_month_spend(self, moment: datetime) -> int:
        """Seed the counters that do not exist yet; how many departments and keys spent."""
        window = Window.month(moment.strftime("%Y-%m"))
        by_department, by_key = await in_thread(lambda: self.admin.month_spend(window))
        for department, spent in by_department.items():
            await self.limiter.seed_spent(department_scope(department, UNLIMITED), spent)
        for key_id, spent in by_key.items():
            await self.limiter.seed_spent(key_scope(key_id, None), spent)
        return len(by_department) + len(by_key)

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
