"""The report's and dashboard's aggregates equal what the records add up to."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from stellwerk.errors import InvalidRequest
from stellwerk.ledger.aggregates import GROUP_BY, GroupBy, UsageAggregate
from stellwerk.ledger.ledger import Ledger
from stellwerk.ledger.record import UsageRecord
from stellwerk.ledger.window import Window
from tests.ledger.factory import make_record, make_records


def nearest_rank(values: list[float], percent: int) -> float:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(len(ordered) * percent / 100)) - 1]


def expected(
    records: list[UsageRecord], key: Callable[[UsageRecord], str | None]
) -> dict[str | None, UsageAggregate]:
    groups: dict[str | None, list[UsageRecord]] = defaultdict(list)
    for record in records:
        groups[key(record)].append(record)
    return {
        name: UsageAggregate(
            group=name,
            requests=len(members),
            errors=sum(1 for r in members if r.status >= 400),
            refused=sum(1 for r in members if 400 <= r.status < 500),
            prompt_tokens=sum(r.prompt_tokens for r in members),
            completion_tokens=sum(r.completion_tokens for r in members),
            cost_micro=sum(r.cost_micro for r in members),
            energy_wh=math.fsum(r.energy_wh for r in members),
            latency_p50_ms=nearest_rank([r.latency_ms for r in members], 50),
            latency_p95_ms=nearest_rank([r.latency_ms for r in members], 95),
        )
        for name, members in groups.items()
    }


def assert_same(actual: list[UsageAggregate], wanted: dict[str | None, UsageAggregate]) -> None:
    assert {a.group for a in actual} == set(wanted)
    for got in actual:
        want = wanted[got.group]
        assert (got.requests, got.refused, got.failed, got.errors) == (
            want.requests,
            want.refused,
            want.failed,
            want.errors,
        )
        assert (got.prompt_tokens, got.completion_tokens) == (
            want.prompt_tokens,
            want.completion_tokens,
        )
        assert got.cost == want.cost  # exact: sums of integers
        assert got.energy_wh == pytest.approx(want.energy_wh, rel=1e-9)
        assert (got.latency_p50_ms, got.latency_p95_ms) == (
            want.latency_p50_ms,
            want.latency_p95_ms,
        )
        assert got.total_tokens == want.prompt_tokens + want.completion_tokens


@pytest.fixture
def filled(ledger: Ledger) -> tuple[Ledger, list[UsageRecord]]:
    records = make_records(2500)  # November 2026 into January 2027
    ledger.insert_usage(records)
    return ledger, records


def group_key(by: str) -> Callable[[UsageRecord], str | None]:
    if by == "day":
        return lambda r: r.time.date().isoformat()  # factory times are UTC
    return lambda r: getattr(r, by)


@pytest.mark.parametrize("by", GROUP_BY)
def test_grouped_aggregates_equal_the_sums_of_the_month(
    filled: tuple[Ledger, list[UsageRecord]], by: GroupBy
) -> None:
    ledger, records = filled
    window = Window.month("2026-12")
    assert window.start is not None and window.end is not None  # a month has both ends
    inside = [r for r in records if window.start <= r.time < window.end]
    actual = ledger.summarize_usage(window, by=by)
    assert_same(actual, expected(inside, group_key(by)))
    if by == "day":
        assert [a.group for a in actual] == [f"2026-12-{day:02d}" for day in range(1, 32)]
    else:
        assert [a.cost for a in actual] == sorted((a.cost for a in actual), reverse=True)


def test_refused_and_failed_are_told_apart(ledger: Ledger) -> None:
    """A request refused for what it asked (4xx) is no failure of a backend (5xx): the summary
    counts them apart, as the dashboard does, and ``errors`` still counts both."""
    statuses = (200, 400, 403, 429, 499, 500, 502, 504)
    ledger.insert_usage([make_record(i, status=s) for i, s in enumerate(statuses)])
    [total] = ledger.summarize_usage()
    assert (total.requests, total.refused, total.failed, total.errors) == (8, 4, 3, 7)


def test_days_are_utc_days(ledger: Ledger) -> None:
    late_evening_in_new_york = datetime(2026, 11, 3, 21, 0, tzinfo=timezone(timedelta(hours=-5)))
    ledger.insert_usage([make_record(1, time=late_evening_in_new_york)])
    [day] = ledger.summarize_usage(by="day")
    assert day.group == "2026-11-04"


def test_total_over_everything(filled: tuple[Ledger, list[UsageRecord]]) -> None:
    ledger, records = filled
    actual = ledger.summarize_usage()
    assert_same(actual, expected(records, lambda r: None))


def test_department_sees_only_its_own_usage(filled: tuple[Ledger, list[UsageRecord]]) -> None:
    ledger, records = filled
    mine = [r for r in records if r.department == "legal"]
    actual = ledger.summarize_usage(by="model", department="legal")
    assert_same(actual, expected(mine, lambda r: r.model))


def test_percentiles_on_a_tiny_group_are_taken_from_the_data(ledger: Ledger) -> None:
    records = [
        replace(r, latency_ms=float(ms))
        for r, ms in zip(make_records(4), (40, 10, 30, 20), strict=True)
    ]
    ledger.insert_usage(records)
    [total] = ledger.summarize_usage()
    assert (total.latency_p50_ms, total.latency_p95_ms) == (20.0, 40.0)


def test_an_empty_window_has_no_rows(filled: tuple[Ledger, list[UsageRecord]]) -> None:
    ledger, _ = filled
    assert ledger.summarize_usage(Window.month("2025-01"), by="department") == []


def test_unknown_grouping_is_refused(ledger: Ledger) -> None:
    with pytest.raises(InvalidRequest, match="cannot group usage by 'prompt'") as caught:
        ledger.summarize_usage(by="prompt")  # type: ignore[arg-type]
    assert caught.value.param == "by"
