"""Graded requests and router versions in the ledger, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import delete, update
from sqlalchemy.exc import DBAPIError

from stellwerk.errors import Conflict, NotFound
from stellwerk.ledger.graded import Graded, GradedStore
from stellwerk.ledger.graded_tables import router_versions
from stellwerk.ledger.ledger import Ledger
from stellwerk.routing.adapt import GradedRecord


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
    assert records[0] == _graded("r0").record
    assert len(store.records("v1", limit=2)) == 2


def test_versions_are_appended_audited_and_cannot_be_changed(ledger: Ledger) -> None:
    store = GradedStore(ledger)
    assert store.current("v1") is None
    with pytest.raises(NotFound):
        store.roll_back("v1", actor="cli:ops")
    first = store.promote("v1", b"blob", actor="cli:ops", details={"promoted": True})
    back = store.roll_back("v1", actor="cli:ops")
    current = store.current("v1")
    assert current is not None and current.id == back.id and current.correction is None
    assert back.details == {"rollback_to": 0, "rolled_back": first.id, "previous": first.id}
    assert [e.action for e in ledger.list_audit()] == ["router.rollback", "router.adapt"]
    for statement in (update(router_versions).values(actor="x"), delete(router_versions)):
        with pytest.raises(DBAPIError), ledger.begin() as connection:
            connection.execute(statement)
