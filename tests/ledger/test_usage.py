"""Usage records go in and come back unchanged; windows and departments filter them."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import inspect

from stellwerk.errors import InvalidRequest
from stellwerk.ledger.ledger import Ledger
from stellwerk.ledger.rows import FIELD_NAMES
from stellwerk.ledger.window import Window
from tests.ledger.factory import BASE_TIME, make_record, make_records


def test_records_round_trip_exactly(ledger: Ledger) -> None:
    records = make_records(50)
    ledger.insert_usage(records)
    back = ledger.recent_usage(limit=50)
    assert sorted(back, key=lambda r: r.request_id) == records
    assert all(r.time.tzinfo is UTC for r in back)


def test_usage_table_has_every_record_field_and_no_text_columns(ledger: Ledger) -> None:
    columns = {column["name"] for column in inspect(ledger.engine).get_columns("usage")}
    assert columns == set(FIELD_NAMES)
    assert not columns & {"prompt", "messages", "answer", "content", "text"}


def test_a_retried_batch_is_not_counted_twice(ledger: Ledger) -> None:
    records = make_records(20)
    ledger.insert_usage(records[:15])
    ledger.insert_usage(records)  # the first 15 again, as after a lost commit acknowledgement
    assert ledger.count_usage() == 20


@pytest.mark.parametrize(
    "text",
    ["NULL", "null", "", 'say "hi", {then} \\ go', "a,b", "{}", "Zürich/Genève", " spaced "],
)
def test_text_fields_round_trip_whatever_they_hold(ledger: Ledger, text: str) -> None:
    """PostgreSQL receives a batch as one array per column: no value may read as array syntax."""
    record = make_record(1, department=text, key_id=text, model=text, error_kind=text)
    ledger.insert_usage([record, make_record(2, model=None)])
    back = {r.request_id: r for r in ledger.recent_usage()}
    assert back[record.request_id] == record
    assert back[make_record(2).request_id].model is None


def test_a_nul_in_a_client_given_name_and_whole_numbers_of_energy_are_stored(
    ledger: Ledger,
) -> None:
    """A request may name a model ``"x\u0000y"`` (its 404 is recorded with that name):
    PostgreSQL's text holds no NUL, and the batch failed at every retry, the ledger writing
    nothing more; stored with U+FFFD instead. An int beside floats in one float column (one
    PostgreSQL array) is stored as its float."""
    named = make_record(1, requested_model="x\u0000y", error_kind="model_not_found")
    whole = make_record(2, energy_wh=0, latency_ms=3)
    ledger.insert_usage([named, whole, make_record(3, energy_wh=0.5)])
    back = {r.request_id: r for r in ledger.recent_usage()}
    assert back[named.request_id].requested_model == "x\ufffdy"
    assert (back[whole.request_id].energy_wh, back[whole.request_id].latency_ms) == (0.0, 3.0)
    assert ledger.count_usage() == 3


def test_times_in_other_zones_are_stored_as_the_same_instant(ledger: Ledger) -> None:
    cet = timezone(timedelta(hours=1))
    local = datetime(2026, 11, 30, 23, 30, tzinfo=timezone(timedelta(hours=-5)))
    records = [
        make_record(1, time=datetime(2026, 12, 1, 0, 30, tzinfo=cet)),  # 23:30 UTC on Nov 30
        make_record(2, time=local),  # 04:30 UTC on Dec 1
    ]
    ledger.insert_usage(records)
    assert ledger.count_usage(Window.month("2026-11")) == 1
    assert ledger.count_usage(Window.month("2026-12")) == 1
    back = {r.request_id: r.time for r in ledger.recent_usage()}
    assert back[records[0].request_id] == datetime(2026, 11, 30, 23, 30, tzinfo=UTC)
    assert back[records[1].request_id] == local


def test_count_by_window_and_department(ledger: Ledger) -> None:
    records = make_records(400)
    ledger.insert_usage(records)
    start, end = BASE_TIME + timedelta(days=2), BASE_TIME + timedelta(days=5)
    inside = [r for r in records if start <= r.time < end]
    assert ledger.count_usage(Window(start, end)) == len(inside)
    assert ledger.count_usage(Window(start, end), department="legal") == sum(
        1 for r in inside if r.department == "legal"
    )
    assert ledger.count_usage(Window(start=end)) == sum(1 for r in records if r.time >= end)
    assert ledger.count_usage(department="nobody") == 0


def test_recent_is_newest_first_and_limited(ledger: Ledger) -> None:
    records = make_records(30)
    same_time = [replace(r, time=BASE_TIME) for r in make_records(3, prefix="tie")]
    ledger.insert_usage(records + same_time)
    recent = ledger.recent_usage(limit=5)
    assert [r.request_id for r in recent] == [r.request_id for r in records[::-1][:5]]
    finance = ledger.recent_usage(limit=100, department="finance")
    assert {r.department for r in finance} == {"finance"}
    oldest = ledger.recent_usage(limit=100, window=Window(end=BASE_TIME + timedelta(seconds=1)))
    # req-0 is a few microseconds after BASE_TIME; the ties come in request id order, descending.
    assert [r.request_id for r in oldest] == [
        "req-00000000",
        "tie-00000002",
        "tie-00000001",
        "tie-00000000",
    ]


@pytest.mark.parametrize("limit", [0, -1, 10_001])
def test_recent_refuses_a_silly_limit(ledger: Ledger, limit: int) -> None:
    with pytest.raises(InvalidRequest, match="limit"):
        ledger.recent_usage(limit=limit)


def test_empty_ledger_reads_as_empty(ledger: Ledger) -> None:
    assert ledger.count_usage() == 0
    assert ledger.recent_usage() == []
    assert ledger.summarize_usage() == []
