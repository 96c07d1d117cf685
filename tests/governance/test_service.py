from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from tests.governance.factories import Caller, config, model
from tests.ledger.factory import make_record

from stellwerk.calibration.records import CalibrationRecord, CalibrationStore
from stellwerk.config.schema import StellwerkConfig
from stellwerk.errors import NotFound, PermissionDenied, RateLimited
from stellwerk.governance.keys import hash_key
from stellwerk.governance.service import Governance
from stellwerk.ledger.ledger import Ledger


def governance(ledger: Ledger, cfg: StellwerkConfig, **options: Any) -> Governance:
    """Governance as the gateway builds it: the calibration records are evaluation records."""
    return Governance(ledger, cfg, evaluated=CalibrationStore(ledger).evaluated, **options)


CFG = config(
    models=[model("small-onprem"), model("expert", data_owner="legal")],
    departments=[
        {"name": "legal", "limits": {"monthly_budget": 1.0}},
        {"name": "it", "pilot": True},
    ],
)


def test_start_seeds_audits_the_config_once_and_loads_the_snapshot(ledger: Ledger) -> None:
    gov = governance(ledger, CFG, config_hash="hash-1")
    gov.start()
    gov.start()  # a restart with the same config audits nothing new
    loads = ledger.list_audit(action="config.load")
    assert [(e.config_hash, e.details["previous"]) for e in loads] == [("hash-1", None)]
    governance(ledger, CFG, config_hash="hash-2").start()
    assert ledger.list_audit(action="config.load")[0].details["previous"] == "hash-1"
    assert [m.id for m in gov.snapshot.models] == ["small-onprem", "expert"]


def test_changes_reach_the_next_request_after_reload(ledger: Ledger) -> None:
    gov = governance(ledger, CFG)
    gov.start()
    caller = Caller(department="it", key_id="k")
    assert [m.id for m in gov.snapshot.permitted(caller, "internal", None)] == [
        "small-onprem",
        "expert",
    ]
    gov.admin.catalog.set_consent("expert", False, actor="owner", reason="withdrawn")
    gov.reload()
    with pytest.raises(NotFound) as withdrawn:  # hidden: as unknown, the reason for operators
        gov.snapshot.permitted(caller, "internal", "expert")
    assert "withdrawn consent" in (withdrawn.value.detail or "")
    new = gov.admin.keys.create(department="it", actor="admin")
    assert gov.snapshot.key(new.info.key_id) is None  # looked up by digest, never by id
    assert gov.snapshot.key(hash_key(new.key)) is None  # not before the reload
    gov.reload()
    assert gov.snapshot.key(hash_key(new.key)) == new.info


def test_a_request_reads_the_snapshot_it_took_whatever_is_reloaded_meanwhile(
    ledger: Ledger,
) -> None:
    gov = governance(ledger, CFG)
    gov.start()
    caller = Caller(department="it", key_id="k")
    taken = gov.snapshot  # a request in flight
    gov.admin.catalog.set_consent("expert", False, actor="owner", reason="withdrawn")
    gov.reload()
    assert [m.id for m in taken.permitted(caller, "internal", "expert")] == ["expert"]
    with pytest.raises(NotFound) as withdrawn:
        gov.snapshot.permitted(caller, "internal", "expert")  # the next request
    assert "withdrawn consent" in (withdrawn.value.detail or "")


def test_a_key_changed_elsewhere_counts_for_requests_from_the_next_reload(ledger: Ledger) -> None:
    cfg = config(
        departments=[{"name": "legal", "classification": "confidential"}],
        use_cases=[{"name": "contracts", "department": "legal"}],  # internal
    )
    gateway = governance(ledger, cfg)
    gateway.start()
    elsewhere = governance(ledger, cfg)  # the CLI, or another replica
    contracts = elsewhere.admin.use_cases.get("contracts")
    new = elsewhere.admin.keys.create(department="legal", actor="cli:anna", use_case=contracts)
    digest = hash_key(new.key)
    assert gateway.snapshot.principal(digest) is None
    gateway.reload()
    principal = gateway.snapshot.principal(digest)
    assert principal is not None
    assert (principal.key_id, principal.use_case) == (new.info.key_id, "contracts")
    assert principal.classification == "confidential"  # legal's: its use case's is lower

    secret = contracts.model_copy(update={"classification": "secret"})
    elsewhere.admin.use_cases.update(secret, actor="cli:anna", reason="contracts are secret")
    assert gateway.snapshot.principal(digest) == principal  # not before the reload
    gateway.reload()
    changed = gateway.snapshot.principal(digest)
    assert changed is not None and changed.classification == "secret"

    elsewhere.admin.keys.revoke(new.info.key_id, actor="cli:anna", reason="leaver")
    assert gateway.snapshot.principal(digest) == changed  # not before the reload
    asyncio.run(gateway.refresh())  # what the background loop does every refresh_seconds
    assert gateway.snapshot.principal(digest) is None


def test_budget_counters_start_at_the_months_spend_in_the_ledger(ledger: Ledger) -> None:
    """After a restart every department's and key's counter starts at the ledger's spend, with
    a budget in force or not, so a budget set later counts it too."""
    now = datetime.now(UTC)
    ledger.insert_usage(
        [
            replace(
                make_record(i), department="legal", key_id="key-x", time=now, cost_micro=300_000
            )
            for i in range(3)  # 0.9 of legal's 1.0 spent before the restart
        ]
    )
    gov = governance(ledger, CFG)
    gov.start()

    async def after_restart() -> None:
        await gov.seed_month_spend()
        scopes = gov.snapshot.scopes("legal", "key-x")
        assert gov.snapshot.key_limits.get("key-x") is None  # no budget of its own
        assert await gov.limiter.spent(scopes[1]) == pytest.approx(0.9)
        await gov.limiter.admit(scopes, max_tokens=0, max_cost=0.1)
        with pytest.raises(RateLimited, match=r"monthly budget of 1\.000000 reached"):
            await gov.limiter.admit(scopes, max_tokens=0, max_cost=0.05)

    asyncio.run(after_restart())


def test_a_calibration_record_is_the_models_evaluation_record(ledger: Ledger) -> None:
    """A high-risk model without an evaluation URL is blocked until a calibration run stores its
    evaluation record in the ledger."""
    cfg = config(
        models=[
            model(
                "triage",
                risk_tier="high",
                owner="it",
                model_card_url="https://example.org/card",
                oversight_contact="ops@example.org",
            )
        ],
        governance={"compliance_mode": "block"},
    )
    gov = governance(ledger, cfg)
    gov.start()
    caller = Caller(department="it")
    with pytest.raises(PermissionDenied) as blocked:
        gov.snapshot.permitted(caller, "internal", None)
    assert "non-compliant, missing evaluation_url" in (blocked.value.detail or "")
    CalibrationStore(ledger).add(
        [
            CalibrationRecord(
                run_id="run-1",
                time=datetime.now(UTC),
                model="triage",
                bank_name="bank",
                bank_sha256="0" * 64,
                pairs=10,
                answered=10,
                quality=0.8,
                per_task={},
                errors={},
                skipped={},
                tokens_per_s=None,
                throughput_tokens_per_s=None,
                ttft_ms_p50=None,
                latency_ms_p50=None,
                max_tokens=64,
                actor="cli:anna",
            )
        ]
    )
    gov.reload()
    assert [m.id for m in gov.snapshot.permitted(caller, "internal", None)] == ["triage"]
