"""Usage records for tests and benchmarks: deterministic, varied, spread over time."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from stellwerk.ledger.record import UsageRecord

BASE_TIME = datetime(2026, 11, 1, tzinfo=UTC)
DEPARTMENTS = ("finance", "legal", "research", "hr")
MODELS = ("mistral-3b", "mistral-8b", "apertus-8b", None)


def make_record(index: int, *, prefix: str = "req", **overrides: Any) -> UsageRecord:
    """Record number ``index``; the same index always gives the same record."""
    rng = random.Random(index)
    model = MODELS[index % len(MODELS)]
    status = 200 if rng.random() > 0.1 else rng.choice((400, 429, 502, 504))
    prompt = rng.randint(0, 4000)
    completion = rng.randint(0, 1000) if status == 200 else 0
    record = UsageRecord(
        request_id=f"{prefix}-{index:08d}",
        time=BASE_TIME + timedelta(minutes=37 * index, microseconds=rng.randint(0, 999_999)),
        department=DEPARTMENTS[index % len(DEPARTMENTS)],
        key_id=f"key-{index % 7}",
        api=rng.choice(("openai", "ollama")),
        endpoint="/v1/chat/completions",
        requested_model=rng.choice(("auto", "mistral-8b")),
        model=model,
        backend=None if model is None else "llamacpp-1",
        decision_reason=None if model is None else "best quality per cost",
        router="learned-v1",
        classification=rng.choice(("public", "internal", None)),
        stream=rng.random() < 0.5,
        prompt_tokens=prompt,
        completion_tokens=completion,
        usage_source=rng.choice(("backend", "counted")),
        latency_ms=round(rng.uniform(5, 5000), 3),
        ttft_ms=None if rng.random() < 0.3 else round(rng.uniform(1, 500), 3),
        status=status,
        error_kind=None if status == 200 else "upstream",
        fallback_from=None if rng.random() < 0.9 else "mistral-3b",
        cost_micro=prompt + completion * 3,
        energy_wh=round((prompt + completion) * 0.0004, 6),
        config_hash="c0ffee",
    )
    if record.requested_model == "auto" and model is not None and rng.random() < 0.8:
        familiarity = round(rng.random(), 4)  # routed, and the router measured the prompt
        record = replace(record, familiarity=familiarity, unfamiliar=familiarity < 0.2)
    return replace(record, **overrides) if overrides else record


def make_records(count: int, *, start: int = 0, prefix: str = "req") -> list[UsageRecord]:
    return [make_record(index, prefix=prefix) for index in range(start, start + count)]


def with_reference(
    record: UsageRecord, model: str = "apertus-8b", *, energy: bool = True
) -> UsageRecord:
    """``record`` as the gateway writes a routed request since it keeps its reference: ``model``
    and what it would have charged for the record's tokens (a made-up price of twice the cost)
    and used in energy (three times the record's); ``energy=False``: as written between
    migrations 1100 and 1200, the cost only."""
    return replace(
        record,
        reference_model=model,
        reference_cost_micro=2 * record.cost_micro,
        reference_energy_wh=3 * record.energy_wh if energy else None,
    )
