from __future__ import annotations

import pytest


class FakeClock:
    """A settable clock (seconds since the epoch) for window tests."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    # 2026-11-25 10:00:30 UTC: mid-minute, mid-month
    return FakeClock(1795600830.0)
