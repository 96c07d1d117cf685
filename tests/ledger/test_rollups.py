"""The dashboard's rollups agree with the usage records they summarise, on both databases."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from stellwerk.config.governance import SHADOW_KEY_ID
from stellwerk.ledger import migrate, usage_totals
from stellwerk.ledger.engine import build_engine
from stellwerk.ledger.ledger import Ledger, open_ledger
from stellwerk.ledger.record import UsageRecord
from stellwerk.ledger.rollup_tables import LATENCY_EDGES_MS, usage_daily, usage_latency_daily
from stellwerk.ledger.window import EVERYTHING, Window
from tests.ledger.factory import make_record, with_reference
from tests.ledger.test_migrations import insert_old_usage


def _expected_daily(records: list[UsageRecord]) -> dict[tuple[object, ...], tuple[float, ...]]:
    sums: dict[tuple[object, ...], list[float]] = defaultdict(lambda: [0.0] * 17)
    for r in records:
        day = r.time.replace(hour=0, minute=0, second=0, microsecond=0)
        routed = r.requested_model.startswith("auto")
        key = (day, r.department, r.key_id, r.model or "", routed, r.reference_model or "")
        stored_energy = r.reference_energy_wh is not None
        row = sums[key]
        for i, value in enumerate(
            (
                1,
                r.status >= 400,
                r.fallback_from is not None,
                r.prompt_tokens,
                r.completion_tokens,
                r.cost_micro,
                r.energy_wh,
                r.latency_ms,
                r.familiarity is not None,
                bool(r.unfamiliar),
                400 <= r.status < 500,
                r.reference_model is not None,
                r.reference_cost_micro or 0,
                r.prompt_tokens if r.reference_model else 0,
                r.completion_tokens if r.reference_model else 0,
                r.reference_energy_wh or 0.0,
                r.prompt_tokens + r.completion_tokens if stored_energy else 0,
            )
        ):
            row[i] += float(value)
    return {k: tuple(round(v, 6) for v in row) for k, row in sums.items()}


def _stored_daily(ledger: Ledger) -> dict[tuple[object, ...], tuple[float, ...]]:
    with ledger.connect() as connection:
        rows = connection.execute(select(usage_daily))
        return {
            (r.day, r.department, r.key_id, r.model, bool(r.routed), r.reference_model): tuple(
                round(float(v), 6)
                for v in (
                    r.requests,
                    r.errors,
                    r.fallbacks,
                    r.prompt_tokens,
                    r.completion_tokens,
                    r.cost_micro,
                    r.energy_wh,
                    r.latency_ms_sum,
                    r.familiarity_measured,
                    r.unfamiliar,
                    r.refused,
                    r.referenced,
                    r.reference_cost_micro,
                    r.referenced_prompt,
                    r.referenced_completion,
                    r.reference_energy_wh,
                    r.reference_energy_tokens,
                )
            )
            for r in rows
        }


def _bucket(latency_ms: float) -> int:
    return next((i for i, edge in enumerate(LATENCY_EDGES_MS) if latency_ms < edge), 56)


def _stored_latency(ledger: Ledger) -> Counter[tuple[object, ...]]:
    """The histogram's counts by (day, model, bucket, shadow)."""
    with ledger.connect() as connection:
        return Counter(
            {
                (r.day, r.model, r.bucket, bool(r.shadow)): int(r.requests)
                for r in connection.execute(select(usage_latency_daily))
            }
        )


def _routed(record: UsageRecord) -> bool:
    return record.requested_model.startswith("auto") and record.model is not None


def test_rollups_match_the_records_and_skip_duplicates(ledger: Ledger) -> None:
    """Every sum, the references' too: half of the routed records keep one, of two models (a
    key's reference changed; some as written since 1200 with the reference energy, some as
    between 1100 and 1200 without), the others were written before (null); each reference
    model's records are rolled up in rows of their own."""
    records = [
        with_reference(r, ("apertus-8b", "mistral-8b")[i // 4 % 2], energy=i % 3 > 0)
        if _routed(r) and i % 2
        else r
        for i, r in enumerate(make_record(i) for i in range(300))
    ]
    records += [_shadow_call(i) for i in range(20)]
    kept = [r for r in records if r.reference_model]
    assert {r.reference_model for r in kept} == {"apertus-8b", "mistral-8b"}
    assert {r.reference_energy_wh is None for r in kept} == {True, False}
    assert any(_routed(r) and not r.reference_model for r in records)
    ledger.insert_usage(records[:200])
    ledger.insert_usage(records[150:])  # 50 duplicates: stored once, rolled up once
    assert _stored_daily(ledger) == _expected_daily(records)
    expected = Counter(
        (
            r.time.replace(hour=0, minute=0, second=0, microsecond=0),
            r.model or "",
            _bucket(r.latency_ms),
            r.key_id == SHADOW_KEY_ID,
        )
        for r in records
    )
    assert _stored_latency(ledger) == expected


def _shadow_call(index: int, **overrides: Any) -> UsageRecord:
    """A call of shadow grading's (key ``shadow``): it names its model, as the reference's answer
    and the judge's verdict do."""
    record = make_record(index, prefix="shadow", key_id=SHADOW_KEY_ID, endpoint="shadow")
    return replace(record, requested_model=record.model or "mistral-8b", **overrides)


def test_a_models_latency_is_its_clients_without_shadow_gradings_calls(ledger: Ledger) -> None:
    """The model page's latency p50 and p95: shadow grading's calls of a model (the reference's
    answers cut short, verdicts of 16 tokens: quick) were counted with its clients' requests, so
    a model graded in the shadow looked far quicker than its clients found it. They are counted
    apart now, and left out."""
    clients = [
        make_record(i, prefix="client", model="mistral-8b", latency_ms=2000.0) for i in range(10)
    ]
    shadow = [_shadow_call(i, model="mistral-8b", latency_ms=100.0) for i in range(30)]
    ledger.insert_usage(clients + shadow)
    with ledger.connect() as connection:
        found = usage_totals.latency(connection, EVERYTHING, model="mistral-8b")
    assert found == usage_totals.Latency(requests=10, p50_ms=2068.0, p95_ms=2068.0)
    stored = _stored_latency(ledger)
    assert sum(n for k, n in stored.items() if k[3]) == 30  # kept, apart


def test_a_batch_holding_a_record_twice_stores_and_rolls_it_up_once(ledger: Ledger) -> None:
    records = [make_record(i) for i in range(40)]
    ledger.insert_usage([*records, records[3], records[17], records[3]])
    assert ledger.count_usage() == 40
    assert _stored_daily(ledger) == _expected_daily(records)


def test_records_at_the_edges_of_days(ledger: Ledger) -> None:
    midnight = datetime(2026, 11, 30, tzinfo=UTC)
    times = [midnight - timedelta(microseconds=1), midnight, midnight + timedelta(minutes=59)]
    records = [make_record(i, time=t, latency_ms=4.0) for i, t in enumerate(times)]
    ledger.insert_usage(records)
    days = [midnight - timedelta(days=1), midnight]
    assert {k[0] for k in _stored_daily(ledger)} == set(days)
    assert {k[0] for k in _stored_latency(ledger)} == set(days)
    assert {k[2] for k in _stored_latency(ledger)} == {0}  # 4 ms is below the first edge


def test_migration_rolls_up_records_written_before_it(any_db_url: str) -> None:
    # records of that revision have no familiarity (0900_usage_familiarity): the rollups count 0
    records = [make_record(i, familiarity=None, unfamiliar=None) for i in range(120)]
    engine = build_engine(any_db_url)
    migrate.upgrade(engine, "0400_governance")
    insert_old_usage(engine, records)
    engine.dispose()
    ledger = open_ledger(any_db_url)
    try:
        assert _stored_daily(ledger) == _expected_daily(records)
        ledger.insert_usage([make_record(500)])
        assert sum(v[0] for v in _stored_daily(ledger).values()) == 121
    finally:
        ledger.close()


@pytest.mark.parametrize(
    ("latency", "bucket"),
    # the edges start 5, 6, 8, 10 ... ms and grow by a quarter: bucket i holds [edge i-1, edge i)
    [(0.0, 0), (4.99, 0), (5.0, 1), (5.99, 1), (6.0, 2), (999.9, 24), (10_000_000.0, 56)],
)
def test_latency_bucket_bounds(ledger: Ledger, latency: float, bucket: int) -> None:
    """Fixed numbers, not the rule again: the buckets the dashboard's percentiles read."""
    ledger.insert_usage([make_record(1, latency_ms=latency)])
    assert {k[2] for k in _stored_latency(ledger)} == {bucket}


def test_routing_figures_count_routed_requests_and_say_what_they_left_out(ledger: Ledger) -> None:
    """The routing mix's days and models are the routed requests' (``auto...``); requests that
    named a model and shadow grading's calls (key ``shadow``, naming their model) are counted
    apart, and requests refused before a model was chosen in neither."""
    records = [make_record(i) for i in range(300)]
    shadow = [
        replace(
            make_record(1000 + i, prefix="shadow"),
            key_id="shadow",
            endpoint="shadow",
            requested_model="mistral-8b",
        )
        for i in range(40)
    ]
    ledger.insert_usage(records + shadow)
    window = Window.month("2026-11")
    in_month = [r for r in records + shadow if r.time.strftime("%Y-%m") == "2026-11" and r.model]
    routed = Counter(r.model for r in in_month if r.requested_model.startswith("auto"))
    with ledger.connect() as connection:
        daily = usage_totals.daily_requests(connection, window, routed=True)
        left_out = usage_totals.not_routed(connection, window)
    found: Counter[str] = Counter()
    for _, model, requests in daily:
        if model:
            found[model] += requests
    assert found == routed and routed
    named = [r for r in in_month if not r.requested_model.startswith("auto")]
    assert left_out == usage_totals.NotRouted(
        named=sum(1 for r in named if r.key_id != "shadow"),
        shadow=sum(1 for r in named if r.key_id == "shadow"),
    )
    assert left_out.named and left_out.shadow


def test_routed_totals_carry_the_recorded_references(ledger: Ledger) -> None:
    """What the dashboard's savings read per key, model and recorded reference: the routed
    requests' recorded reference costs, energy and tokens, apart from those that keep none."""
    records = [
        with_reference(r) if i % 3 else r
        for i, r in enumerate(r for r in (make_record(i) for i in range(400)) if _routed(r))
    ]
    ledger.insert_usage(records)
    with ledger.connect() as connection:
        routed = usage_totals.routed_by_key(connection, Window.month("2026-11"))
    in_month = [r for r in records if r.time.strftime("%Y-%m") == "2026-11"]
    kept = [r for r in in_month if r.reference_model]
    totals = usage_totals.summed([t.totals for t in routed])
    assert (totals.requests, totals.referenced) == (len(in_month), len(kept))
    assert totals.reference_cost_micro == sum(r.reference_cost_micro or 0 for r in kept)
    assert totals.referenced_prompt == sum(r.prompt_tokens for r in kept)
    assert totals.referenced_completion == sum(r.completion_tokens for r in kept)
    assert totals.reference_energy_wh == pytest.approx(
        sum(r.reference_energy_wh or 0 for r in kept)
    )
    assert totals.reference_energy_tokens == sum(
        r.prompt_tokens + r.completion_tokens for r in kept
    )
    assert 0 < len(kept) < len(in_month)
    by_reference = {t.reference_model for t in routed}
    assert by_reference == {"", "apertus-8b"}
    for t in routed:  # a row keeps one reference, or none: never a mix
        assert t.totals.referenced == (t.totals.requests if t.reference_model else 0)
