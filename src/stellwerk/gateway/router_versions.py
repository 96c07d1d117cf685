"""The gateway follows the learned router's versions in the ledger (``learning.online``).

At start the newest version of the router's artifact is put on it; then, at every governance
refresh (``governance.refresh_seconds``), a newer version (``stellwerk router adapt`` or
``rollback``, from any process or replica) replaces it. Decisions made from then on use it and
name the promotion whose correction it carries: ``router: learned:<artifact>+<version>``, where a
rollback names the version it restored (``+1`` for a rollback to version 1's correction, no
suffix for one to the base alone), so that a suffix always means the same correction.
"""

from __future__ import annotations

import asyncio
import logging

from stellwerk.learning.online import use_current
from stellwerk.ledger.graded import GradedStore
from stellwerk.ledger.in_thread import in_thread
from stellwerk.ledger.ledger import Ledger
from stellwerk.ledger.outage import OutageLog
from stellwerk.routing.base import Router
from stellwerk.routing.learned import LearnedRouter

log = logging.getLogger("stellwerk.gateway")


class RouterVersions:
    def __init__(self, router: Router, ledger: Ledger) -> None:
        self.router = router if isinstance(router, LearnedRouter) else None
        self.store = GradedStore(ledger)
        self.current: int | None = None
        """The id of the newest version row, in use (0: none stored yet); None: not loaded."""

    def load(self) -> None:
        """Use the newest version, if it is not the one in use already."""
        if self.router is None:
            return
        newest = self.store.current(self.router.version)
        newest_id = 0 if newest is None else newest.id
        if newest_id != self.current:
            use_current(self.router, self.store)
            if self.current is not None:
                log.info(
                    "router %s: now version %d (routing with %s)",
                    self.router.version,
                    newest_id,
                    f"version {self.router.adapted}'s correction"
                    if self.router.adapted
                    else "the base alone",
                )
            self.current = newest_id

    async def run(self, every_s: float) -> None:
        outage = OutageLog("router versions")
        while True:
            await asyncio.sleep(every_s)
            try:
                await in_thread(self.load)
            except Exception as exc:  # any: a database error once ended this loop for good
                if not outage.failed(exc):
                    log.exception("could not load the router's newest version; keeping the current")
            else:
                outage.answered()
