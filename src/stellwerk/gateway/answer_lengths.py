"""Keeps the router's view of each model's answer length in step with the ledger.

Every ``router.answer_refresh_s`` a background task reads the mean answer length of each model
from the ledger's daily rollups (in a thread) and hands it to the selector; a decision reads only
what the last refresh left there, so no request waits for the database. A failed read keeps the
previous lengths.
"""

from __future__ import annotations

import asyncio
import logging

from stellwerk.config.schema import RouterConfig
from stellwerk.gateway.selection import Selector
from stellwerk.ledger.in_thread import in_thread
from stellwerk.ledger.ledger import Ledger
from stellwerk.ledger.outage import OutageLog

log = logging.getLogger("stellwerk.gateway")


class AnswerLengths:
    def __init__(self, ledger: Ledger, selector: Selector, config: RouterConfig) -> None:
        self.ledger = ledger
        self.selector = selector
        self.config = config
        self._outage = OutageLog("answer lengths")

    def read(self) -> dict[str, int]:
        """Each model's mean answer tokens, for models with enough recent requests."""
        return self.ledger.answer_lengths(
            days=self.config.answer_window_days, min_requests=self.config.answer_min_requests
        )

    async def refresh(self) -> None:
        """Read the lengths and give them to the selector; on failure keep the previous ones."""
        try:
            lengths = await in_thread(self.read)
        except Exception as exc:
            if not self._outage.failed(exc):
                log.exception("could not read the models' answer lengths; keeping the last ones")
            return
        self._outage.answered()
        self.selector.measured(lengths)

    async def run(self) -> None:
        """Background loop: refresh every ``answer_refresh_s`` (the first after one interval:
        start-up refreshes once before serving)."""
        while True:
            await asyncio.sleep(self.config.answer_refresh_s)
            await self.refresh()
