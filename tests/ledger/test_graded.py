"""Graded requests and router versions in the ledger, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, insert, update
from sqlalchemy.exc import DBAPIError

from stellwerk.errors import Conflict, NotFound
from stellwerk.ledger.audit import append_audit
from stellwerk.ledger.graded import Graded, GradedStore
from stellwerk.ledger.graded_tables import router_versions
from stellwerk.ledger.job_lock import job_lock
from stellwerk.ledger.ledger import Ledger, open_ledger
from stellwerk.routing.graded_record import GradedRecord


def _graded(request_id: str, source: str = "feedback", base_version: str = "v1") -> Graded:
    record = GradedRecord(
        latent=(0.6, 0.8), base={"a": 0.4, "b": 0.7}, grades={"a": 1.0}, stats=(12.0,), task="t"
    )
    return Graded(
        request_id=request_id,
        source=source,
        time=datetime.now(UTC),
        department="research",
        key_id="research-1",
        route="auto",
        base_version=base_version,
        model="a",
        record=record,
    )


def test_records_come_back_oldest_first_per_artifact_once_per_source(ledger: Ledger) -> None:
    store = GradedStore(ledger)
    for i in range(4):
        store.add(_graded(f"r{i}"))
    store.add(_graded("r0", source="shadow"))  # another source may grade it too
    store.add(_graded("x", base_version="v2"))
    with pytest.raises(Conflict):
        store.add(_graded("r1"))
    records = store.records("v1")
    assert len(records) == 5 and store.count("v1") == 5
    # with the department that asked (an adaptation reports its gain per department)
    assert records[0] == replace(_graded("r0").record, department="research")
    assert len(store.records("v1", limit=2)) == 2


def test_versions_are_appended_audited_and_cannot_be_changed(ledger: Ledger) -> None:
    store = GradedStore(ledger)
    assert store.current("v1") is None
    with pytest.raises(NotFound):
        store.roll_back("v1", actor="cli:ops", reason="test")
    first = store.promote("v1", b"blob", actor="cli:ops", details={"promoted": True})
    back = store.roll_back("v1", actor="cli:ops", reason="test")
    current = store.current("v1")
    assert current is not None and current.id == back.id and current.correction is None
    assert back.details == {
        "rollback_to": 0,
        "rolled_back": first.id,
        "correction_of": 0,
        "previous": first.id,
        "newest_record": 0,  # no graded request yet
        "reason": "test",
    }
    assert [e.action for e in ledger.list_audit()] == ["router.rollback", "router.adapt"]
    for statement in (update(router_versions).values(actor="x"), delete(router_versions)):
        with pytest.raises(DBAPIError), ledger.begin() as connection:
            connection.execute(statement)


def test_a_rollback_names_the_promotion_whose_correction_it_restores(ledger: Ledger) -> None:
    """Rolled back to a rollback, or read from a row written before rollbacks named it: the
    version in use is the promotion whose correction it carries (the one decisions name)."""
    store = GradedStore(ledger)
    one = store.promote("v1", b"one", actor="cli:ops", details={"promoted": True})
    two = store.promote("v1", b"two", actor="cli:ops", details={"promoted": True})
    assert store.correction_of(two) == two.id
    store.roll_back("v1", 0, actor="cli:ops", reason="test")  # 3: the base
    four = store.roll_back("v1", one.id, actor="cli:ops", reason="test")
    assert four.correction == b"one" and four.details["correction_of"] == one.id
    store.roll_back("v1", 0, actor="cli:ops", reason="test")  # 5: the base
    six = store.roll_back("v1", four.id, actor="cli:ops", reason="test")
    assert six.correction == b"one" and six.details["correction_of"] == one.id
    assert store.correction_of(store.current("v1")) == one.id
    # a rollback row as older versions wrote it: only the version it went back to
    with ledger.begin() as connection:
        connection.execute(
            insert(router_versions).values(
                time=datetime.now(UTC),
                base_version="v1",
                actor="cli:ops",
                correction=b"one",
                details={"rollback_to": six.id, "rolled_back": 6, "previous": 6},
            )
        )
    legacy = store.current("v1")
    assert legacy is not None and legacy.id == 7 and store.correction_of(legacy) == one.id
    assert store.correction_of(None) == 0


def test_after_a_rollback_adaptation_learns_from_the_records_that_came_after_it(
    ledger: Ledger,
) -> None:
    """The window starts at the newest rollback (to the base or to an earlier version alike), a
    later promotion leaves it, the next rollback moves it; a rollback row written before
    rollbacks named their newest record starts it at the newest record of its time."""
    store = GradedStore(ledger)
    for i in range(3):
        store.add(_graded(f"a{i}"))
    assert store.learning_window("v1") is None  # never rolled back: every record
    store.promote("v1", b"one", actor="cli:ops", details={"promoted": True})
    back = store.roll_back("v1", 0, actor="cli:ops", reason="test")  # 2: the base
    window = store.learning_window("v1")
    assert window is not None and (window.rollback, window.after) == (back.id, 3)
    assert store.records("v1", after=window.after) == []
    assert store.count("v1", after=window.after) == 0 and store.count("v1", up_to=3) == 3
    for i in range(2):
        store.add(_graded(f"b{i}"))
    assert len(store.records("v1", after=window.after)) == 2
    store.promote("v1", b"two", actor="cli:ops", details={"promoted": True})  # 3
    assert store.learning_window("v1") == window  # a promotion does not end it
    store.add(_graded("c0"))
    again = store.roll_back("v1", 1, actor="cli:ops", reason="test")  # 4: version 1's correction
    moved = store.learning_window("v1")
    assert moved is not None and (moved.rollback, moved.after) == (again.id, 6)
    assert store.count("v1", after=moved.after) == 0
    with ledger.begin() as connection:  # a rollback as older versions wrote it
        connection.execute(
            insert(router_versions).values(
                time=datetime.now(UTC),
                base_version="v1",
                actor="cli:ops",
                correction=None,
                details={"rollback_to": 0, "rolled_back": 4, "previous": 4},
            )
        )
    store.add(_graded("d0"))
    legacy = store.learning_window("v1")
    assert legacy is not None and (legacy.rollback, legacy.after) == (5, 6)
    assert store.learning_window("v2") is None


def _refused(store: GradedStore, to: int | None, message: str) -> None:
    """``roll_back(to)`` is refused with ``message`` and appends and audits nothing."""
    versions, entries = store.versions("v1"), store.ledger.list_audit()
    with pytest.raises(Conflict, match=re.escape(message)):
        store.roll_back("v1", to, actor="cli:ops", reason="test")
    assert store.versions("v1") == versions and store.ledger.list_audit() == entries


def test_a_rollback_to_the_correction_in_use_is_refused_and_nothing_audited(
    ledger: Ledger,
) -> None:
    store = GradedStore(ledger)
    store.promote("v1", b"one", actor="cli:ops", details={"promoted": True})
    _refused(store, 1, "rollback to version 1: version 1's correction is in use already")
    store.roll_back("v1", 0, actor="cli:ops", reason="test")  # 2: the base
    for to in (0, 2):
        _refused(store, to, f"rollback to version {to}: the base router alone is in use already")
    store.roll_back("v1", 1, actor="cli:ops", reason="test")  # 3: version 1's correction again
    for to in (1, 3):
        _refused(
            store,
            to,
            f"rollback to version {to}: version 1's correction is in use already (current"
            " version 3); nothing to roll back",
        )
    assert [v.id for v in store.versions("v1")] == [3, 2, 1]


def test_adaptations_are_every_run_of_an_artifact_newest_first(ledger: Ledger) -> None:
    """Promoted or not (a run that promotes nothing is only audited), by artifact."""
    store = GradedStore(ledger)
    assert store.adaptations("v1") == [] and store.last_adaptation("v1") is None
    with ledger.begin() as connection:
        for records in (5, 40):
            append_audit(
                connection,
                actor="cli:ops",
                action="router.adapt",
                target_kind="router",
                target="v1",
                details={"promoted": False, "records": records, "version": None},
            )
    store.promote("v1", b"blob", actor="cli:ops", details={"promoted": True, "records": 90})
    store.promote("v2", b"blob", actor="cli:ops", details={"promoted": True, "records": 7})
    store.roll_back("v1", actor="cli:ops", reason="test")
    runs = store.adaptations("v1")
    assert [(e.details["promoted"], e.details["records"]) for e in runs] == [
        (True, 90),
        (False, 40),
        (False, 5),
    ]
    assert [e.details["records"] for e in store.adaptations("v1", limit=2)] == [90, 40]
    assert store.last_adaptation("v1") == runs[0]


def _aged(request_id: str, days: float, base_version: str = "v1") -> Graded:
    graded = _graded(request_id, base_version=base_version)
    return replace(graded, time=NOW - timedelta(days=days))


NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def test_retention_deletes_old_records_and_keeps_the_newest_per_artifact(ledger: Ledger) -> None:
    store = GradedStore(ledger)
    for i, days in enumerate((400, 200, 30, 20, 10, 1)):
        store.add(_aged(f"a{i}", days))
    for i in range(3):
        store.add(_aged(f"b{i}", 5, base_version="v2"))
    assert store.expire(days=None, keep=None, now=NOW) == 0
    # older than 180 days: the first two of v1
    assert store.expire(days=180, keep=None, now=NOW) == 2
    assert len(store.records("v1")) == 4
    # the newest two per artifact: two more of v1, one of v2
    assert store.expire(days=180, keep=2, now=NOW) == 3
    assert store.count("v1") == 2 and store.count("v2") == 2
    assert store.newest_id("v1") > 0 and store.newest_id("nothing") == 0
    entries = ledger.list_audit(action="graded.expire")
    assert [e.details["deleted"] for e in entries] == [3, 2]  # audited, newest first
    assert entries[0].details["keep"] == 2 and entries[0].actor == "retention"


def test_the_job_lock_has_one_holder_at_a_time(any_db_url: str) -> None:
    first, second = open_ledger(any_db_url), open_ledger(any_db_url)
    try:
        with job_lock(first, "router.adapt:v1") as held:
            assert held
            with job_lock(second, "router.adapt:v1") as also:
                assert not also  # another replica holds it: skip the round
            with job_lock(second, "router.adapt:v2") as other:
                # another artifact's lock is free on PostgreSQL; SQLite has one lock per file
                assert other == (first.dialect == "postgresql")
        with job_lock(second, "router.adapt:v1") as held:
            assert held  # released when the block ended
    finally:
        first.close()
        second.close()
