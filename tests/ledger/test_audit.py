"""The audit log keeps every governance change and refuses to forget or rewrite one."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, text
from sqlalchemy.exc import DBAPIError

from stellwerk.errors import InvalidRequest
from stellwerk.ledger.audit import append_audit
from stellwerk.ledger.audit_read import AuditFilter
from stellwerk.ledger.ledger import Ledger, open_ledger
from stellwerk.ledger.tables import audit_log
from stellwerk.ledger.window import Window

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def fill(ledger: Ledger) -> None:
    ledger.append_audit(
        actor="config",
        action="reload",
        target_kind="config",
        target="stellwerk.yaml",
        config_hash="abc123",
        time=T0,
    )
    ledger.append_audit(
        actor="key-admin-1",
        action="lifecycle",
        target_kind="model",
        target="mistral-8b",
        details={"from": "in_review", "to": "approved", "why": "evaluation passed"},
        time=T0 + timedelta(hours=1),
    )
    ledger.append_audit(
        actor="cli:anna",
        action="revoke",
        target_kind="key",
        target="key-7",
        details={"department": "legal"},
        time=T0 + timedelta(days=1),
    )


def test_entries_come_back_newest_first_with_their_details(ledger: Ledger) -> None:
    fill(ledger)
    entries = ledger.list_audit()
    assert [e.action for e in entries] == ["revoke", "lifecycle", "reload"]
    assert entries[1].details == {"from": "in_review", "to": "approved", "why": "evaluation passed"}
    assert entries[1].time == T0 + timedelta(hours=1)
    assert entries[2].config_hash == "abc123"
    assert entries[0].id > entries[1].id > entries[2].id


@pytest.mark.parametrize(
    ("filters", "actions"),
    [
        ({"actor": "cli:anna"}, ["revoke"]),
        ({"target_kind": "model", "target": "mistral-8b"}, ["lifecycle"]),
        ({"action": "reload"}, ["reload"]),
        ({"window": Window(T0, T0 + timedelta(hours=2))}, ["lifecycle", "reload"]),
        ({"limit": 1}, ["revoke"]),
        ({"target": "nothing"}, []),
        # a target as the log prints it (kind:name), or its name alone
        ({"target": "model:mistral-8b"}, ["lifecycle"]),
        ({"target": "mistral-8b"}, ["lifecycle"]),
        ({"target": "key:mistral-8b"}, []),
        ({"target": "key:key-7"}, ["revoke"]),
    ],
)
def test_filters(ledger: Ledger, filters: dict[str, object], actions: list[str]) -> None:
    fill(ledger)
    assert [e.action for e in ledger.list_audit(**filters)] == actions  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_log SET actor = 'someone-else'",
        "UPDATE audit_log SET details = '{}' WHERE action = 'lifecycle'",
        "DELETE FROM audit_log",
        "DELETE FROM audit_log WHERE actor = 'cli:anna'",
    ],
)
def test_updates_and_deletes_are_refused_by_the_database(ledger: Ledger, statement: str) -> None:
    fill(ledger)
    before = ledger.list_audit()
    with pytest.raises(DBAPIError, match="append-only"), ledger.begin() as connection:
        connection.execute(text(statement))
    assert ledger.list_audit() == before


@pytest.mark.postgres
def test_truncate_is_refused_on_postgres(pg_schema_url: str) -> None:
    ledger = open_ledger(pg_schema_url)
    try:
        fill(ledger)
        with pytest.raises(DBAPIError, match="append-only"), ledger.begin() as connection:
            connection.execute(text("TRUNCATE audit_log"))
        assert len(ledger.list_audit()) == 3
    finally:
        ledger.close()


@pytest.mark.parametrize(
    ("kwargs", "param"),
    [
        ({"actor": " "}, "actor"),
        ({"action": "Bad Action"}, "action"),
        ({"target_kind": ""}, "target_kind"),
        ({"target": ""}, "target"),
        ({"details": {"when": datetime(2026, 1, 1)}}, "details"),
        ({"details": {"x": float("nan")}}, "details"),
        ({"time": datetime(2026, 1, 1)}, "time"),
        # a lone surrogate: PostgreSQL cannot store it, SQLite's could not be sent as UTF-8
        ({"actor": "key-\ud800"}, "actor"),
        ({"target": "x\udfff.yaml"}, "target"),
        ({"details": {"reason": "\ud800"}}, "details"),
        ({"details": {"changes": [{"\udc80": 1}]}}, "details"),
    ],
)
def test_bad_entries_are_refused_and_nothing_is_written(
    ledger: Ledger, kwargs: dict[str, object], param: str
) -> None:
    entry: dict[str, object] = {
        "actor": "config",
        "action": "reload",
        "target_kind": "config",
        "target": "x.yaml",
    }
    with pytest.raises(InvalidRequest) as caught:
        ledger.append_audit(**{**entry, **kwargs})  # type: ignore[arg-type]
    assert caught.value.param == param
    assert ledger.list_audit() == []


def test_an_older_entry_with_a_lone_surrogate_reads_back_escaped(sqlite_url: str) -> None:
    """SQLite took an entry with a lone surrogate before ``append_audit`` refused one (JSON keeps
    it as the escape ``\\ud800``); it reads back as that text, in keys and lists too, so that
    every reader can show it (PostgreSQL never stored one)."""
    ledger = open_ledger(sqlite_url)
    try:
        with ledger.engine.begin() as connection:
            connection.execute(
                insert(audit_log).values(
                    time=T0,
                    actor="key-admin-1",
                    action="key.create",
                    target_kind="key",
                    target="key-7",
                    details={"reason": "a\ud800b", "\udfff": ["\udc80", 1]},
                )
            )
        (entry,) = ledger.list_audit()
        assert dict(entry.details) == {"reason": "a\\ud800b", "\\udfff": ["\\udc80", 1]}
        assert json.dumps(dict(entry.details), ensure_ascii=False).encode()  # UTF-8 can carry it
    finally:
        ledger.close()


def test_a_name_with_a_colon_is_found_by_its_name_and_as_printed(ledger: Ledger) -> None:
    ledger.append_audit(actor="config", action="x", target_kind="usage", target="ns:thing")
    for asked in ("ns:thing", "usage:ns:thing"):
        assert [e.target for e in ledger.list_audit(target=asked)] == ["ns:thing"], asked


def test_pages_after_a_cursor_give_the_whole_log_once_oldest_first(ledger: Ledger) -> None:
    """More entries than a page (and than the newest-first limit of 10,000 would matter for):
    walking the pages from 0 gives each entry once, in the order they were written, and an entry
    written while walking comes at the end."""
    with ledger.begin() as connection:
        for n in range(2500):
            append_audit(
                connection,
                actor="cli:anna" if n % 2 else "key-admin-1",
                action="key.create",
                target_kind="key",
                target=f"key-{n}",
                time=T0 + timedelta(seconds=n),
            )
    everything = AuditFilter()
    first = ledger.audit_page(everything, after=0, limit=1000)
    assert [e.target for e in first.entries[:2]] == ["key-0", "key-1"]
    assert first.next_after == first.entries[-1].id
    seen = [e.target for e in ledger.iter_audit(everything, page=1000)]
    assert seen == [f"key-{n}" for n in range(2500)]
    # an exact page: the cursor says there is nothing after it
    whole = ledger.audit_page(everything, after=0, limit=2500)
    assert len(whole.entries) == 2500 and whole.next_after is None
    last = ledger.audit_page(everything, after=whole.entries[-1].id, limit=1000)
    assert last.entries == [] and last.next_after is None
    ledger.append_audit(actor="config", action="config.load", target_kind="config", target="y")
    (late,) = ledger.audit_page(everything, after=whole.entries[-1].id, limit=5).entries
    assert late.target == "y"
    anna = AuditFilter(Window(T0 + timedelta(seconds=1000), None), actor="cli:anna")
    assert ledger.count_audit(anna) == 750
    names = [e.target for e in ledger.iter_audit(anna, page=100)]
    assert names == [f"key-{n}" for n in range(1001, 2500, 2)]


@pytest.mark.parametrize(
    ("since", "until", "param", "message"),
    [
        ("yesterday", None, "since", "since 'yesterday' is not an ISO 8601 date or time"),
        (None, "2026-13-01", "until", "until '2026-13-01' is not an ISO 8601 date or time"),
        ("2026-12-02", "2026-12-01", "until", "until 2026-12-01T00:00:00+00:00 is before since"),
        ("0001-01-01T00:00+01:00", None, "since", "is out of the supported range"),
    ],
)
def test_a_window_of_two_times_names_the_side_it_refuses(
    since: str | None, until: str | None, param: str, message: str
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        Window.between(since, until)
    assert caught.value.param == param
    assert message in caught.value.message


def test_a_window_of_two_times_is_utc_and_takes_dates_and_offsets() -> None:
    eight = datetime(2026, 12, 1, 8, tzinfo=UTC)
    window = Window.between("2026-12-01", "2026-12-01T10:00:00+02:00")
    assert window == Window(datetime(2026, 12, 1, tzinfo=UTC), eight)
    assert Window.between("2026-12-01T08:00:00Z", None).start == eight
    assert Window.between(None, "2026-12-01T08:00:00").end == eight


@pytest.mark.parametrize(("after", "limit", "param"), [(-1, 10, "after"), (0, 0, "limit")])
def test_a_page_is_asked_within_bounds(ledger: Ledger, after: int, limit: int, param: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        ledger.audit_page(AuditFilter(), after=after, limit=limit)
    assert caught.value.param == param
