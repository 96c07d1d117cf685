"""Calibration records in the ledger: a model's evaluation record (a compliance fact) and the
catalog costs an operator accepted from a calibration. Both tables are append-only; every write
also appends an audit entry in the same transaction.

They are read through :class:`CalibrationStore`: ``history(model)`` (the dashboard's model page),
``evaluated()`` (governance's compliance check, injected), ``current_costs()`` (the gateway, at
start-up) and ``latest()`` (newest record per model, for operators' own scripts:
docs/calibration.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, insert, select

from stellwerk.errors import InvalidRequest
from stellwerk.ledger.audit import append_audit
from stellwerk.ledger.ledger import Ledger
from stellwerk.ledger.tables import calibration_records, catalog_costs

MAX_LIMIT = 1000


@dataclass(frozen=True, slots=True)
class CalibrationRecord:
    """How one model did on one calibration run."""

    run_id: str
    time: datetime
    model: str
    bank_name: str
    bank_sha256: str
    pairs: int
    answered: int
    quality: float | None
    per_task: Mapping[str, Mapping[str, Any]]
    """{task: {"grader": name, "n": prompts, "quality": mean score}}"""
    errors: Mapping[str, int]
    skipped: Mapping[str, int]
    """Prompts of the bank that were not asked, by reason (code tasks without a runner ...)."""
    tokens_per_s: float | None
    throughput_tokens_per_s: float | None
    ttft_ms_p50: float | None
    latency_ms_p50: float | None
    max_tokens: int
    actor: str
    config_hash: str | None = None
    id: int | None = None


@dataclass(frozen=True, slots=True)
class CostEntry:
    """Catalog costs of a model as accepted by an operator; ``basis`` says how they were made."""

    model: str
    input_per_mtok: float
    output_per_mtok: float
    energy_wh_per_1k_tokens: float
    actor: str
    basis: Mapping[str, Any] = field(default_factory=dict)
    calibration_run: str | None = None
    time: datetime | None = None
    id: int | None = None


def records_from_summary(
    summary: Mapping[str, Any], *, actor: str, config_hash: str | None = None
) -> list[CalibrationRecord]:
    """One record per model of a run summary (``calibrate.finish``)."""
    now = datetime.now(UTC)
    bank = summary["bank"]
    return [
        CalibrationRecord(
            run_id=str(summary["run_id"]),
            time=now,
            model=model,
            bank_name=str(bank["path"]).rsplit("/", 1)[-1],
            bank_sha256=str(bank["sha256"]),
            pairs=int(facts["pairs"]),
            answered=int(facts["answered"]),
            quality=facts["quality"],
            per_task=facts["per_task"],
            errors=facts["errors"],
            skipped=summary["skipped_prompts"],
            tokens_per_s=facts["tokens_per_s"],
            throughput_tokens_per_s=facts["throughput_tokens_per_s"],
            ttft_ms_p50=facts["ttft_ms_p50"],
            latency_ms_p50=facts["latency_ms_p50"],
            max_tokens=int(summary["settings"]["max_tokens"]),
            actor=actor,
            config_hash=config_hash,
        )
        for model, facts in summary["models"].items()
    ]


class CalibrationStore:
    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def add(self, records: Iterable[CalibrationRecord]) -> list[CalibrationRecord]:
        """Store records and audit each (action ``calibration.record``) in one transaction."""
        stored: list[CalibrationRecord] = []
        with self.ledger.begin() as connection:
            for record in records:
                values = asdict(record)
                values.pop("id")
                key = connection.execute(insert(calibration_records).values(**values))
                new_id = int(key.inserted_primary_key[0])  # type: ignore[index]
                append_audit(
                    connection,
                    actor=record.actor,
                    action="calibration.record",
                    target_kind="model",
                    target=record.model,
                    details={
                        "run_id": record.run_id,
                        "record_id": new_id,
                        "bank_sha256": record.bank_sha256,
                        "quality": record.quality,
                        "pairs": record.pairs,
                    },
                    config_hash=record.config_hash,
                    time=record.time,
                )
                stored.append(_with_id(record, new_id))
        return stored

    def has_run(self, run_id: str) -> bool:
        statement = select(func.count()).where(calibration_records.c.run_id == run_id)
        with self.ledger.connect() as connection:
            return bool(connection.execute(statement).scalar())

    def evaluated(self) -> frozenset[str]:
        """The models with a calibration record: their evaluation record (governance counts it
        as the fact ``evaluation_url``)."""
        statement = select(calibration_records.c.model).distinct()
        with self.ledger.connect() as connection:
            return frozenset(connection.execute(statement).scalars())

    def history(self, model: str, *, limit: int = 20) -> list[CalibrationRecord]:
        """The model's records, newest first."""
        _check_limit(limit)
        statement = (
            select(calibration_records)
            .where(calibration_records.c.model == model)
            .order_by(calibration_records.c.id.desc())
            .limit(limit)
        )
        with self.ledger.connect() as connection:
            return [CalibrationRecord(**row._mapping) for row in connection.execute(statement)]

    def latest(self) -> dict[str, CalibrationRecord]:
        """The newest record of every model that has one."""
        newest = select(func.max(calibration_records.c.id)).group_by(calibration_records.c.model)
        statement = select(calibration_records).where(calibration_records.c.id.in_(newest))
        with self.ledger.connect() as connection:
            rows = [CalibrationRecord(**row._mapping) for row in connection.execute(statement)]
        return {record.model: record for record in sorted(rows, key=lambda r: r.model)}

    def apply_costs(
        self, entries: Iterable[CostEntry], *, config_hash: str | None = None
    ) -> list[CostEntry]:
        """Store accepted costs and audit each (action ``catalog.costs``, with the hash of the
        config they were proposed from) in one transaction."""
        stored: list[CostEntry] = []
        now = datetime.now(UTC)
        with self.ledger.begin() as connection:
            for entry in entries:
                values = asdict(entry)
                values.pop("id")
                values["time"] = now
                values["basis"] = dict(entry.basis)
                key = connection.execute(insert(catalog_costs).values(**values))
                new_id = int(key.inserted_primary_key[0])  # type: ignore[index]
                append_audit(
                    connection,
                    actor=entry.actor,
                    action="catalog.costs",
                    target_kind="model",
                    target=entry.model,
                    details={
                        "input_per_mtok": entry.input_per_mtok,
                        "output_per_mtok": entry.output_per_mtok,
                        "energy_wh_per_1k_tokens": entry.energy_wh_per_1k_tokens,
                        "calibration_run": entry.calibration_run,
                        "basis": dict(entry.basis),
                    },
                    config_hash=config_hash,
                    time=now,
                )
                stored.append(CostEntry(**{**values, "id": new_id}))
        return stored

    def current_costs(self) -> dict[str, CostEntry]:
        """The newest accepted costs of every model that has some."""
        newest = select(func.max(catalog_costs.c.id)).group_by(catalog_costs.c.model)
        statement = select(catalog_costs).where(catalog_costs.c.id.in_(newest))
        with self.ledger.connect() as connection:
            entries = [CostEntry(**row._mapping) for row in connection.execute(statement)]
        return {entry.model: entry for entry in entries}


def _with_id(record: CalibrationRecord, new_id: int) -> CalibrationRecord:
    return CalibrationRecord(**{**asdict(record), "id": new_id})


def _check_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidRequest(f"limit must be between 1 and {MAX_LIMIT}, got {limit}", param="limit")
