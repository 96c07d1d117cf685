"""A ledger that has learned: graded requests of the shipped router (feedback and shadow grades of
research and legal), one promoted router version, routed traffic whose familiarity the router
measured, and shadow grading's own calls charged to the department ``router-learning``.
``rolled_back`` adds a second promotion that routes better while its squared error grew, and the
rollbacks that leave its correction in use, restored by a rollback to a rollback, and a few graded
requests after them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from stellwerk.config.schema import StellwerkConfig
from stellwerk.learning.online import adapt_stored
from stellwerk.ledger.graded import Graded, GradedStore
from stellwerk.ledger.ledger import open_ledger
from stellwerk.ledger.record import UsageRecord
from stellwerk.routing.adapt import Comparison, DepartmentGain
from stellwerk.routing.graded_record import GradedRecord
from stellwerk.routing.loader import load_learned
from tests.cli.test_router_learn_cmd import NEW_KIND, _worst
from tests.dashboard.conftest import (
    DASHBOARD_ENV,
    OFFLINE_BACKEND,
    DashboardGateway,
    dashboard_raw,
    seed,
)
from tests.dashboard.traffic import record, served
from tests.fixtures.gateway import running_gateway

ACCOUNT = "router-learning"
BUDGET = "0.02"


def with_learning(raw: dict[str, Any]) -> dict[str, Any]:
    """``raw`` routing with the shipped learned router and grading a quarter of its traffic,
    charged to a department of its own with a monthly budget."""
    out = {k: v for k, v in raw.items() if k != "router"}
    out["departments"] = [
        *raw["departments"],
        {"name": ACCOUNT, "limits": {"monthly_budget": float(BUDGET)}},
    ]
    out["router"] = {
        "shadow": {"share": 0.25, "account": ACCOUNT, "requests_per_minute": 6},
    }
    return out


EARLY = 12
"""The graded requests of the first adaptation run: too few to judge (a promotion needs 20)."""


def seed_graded(database_url: str) -> None:
    """120 graded requests (research: 90 shadow grades; legal: 30 feedback) and three adaptation
    runs, as ``stellwerk router adapt`` would (before the gateway starts): after the first
    ``EARLY`` (nothing promoted: too few judged), after all (promoted: version 1) and once more on
    the same records (nothing promoted: the version in use was fitted on them)."""
    router = load_learned()
    best = _worst(router, NEW_KIND[0])
    ledger = open_ledger(database_url)
    try:
        store = GradedStore(ledger)
        for i, prompt in enumerate(NEW_KIND[:120]):
            grades = {m: 1.0 if m == best else 0.0 for m in router.model.models}
            research = i % 4 != 0
            store.add(
                Graded(
                    request_id=f"graded-{i}",
                    source="shadow" if research else "feedback",
                    time=datetime.now(UTC),
                    department="research" if research else "legal",
                    key_id="research-1" if research else "legal-1",
                    route="auto",
                    base_version=router.version,
                    model=best,
                    record=GradedRecord.of(router.model, prompt, grades),
                )
            )
            if i + 1 == EARLY:
                early = adapt_stored(router, store, actor="cli:test")
                assert early.version is None and early.adaptation.comparison is not None
        outcome = adapt_stored(router, store, actor="cli:test")
        assert outcome.version is not None  # promoted
        again = adapt_stored(router, store, actor="cli:test")
        assert again.version is None
    finally:
        ledger.close()


WALKED = Comparison(
    records=96,
    grades=288,
    current_score=0.512,
    candidate_score=0.537,
    standard_error=0.012,
    current_error=0.0964,
    candidate_error=0.1002,
    min_records=20,
    margin=2.0,
    departments={
        "research": DepartmentGain(61, 0.031, 0.014),
        "legal": DepartmentGain(35, 0.058, 0.022),
    },
)
"""The figures of a promotion that routed better (0.025 ± 0.012) while the squared error of its
predicted quality grew by 3.9 % (walk10, finding 3)."""


AFTER_ROLLBACK = 3
"""The graded requests that came after the newest rollback (adaptation learns from these)."""


def rolled_back(database_url: str) -> None:
    """After ``seed_graded``: version 1's correction promoted again as version 2, with the figures
    ``WALKED`` (as ``stellwerk router adapt`` audits a promotion); then back to the base (3), to
    version 2 (4), to the base (5) and to version 4 (6): version 2's correction is in use, restored
    by a rollback to a rollback; then ``AFTER_ROLLBACK`` graded requests of research."""
    router = load_learned()
    ledger = open_ledger(database_url)
    try:
        store = GradedStore(ledger)
        first = store.version(router.version, 1)
        assert first.correction is not None
        details = {**first.details, "comparison": WALKED.as_json(), "compared_with": 1}
        second = store.promote(router.version, first.correction, actor="cli:test", details=details)
        assert second.id == 2
        for to in (0, 2, 0, 4):
            store.roll_back(router.version, to, actor="cli:test", reason="the gain was noise")
        best = _worst(router, NEW_KIND[0])
        for i, prompt in enumerate(NEW_KIND[:AFTER_ROLLBACK]):
            grades = {m: 1.0 if m == best else 0.0 for m in router.model.models}
            store.add(
                Graded(
                    request_id=f"after-rollback-{i}",
                    source="shadow",
                    time=datetime.now(UTC),
                    department="research",
                    key_id="research-1",
                    route="auto",
                    base_version=router.version,
                    model=best,
                    record=GradedRecord.of(router.model, prompt, grades),
                )
            )
    finally:
        ledger.close()


def learned_traffic(config: StellwerkConfig) -> list[UsageRecord]:
    """Routed requests with their familiarity (research: 3 of 10 unfamiliar; legal: 1 of 4, and
    one not measured), shadow grading's calls (5 answered, 1 refused by the account's budget)."""
    records = []
    for i in range(10):
        record = served(config, department="research", key_id="research-1", model="tiny-small")
        records.append(replace(record, familiarity=0.01 if i < 3 else 0.4, unfamiliar=i < 3))
    for i in range(5):
        record = served(config, department="legal", key_id="legal-1", model="tiny-small")
        if i < 4:
            record = replace(record, familiarity=0.02 if i == 0 else 0.6, unfamiliar=i == 0)
        records.append(record)
    for _ in range(5):
        record = served(config, department=ACCOUNT, key_id="shadow", model="tiny-large")
        records.append(replace(record, requested_model="tiny-large", endpoint="shadow"))
    refused = served(config, department=ACCOUNT, key_id="shadow", model="tiny-large")
    records.append(
        replace(
            refused,
            requested_model="tiny-large",
            endpoint="shadow",
            model=None,
            backend=None,
            status=429,
            error_kind="budget_exceeded",
            prompt_tokens=0,
            completion_tokens=0,
            cost_micro=0,
            energy_wh=0.0,
        )
    )
    return records


@contextmanager
def learning_gateway(tmp_path: Path, *, rollbacks: bool = False) -> Iterator[DashboardGateway]:
    """The dashboard of a gateway (backend down) over a ledger that has learned (and, with
    ``rollbacks``, rolled back: ``rolled_back``)."""
    database_url = f"sqlite:///{tmp_path / 'ledger.db'}"
    raw = with_learning(dashboard_raw(OFFLINE_BACKEND, database_url))
    key_id, key = seed(raw)
    seed_graded(database_url)
    if rollbacks:
        rolled_back(database_url)
    with running_gateway(raw, DASHBOARD_ENV) as gw:
        dashboard = DashboardGateway(gw, key_id, key)
        record(dashboard, learned_traffic(gw.config))
        yield dashboard
