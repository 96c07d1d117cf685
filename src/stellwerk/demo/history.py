"""Generated usage history: plausible records for a month, for benchmarks and screenshots.

Nothing here is real traffic; the records are drawn from a seeded random generator so that runs
repeat. Costs and energy are computed from the config's prices exactly as the gateway does.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta

from stellwerk.config.schema import ModelConfig, StellwerkConfig
from stellwerk.ledger.record import UsageRecord

_LATENCY_MS = {"small": 350.0, "medium": 900.0, "large": 2400.0}
_ROUTE_SHARE = {"small": 0.6, "medium": 0.3, "large": 0.1}


def generate_usage(
    config: StellwerkConfig,
    *,
    count: int,
    start: datetime,
    end: datetime,
    seed: int = 7,
) -> Iterator[UsageRecord]:
    """``count`` records with times spread over ``[start, end)``, busier on weekday afternoons."""
    rng = random.Random(seed)
    chat = [
        m
        for m in config.models
        if "chat" in m.capabilities and m.lifecycle in ("approved", "deprecated")
    ]
    if not chat:
        raise ValueError("the config has no chat model to generate usage for")
    keys = [
        (d.name, k.id, d.classification)
        for d in config.departments
        for k in d.keys
        if k.role != "admin"
    ]
    if not keys:
        raise ValueError("the config has no department key to generate usage for")
    weights = [1.0 / (1 + i) for i in range(len(keys))]
    model_weights = [_ROUTE_SHARE.get(m.size_class, 0.2) for m in chat]
    span = (end - start).total_seconds()
    for n in range(count):
        moment = start + timedelta(seconds=_busy_offset(rng, span))
        department, key_id, classification = rng.choices(keys, weights)[0]
        model = rng.choices(chat, model_weights)[0]
        routed = rng.random() < 0.8
        yield _record(rng, n, moment, department, key_id, classification, model, routed)


def _busy_offset(rng: random.Random, span: float) -> float:
    while True:
        offset = rng.random() * span
        hour = (offset / 3600) % 24
        if rng.random() < (1.0 if 7 <= hour <= 18 else 0.25):
            return offset


def _record(
    rng: random.Random,
    n: int,
    moment: datetime,
    department: str,
    key_id: str,
    classification: str,
    model: ModelConfig,
    routed: bool,
) -> UsageRecord:
    prompt = int(rng.lognormvariate(5.5, 0.9))
    completion = int(rng.lognormvariate(5.0, 0.8))
    failed = rng.random() < 0.01
    if failed:
        completion = 0
    latency = rng.lognormvariate(0, 0.4) * _LATENCY_MS.get(model.size_class, 800.0)
    cost_micro = model.price.cost_micro(prompt, completion)
    return UsageRecord(
        request_id=str(uuid.UUID(int=rng.getrandbits(128) | n)),
        time=moment,
        department=department,
        key_id=key_id,
        api="openai",
        endpoint="chat",
        requested_model="auto" if routed else model.id,
        model=model.id,
        backend=model.backend,
        decision_reason="generated" if routed else "requested",
        router="generated" if routed else None,
        classification=classification,
        stream=rng.random() < 0.5,
        prompt_tokens=prompt,
        completion_tokens=completion,
        usage_source="backend",
        latency_ms=latency,
        ttft_ms=latency / 4,
        status=502 if failed else 200,
        error_kind="failed" if failed else None,
        fallback_from=None,
        cost_micro=0 if failed else cost_micro,
        energy_wh=model.energy_wh(prompt + completion),
        config_hash="generated",
    )


def batches(records: Iterator[UsageRecord], size: int) -> Iterator[Sequence[UsageRecord]]:
    batch: list[UsageRecord] = []
    for record in records:
        batch.append(record)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
