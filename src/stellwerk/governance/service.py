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
from datetime import UTC, datetime

from stellwerk.config.schema import StellwerkConfig
from stellwerk.errors import CountersUnavailable
from stellwerk.governance.admin import Administration, Evaluated
from stellwerk.governance.budgets import UNLIMITED
from stellwerk.governance.counters import InProcessCounters
from stellwerk.governance.snapshot import Snapshot, read_snapshot
from stellwerk.ledger.graded import GradedStore
from stellwerk.ledger.in_thread import in_thread
from stellwerk.ledger.ledger import Ledger
from stellwerk.ledger.window import Window
from stellwerk.policy.counters import Counters
from stellwerk.policy.limits import Limiter, department_scope, key_scope

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
    ) -> None:
        self.admin = Administration(ledger, config, evaluated=evaluated, config_hash=config_hash)
        self.snapshot = Snapshot.empty(config)
        self.counters = counters if counters is not None else InProcessCounters()
        self.limiter = Limiter(self.counters)

    def start(self) -> None:
        """Seed the catalog and use cases from the config, audit a config change, load."""
        self.admin.seed()
        self.reload()

    def reload(self) -> None:
        """Read a new snapshot and swap it in (requests in flight keep the one they took)."""
        self.snapshot = read_snapshot(self.admin)

    async def refresh(self) -> None:
        await in_thread(self.reload)

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

    async def seed_month_spend(self, now: datetime | None = None) -> None:
        """Start this month's spend counter of every department and key at its spend in the
        ledger, so that a restart (in-process counters) or an emptied Redis does not forget it.
        Counters that exist already are left alone: they have counted every request, whatever
        limits were in force (``stellwerk.policy.limits``), so a budget set later needs no
        seeding."""
        try:
            await self._seed_month_spend(now or datetime.now(UTC))
        except CountersUnavailable:
            log.exception("could not seed the budget counters; requests get 503 until they work")

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
