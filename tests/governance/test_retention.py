from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from tests.governance.factories import config
from tests.ledger.factory import make_record

from stellwerk.calibration.records import CalibrationStore
from stellwerk.config.schema import RiskTier
from stellwerk.governance.retention import expire_usage
from stellwerk.governance.service import Governance
from stellwerk.ledger.graded import Graded, GradedStore
from stellwerk.ledger.ledger import Ledger
from stellwerk.ledger.record import UsageRecord
from stellwerk.routing.graded_record import GradedRecord

NOW = datetime(2026, 11, 25, tzinfo=UTC)


def aged(index: int, key_id: str, days: int) -> UsageRecord:
    return replace(make_record(index), key_id=key_id, time=NOW - timedelta(days=days))


def test_each_tier_keeps_its_records_for_its_retention(ledger: Ledger) -> None:
    rules = config(governance={"retention_days": {"minimal": 30, "limited": 90, "high": 200}})
    tiers: dict[str, RiskTier] = {"key-high": "high", "key-limited": "limited"}
    ages = [10, 60, 120, 190, 250]
    records = [
        aged(i * 10 + j, key, days)
        for i, key in enumerate(["key-high", "key-limited", "key-free"])
        for j, days in enumerate(ages)
    ]
    ledger.insert_usage(records)
    expiry = expire_usage(ledger, rules.governance, tiers, now=NOW)
    kept = {(r.key_id, round((NOW - r.time).days)) for r in ledger.recent_usage(limit=100)}
    assert kept == {
        ("key-high", 10),
        ("key-high", 60),
        ("key-high", 120),
        ("key-high", 190),
        ("key-limited", 10),
        ("key-limited", 60),
        ("key-free", 10),
    }
    # the three records older than every retention (250 days) go in bulk, then per tier
    assert expiry.beyond_all == 3
    assert expiry.deleted == {"minimal": 3, "limited": 2, "high": 0}
    entry = ledger.list_audit(action="usage.expire")[0]
    assert entry.actor == "retention"
    assert entry.details["beyond_all"] == 3
    assert entry.details["deleted"] == {"minimal": 3, "limited": 2, "high": 0}


def test_nothing_to_expire_writes_no_audit_entry(ledger: Ledger) -> None:
    rules = config()
    ledger.insert_usage([aged(1, "key-x", 1)])
    assert expire_usage(ledger, rules.governance, {}, now=NOW).total == 0
    assert ledger.count_usage() == 1
    assert ledger.list_audit(action="usage.expire") == []


def _graded(index: int, days: int) -> Graded:
    record = GradedRecord(latent=(0.6, 0.8), base={"a": 0.4}, grades={"a": 1.0})
    return Graded(
        request_id=f"g{index}",
        source="shadow",
        time=NOW - timedelta(days=days),
        department="research",
        key_id="key-x",
        route="auto",
        base_version="v1",
        model="a",
        record=record,
    )


def test_the_retention_job_expires_graded_requests_by_the_router_rules(ledger: Ledger) -> None:
    store = GradedStore(ledger)
    for i, days in enumerate((300, 100, 20, 10, 5, 1)):
        store.add(_graded(i, days))
    # off by default: nothing goes
    assert (
        Governance(ledger, config(), evaluated=CalibrationStore(ledger).evaluated).expire_graded(
            now=NOW
        )
        == 0
    )
    rules = config(router={"graded_retention_days": 90, "graded_retention_max": 3})
    assert (
        Governance(ledger, rules, evaluated=CalibrationStore(ledger).evaluated).expire_graded(
            now=NOW
        )
        == 3
    )  # 300 and 100 days; then 20
    assert store.count("v1") == 3
    assert ledger.list_audit(action="graded.expire")[0].details["deleted"] == 3
    # the usage records' retention is not touched by it, nor they by it
    assert ledger.list_audit(action="usage.expire") == []
