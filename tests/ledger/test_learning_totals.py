"""The router-learning totals agree with the records they sum, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import timedelta

from stellwerk.ledger import learning_totals as totals
from stellwerk.ledger.graded import Graded, GradedStore
from stellwerk.ledger.ledger import Ledger
from stellwerk.ledger.window import Window
from stellwerk.routing.graded_record import GradedRecord
from tests.ledger.factory import BASE_TIME, make_record

NOVEMBER = Window.month("2026-11")


def _graded(i: int, department: str, source: str) -> Graded:
    return Graded(
        request_id=f"g{i}",
        source=source,
        time=BASE_TIME + timedelta(hours=i),
        department=department,
        key_id="k",
        route="auto",
        base_version="artifact-1" if i % 3 else "artifact-0",
        model="m",
        record=GradedRecord(latent=(1.0, 0.0), base={"m": 0.5}, grades={"m": 1.0}),
    )


def test_familiarity_per_department_counts_the_routed_records(ledger: Ledger) -> None:
    records = [make_record(i) for i in range(400)]
    ledger.insert_usage(records)
    in_month = [r for r in records if r.time.strftime("%Y-%m") == "2026-11"]
    # a routed record answered with no model is a load or an unload of the route (the
    # factory's records of no model and status 200): it asked the router nothing
    routed = [
        r
        for r in in_month
        if r.requested_model.startswith("auto") and (r.model is not None or r.status >= 400)
    ]
    assert len(routed) < sum(1 for r in in_month if r.requested_model.startswith("auto"))
    with ledger.connect() as connection:
        found = totals.familiarity_by_department(connection, NOVEMBER)
    for department in {r.department for r in routed}:
        mine = [r for r in routed if r.department == department]
        measured = [r for r in mine if r.familiarity is not None]
        assert found[department] == totals.Familiarity(
            len(mine), len(measured), sum(1 for r in measured if r.unfamiliar)
        )
    assert any(f.unfamiliar for f in found.values())


def test_graded_requests_by_department_source_and_artifact(ledger: Ledger) -> None:
    store = GradedStore(ledger)
    rows = [
        (i, ("legal", "research")[i % 2], ("feedback", "shadow")[i % 5 == 0]) for i in range(30)
    ]
    for i, department, source in rows:
        store.add(_graded(i, department, source))
    with ledger.connect() as connection:
        by_department = totals.graded_by_department(connection, NOVEMBER)
        kept = totals.graded_kept(connection, "artifact-1")
    expected = Counter((d, s) for _, d, s in rows)
    assert {
        (d, s): n for d, per in by_department.items() for s, n in per.grades.items()
    } == expected
    assert {d: per.requests for d, per in by_department.items()} == dict(
        Counter(d for _, d, _ in rows)
    )
    assert kept == dict(Counter(s for i, _, s in rows if i % 3))


def test_a_request_graded_by_both_sources_is_one_graded_request(ledger: Ledger) -> None:
    """Feedback and shadow grading may grade the same request: two grades, one request."""
    store = GradedStore(ledger)
    for i in range(6):  # legal: g0..g5 shadow-graded, g0..g2 also by feedback; research: g6
        store.add(_graded(i, "legal", "shadow"))
        if i < 3:
            store.add(replace(_graded(i, "legal", "feedback"), time=BASE_TIME + timedelta(days=1)))
    store.add(_graded(6, "research", "feedback"))
    with ledger.connect() as connection:
        found = totals.graded_by_department(connection, NOVEMBER)
    assert found == {
        "legal": totals.GradedDepartment(6, {"shadow": 6, "feedback": 3}),
        "research": totals.GradedDepartment(1, {"feedback": 1}),
    }


def test_shadow_spend_and_refusals_of_the_account(ledger: Ledger) -> None:
    calls = [
        make_record(i, department="learning", key_id="shadow", time=BASE_TIME + timedelta(hours=i))
        for i in range(12)
    ]
    refused = [
        replace(c, request_id=f"refused-{i}", model=None, status=429, cost_micro=0)
        for i, c in enumerate(calls[:3])
    ]
    other = make_record(99, department="learning", key_id="k-1", time=BASE_TIME)
    ledger.insert_usage([*calls, *refused, other])
    with ledger.connect() as connection:
        spend = totals.shadow_spend(connection, NOVEMBER, "learning")
        assert totals.shadow_refused(connection, NOVEMBER, "learning") == 3
        assert totals.department_spend_micro(connection, NOVEMBER, "learning") == sum(
            r.cost_micro for r in (*calls, other)
        )
    shadow = [*calls, *refused]
    assert spend == totals.ShadowSpend(
        len(shadow),
        sum(r.status >= 400 for r in shadow),
        sum(r.prompt_tokens + r.completion_tokens for r in shadow),
        sum(r.cost_micro for r in shadow),
    )
