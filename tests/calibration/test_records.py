"""Evaluation records and accepted costs in the ledger (SQLite and PostgreSQL): stored, audited,
append-only, read back the way the dashboard reads them."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from stellwerk.calibration.costs import per_model, propose, with_measured_costs
from stellwerk.calibration.records import (
    CalibrationRecord,
    CalibrationStore,
    CostEntry,
    records_from_summary,
)
from stellwerk.config import parse_config
from stellwerk.errors import CalibrationError
from stellwerk.ledger.ledger import Ledger

SUMMARY: dict[str, Any] = {
    "run_id": "run-1",
    "bank": {"path": "/data/bank.jsonl", "sha256": "f" * 64},
    "skipped_prompts": {"mbpp: code task": 4},
    "settings": {"max_tokens": 256, "concurrency": 2},
    "models": {
        "small": {
            "pairs": 10,
            "answered": 9,
            "quality": 0.4,
            "per_task": {"mmlu": {"grader": "choice-letter", "n": 10, "quality": 0.4}},
            "errors": {"timeout": 1},
            "tokens_per_s": 55.0,
            "throughput_tokens_per_s": 90.0,
            "ttft_ms_p50": 120.0,
            "latency_ms_p50": 900.0,
        },
        "large": {
            "pairs": 10,
            "answered": 10,
            "quality": 0.7,
            "per_task": {"mmlu": {"grader": "choice-letter", "n": 10, "quality": 0.7}},
            "errors": {},
            "tokens_per_s": 20.0,
            "throughput_tokens_per_s": 30.0,
            "ttft_ms_p50": 400.0,
            "latency_ms_p50": 3000.0,
        },
    },
}


def test_records_are_stored_audited_and_read_newest_first(ledger: Ledger) -> None:
    store = CalibrationStore(ledger)
    first = store.add(records_from_summary(SUMMARY, actor="cli:ops", config_hash="abc"))
    assert all(r.id is not None for r in first)
    again = dict(SUMMARY, run_id="run-2")
    store.add(records_from_summary(again, actor="cli:ops"))
    history = store.history("small")
    assert [r.run_id for r in history] == ["run-2", "run-1"]
    record = history[1]
    assert record.per_task == {"mmlu": {"grader": "choice-letter", "n": 10, "quality": 0.4}}
    assert record.errors == {"timeout": 1} and record.skipped == {"mbpp: code task": 4}
    assert record.bank_name == "bank.jsonl" and record.time.tzinfo is not None
    latest = store.latest()
    assert set(latest) == {"small", "large"}
    assert latest["large"].run_id == "run-2" and latest["large"].quality == 0.7
    assert store.has_run("run-1") and not store.has_run("run-3")
    audit = ledger.list_audit(action="calibration.record", target="small")
    assert [a.details["run_id"] for a in audit] == ["run-2", "run-1"]


def test_records_cannot_be_changed_or_deleted(ledger: Ledger) -> None:
    CalibrationStore(ledger).add(records_from_summary(SUMMARY, actor="cli:ops"))
    for statement in (
        "UPDATE calibration_records SET quality = 1.0",
        "DELETE FROM calibration_records",
    ):
        with pytest.raises(DatabaseError, match="append-only"), ledger.begin() as connection:
            connection.execute(text(statement))
    assert len(CalibrationStore(ledger).history("small")) == 1


def _config() -> Any:
    return parse_config(
        {
            "backends": [{"name": "b", "kind": "openai", "base_url": "http://127.0.0.1:1"}],
            "models": [
                {"id": m, "backend": "b", "upstream": m, "params_b": p, "size_class": s,
                 "price": {"input_per_mtok": 0.1, "output_per_mtok": 0.3},
                 "energy_wh_per_1k_tokens": 0.05}
                for m, p, s in (("small", 3, "small"), ("large", 70, "large"))
            ],
        }
    )  # fmt: skip


def test_accepted_costs_are_audited_and_override_the_configured_ones(
    ledger: Ledger,
) -> None:
    store = CalibrationStore(ledger)
    entry = CostEntry(
        model="large",
        input_per_mtok=1.5,
        output_per_mtok=4.0,
        energy_wh_per_1k_tokens=0.9,
        actor="cli:ops",
        basis={"watts": 400.0},
        calibration_run="run-1",
    )
    store.apply_costs([entry])
    store.apply_costs([CostEntry(**{**_fields(entry), "output_per_mtok": 5.0})])
    current = store.current_costs()
    assert set(current) == {"large"}
    assert current["large"].output_per_mtok == 5.0 and current["large"].basis == {"watts": 400.0}
    audit = ledger.list_audit(action="catalog.costs")
    assert [a.details["output_per_mtok"] for a in audit] == [5.0, 4.0]
    assert audit[0].actor == "cli:ops" and audit[0].target == "large"
    config = with_measured_costs(_config(), current)
    large = next(m for m in config.models if m.id == "large")
    small = next(m for m in config.models if m.id == "small")
    assert (large.price.output_per_mtok, large.energy_wh_per_1k_tokens) == (5.0, 0.9)
    assert small.price.output_per_mtok == 0.3


def _fields(entry: CostEntry) -> dict[str, Any]:
    return {name: getattr(entry, name) for name in entry.__slots__}


def test_proposal_from_measured_speed_and_power() -> None:
    model = next(m for m in _config().models if m.id == "large")
    facts = {
        "busy_s": 360.0,
        "prompt_tokens": 300_000,
        "answer_tokens": 60_000,
        "throughput_tokens_per_s": 50.0,
        "prefill_tokens_per_s": 2000.0,
    }
    proposal = propose(model, facts, watts=500.0, hourly_cost=3.6)
    # 500 W for 360 s = 50 Wh over 360k tokens
    assert proposal.proposed.energy_wh_per_1k_tokens == pytest.approx(50 / 360)
    # 3.6 per hour = 0.001 per second; 50 tokens/s -> 20 per 1M; prefill 2000/s -> 0.5 per 1M
    assert proposal.proposed.output_per_mtok == pytest.approx(20.0)
    assert proposal.proposed.input_per_mtok == pytest.approx(0.5)
    assert proposal.changes
    unchanged = propose(model, facts, watts=None, hourly_cost=None)
    assert unchanged.proposed == unchanged.current and not unchanged.changes


def test_record_fields_match_the_table() -> None:
    from stellwerk.ledger.tables import calibration_records

    assert set(CalibrationRecord.__slots__) == set(calibration_records.c.keys())


def test_per_model_values() -> None:
    models = ["small", "large"]
    assert per_model("--watts", ["300"], models) == {"small": 300.0, "large": 300.0}
    assert per_model("--watts", ["300", "large=450"], models) == {"small": 300.0, "large": 450.0}
    assert per_model("--watts", [], models) == {}


@pytest.mark.parametrize(
    ("spec", "message"),
    [("huge=3", "'huge' is not a calibrated model"), ("lots", "not a number"), ("-5", "negative")],
)
def test_per_model_values_refuse_bad_input(spec: str, message: str) -> None:
    with pytest.raises(CalibrationError, match=message):
        per_model("--watts", [spec], ["small", "large"])
