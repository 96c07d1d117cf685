"""What makes a replica's governance stale and current again (``governance.staleness``), on an
injected clock: a read that began before a notice does not make the replica current (it lacks
the change), and a notice whose read hangs (a database that does not answer) makes it stale
once the announcer stopped waiting, not only one whose read failed."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import OperationalError

from stellwerk.errors import GovernanceStale
from stellwerk.governance.staleness import Staleness


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _outage() -> OperationalError:
    return OperationalError("SELECT 1", {}, Exception("connection refused"))


def test_only_a_read_begun_after_the_failed_notice_makes_the_replica_current() -> None:
    staleness = Staleness(clock=Clock())
    begun_before = staleness.reading()  # the refresh loop's read, already under way
    notice = staleness.received()
    staleness.failed(notice, _outage())
    with pytest.raises(GovernanceStale):
        staleness.check()
    staleness.applied(begun_before)  # it finished, without the change
    assert staleness.stale
    assert "its read failed (OperationalError)" in (staleness.error() or "")
    staleness.applied(staleness.reading())  # the next refresh
    assert not staleness.stale and staleness.error() is None and staleness.since() is None
    staleness.check()


def test_a_notice_whose_read_hangs_makes_the_replica_stale_after_the_grace() -> None:
    clock = Clock()
    staleness = Staleness(grace_s=2.0, clock=clock)
    notice = staleness.received()  # its read does not return
    clock.now += 1.9
    assert not staleness.stale  # an ordinary read: no refusal while it runs
    clock.now += 0.2
    assert staleness.stale
    assert "has not finished within 2.0s" in (staleness.error() or "")
    staleness.applied(notice)
    assert not staleness.stale
