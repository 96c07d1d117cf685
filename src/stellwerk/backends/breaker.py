"""A circuit breaker per backend: a dead backend is skipped at once instead of waited for.

closed --(N failures in a row, or a failed probe)--> open
open --(cooldown over: one trial request)--> half_open --(success)--> closed
                                                       \\--(failure)--> open
open --(health probe answers)--> closed
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal

State = Literal["closed", "open", "half_open"]


class CircuitBreaker:
    def __init__(
        self, failures: int, cooldown_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.threshold = failures
        self.cooldown_s = cooldown_s
        self.clock = clock
        self.state: State = "closed"
        self.failures = 0
        self.opened_at = 0.0
        self.trial_running = False
        self.trial_started = 0.0

    def allow(self) -> bool:
        """May a request go to this backend now? Counts as the trial when half open."""
        if self.state == "closed":
            return True
        if self.state == "open":
            if self.clock() - self.opened_at < self.cooldown_s:
                return False
            self.state = "half_open"
        now = self.clock()
        if self.trial_running and now - self.trial_started < self.cooldown_s:
            return False  # one trial at a time; a trial that never reported is retried later
        self.trial_running = True
        self.trial_started = now
        return True

    def not_sent(self) -> None:
        """A request ``allow`` let through was never sent (the backend could not take it): the
        state stays as it is, and a trial it was is free for the next request."""
        self.trial_running = False

    def success(self) -> None:
        self.state = "closed"
        self.failures = 0
        self.trial_running = False

    def failure(self) -> None:
        self.failures += 1
        if self.state == "half_open" or self.failures >= self.threshold:
            self.trip()

    def trip(self) -> None:
        self.state = "open"
        self.opened_at = self.clock()
        self.trial_running = False

    @property
    def code(self) -> int:
        """For the metrics gauge: 0 closed, 1 half open, 2 open."""
        return {"closed": 0, "half_open": 1, "open": 2}[self.state]
