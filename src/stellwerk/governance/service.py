"""The governance of one running gateway (or one CLI command) over one ledger, in three parts:

- ``admin`` (``Administration``): what an administrator changes (catalog, keys, use cases,
  limits), written to the database and audited;
- ``snapshot`` (``Snapshot``): what a request reads, immutable, read from ``admin``'s stores and
  swapped whole after every change made through this object (``reload``) and every
  ``refresh_seconds`` in the background (changes by other replicas or by the CLI), so a
  revocation, a consent withdrawal or a use case's new classification made here takes effect on
  the next request, and one made elsewhere within ``refresh_seconds``;
- ``limiter`` over ``counters``: the rate limit and budget counters (in process or Redis), which
  a request reserves in with the snapshot's limits (``Snapshot.scopes``).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from datetime import UTC, datetime
from decimal import Decimal

from stellwerk.config.schema import StellwerkConfig
from stellwerk.errors import CountersUnavailable
from stellwerk.governance.admin import Administration, Evaluated
from stellwerk.governance.counters import InProcessCounters
from stellwerk.governance.snapshot import Snapshot, read_snapshot
from stellwerk.ledger.graded import GradedStore
from stellwerk.ledger.in_thread import in_thread
from stellwerk.ledger.ledger import Ledger
from stellwerk.ledger.window import Window
from stellwerk.policy.counters import Counters
from stellwerk.policy.limits import Limiter

log = logging.getLogger("stellwerk.governance")

_SEED_WAIT_S = 30.0  # what a reload from a worker thread waits for the budgets' seeding


class Governance:
    def __init__(
        self,
        ledger: Ledger,
        config: StellwerkConfig,
        *,
        evaluated: Evaluated,
        config_hash: str | None = None,
        counters: Counters | None = None,
    ) -> None:
        self.admin = Administration(ledger, config, evaluated=evaluated, config_hash=config_hash)
        self.snapshot = Snapshot.empty(config)
        self.counters = counters if counters is not None else InProcessCounters()
        self.limiter = Limiter(self.counters)
        # the counter ids of the budgets in force that were seeded from the ledger
        self._seeded: set[str] = set()
        self._seeded_lock = threading.Lock()  # reload() runs in worker threads
        self._loop: asyncio.AbstractEventLoop | None = None  # the gateway's, once it serves

    def start(self) -> None:
        """Seed the catalog and use cases from the config, audit a config change, load."""
        self.admin.seed()
        self.reload()

    def reload(self) -> None:
        """Read a new snapshot and swap it in (requests in flight keep the one they took). Called
        from a worker thread of a running gateway (the admin API, the dashboard), it first seeds
        the budgets the snapshot brings into force (``seed_budgets``)."""
        snapshot = read_snapshot(self.admin)
        loop = self._loop
        if loop is not None and not loop.is_closed() and not _on_loop(loop):
            seeding = asyncio.run_coroutine_threadsafe(self._seed_new(snapshot), loop)
            try:
                seeding.result(timeout=_SEED_WAIT_S)
            except TimeoutError:  # not marked seeded: the next refresh seeds it
                seeding.cancel()
                log.warning("seeding the new budgets took too long; the next refresh does it")
        self._swap(snapshot)

    async def refresh(self) -> None:
        """``reload`` from the event loop: the budgets it brings into force are seeded before
        the new snapshot counts."""
        snapshot = await in_thread(lambda: read_snapshot(self.admin))
        await self._seed_new(snapshot)
        self._swap(snapshot)

    async def run(self, refresh_seconds: float, retention_every_s: float = 24 * 3600) -> None:
        """Background loop: reload the snapshot, expire usage records and graded requests once
        a day."""
        since_retention = retention_every_s  # run once at start
        while True:
            try:
                await self.refresh()
                if since_retention >= retention_every_s:
                    since_retention = 0.0
                    expiry = await in_thread(self.admin.expire)
                    if expiry.total:
                        log.info("retention: %d usage records expired", expiry.total)
                    graded = await in_thread(self.expire_graded)
                    if graded:
                        log.info("retention: %d graded requests expired", graded)
            except Exception:
                log.exception("governance refresh failed; keeping the previous snapshot")
            await asyncio.sleep(refresh_seconds)
            since_retention += refresh_seconds

    async def seed_budgets(self, now: datetime | None = None) -> None:
        """Start this month's counter of every budget in force at the month's spend in the
        ledger (a restart, an emptied Redis); from then on ``reload`` and ``refresh`` do the same
        for every budget that comes into force, so a budget set on a running gateway counts
        what was spent before it, on every replica. A budget is seeded once per change that set
        it (``Limiter.seed_spent``): the first replica to learn of it seeds the shared counter,
        the others find it seeded. A budget that stays in force (a new amount) is not seeded
        again: its counter has counted every request since."""
        self._loop = asyncio.get_running_loop()
        await self._seed_new(self.snapshot, now)

    async def _seed_new(self, snapshot: Snapshot, now: datetime | None = None) -> None:
        # Only a budget that was not in force: one in force has counted every request since.
        with self._seeded_lock:
            new = {i: b for i, b in snapshot.budgets().items() if i not in self._seeded}
        if not new or self._loop is None:
            return
        month = Window.month((now or datetime.now(UTC)).strftime("%Y-%m"))
        by_department, by_key = await in_thread(lambda: self.admin.month_spend(month))
        spend = {f"dept:{d}": v for d, v in by_department.items()}
        spend.update({f"key:{k}": v for k, v in by_key.items()})
        for scope_id, (scope, stamp) in new.items():
            try:
                await self.limiter.seed_spent(scope, spend.get(scope_id, Decimal(0)), stamp)
            except CountersUnavailable:
                log.exception(
                    "could not seed the budget of %s; tried again at the next reload", scope.label
                )
                continue
            with self._seeded_lock:
                self._seeded.add(scope_id)

    def _swap(self, snapshot: Snapshot) -> None:
        in_force = snapshot.budgets()
        with self._seeded_lock:  # a budget that comes back is seeded again
            self._seeded.intersection_update(in_force)
            self.snapshot = snapshot

    def expire_graded(self, now: datetime | None = None) -> int:
        """Delete the graded requests past ``router.graded_retention_days`` / ``_max``."""
        rules = self.admin.config.router
        if rules.graded_retention_days is None and rules.graded_retention_max is None:
            return 0
        return GradedStore(self.admin.ledger).expire(
            days=rules.graded_retention_days,
            keep=rules.graded_retention_max,
            now=now or datetime.now(UTC),
        )


def _on_loop(loop: asyncio.AbstractEventLoop) -> bool:
    """Whether this thread runs ``loop`` (where waiting for it would never end)."""
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False
