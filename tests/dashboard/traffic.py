"""Traffic for the dashboard tests over a gateway whose backend is down: refusals are real requests
through the gateway (policy and limits refuse before any backend is called); served requests are
usage records written to the gateway's ledger, as the gateway would have written them (the
rollup triggers count them like any other)."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import TypedDict

import httpx

from stellwerk.config.schema import StellwerkConfig
from stellwerk.ledger.record import UsageRecord
from tests.dashboard.conftest import DashboardGateway
from tests.fixtures.gateway import KEYS


class Served(TypedDict):
    """Who a served request was for, and the model that served it (``served``'s keywords)."""

    department: str
    key_id: str
    model: str


def served(
    config: StellwerkConfig,
    *,
    department: str,
    key_id: str,
    model: str,
    routed: bool = True,
    prompt: int = 1_000,
    completion: int = 200,
    latency_ms: float = 300.0,
    when: datetime | None = None,
    reference: str | None = None,
    reference_energy_wh: float | None = None,
) -> UsageRecord:
    """The usage record of one answered request; ``reference``: the reference model it keeps (as
    a routed request's since the ledger keeps one), its cost at the config's price and its
    energy ``reference_energy_wh`` (default: at the config's energy per token)."""
    spec = next(m for m in config.models if m.id == model)
    ref = next((m for m in config.models if m.id == reference), None)
    if ref is not None and reference_energy_wh is None:
        reference_energy_wh = ref.energy_wh(prompt + completion)
    return UsageRecord(
        request_id=uuid.uuid4().hex,
        time=when or datetime.now(UTC),
        department=department,
        key_id=key_id,
        api="openai",
        endpoint="chat",
        requested_model="auto" if routed else model,
        model=model,
        backend=spec.backend,
        decision_reason="test",
        router="first" if routed else None,
        classification=None,
        stream=False,
        prompt_tokens=prompt,
        completion_tokens=completion,
        usage_source="backend",
        latency_ms=latency_ms,
        ttft_ms=latency_ms / 4,
        status=200,
        error_kind=None,
        fallback_from=None,
        cost_micro=spec.price.cost_micro(prompt, completion),
        energy_wh=spec.energy_wh(prompt + completion),
        config_hash="test",
        reference_model=reference,
        reference_cost_micro=ref.price.cost_micro(prompt, completion) if ref else None,
        reference_energy_wh=reference_energy_wh if ref else None,
    )


def record(dashboard: DashboardGateway, records: list[UsageRecord]) -> None:
    ledger = dashboard.gateway.ledger()
    try:
        ledger.insert_usage(records)
    finally:
        ledger.close()


def chat(dashboard: DashboardGateway, key: str, model: str = "auto") -> httpx.Response:
    """One chat request through the gateway (its backend is down: only refusals succeed in
    being what they are)."""
    return dashboard.gateway.post(
        "/v1/chat/completions",
        json={"model": model, "max_tokens": 2, "messages": [{"role": "user", "content": "x"}]},
        headers={"authorization": f"Bearer {key}"},
        timeout=30,
    )


def wait_for_usage(dashboard: DashboardGateway, count: int) -> None:
    """Wait until the gateway's batched writer has stored ``count`` usage records."""
    ledger = dashboard.gateway.ledger()
    try:
        deadline = time.monotonic() + 30
        while ledger.count_usage() < count and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ledger.count_usage() >= count
    finally:
        ledger.close()


def refused_before_the_key(when: datetime | None = None) -> UsageRecord:
    """The usage record an earlier version wrote for a request with a wrong key (no department,
    no key): such a request now leaves none (tests/gateway/test_keyless.py), but a ledger keeps
    the ones written before for the retention period."""
    return UsageRecord(
        request_id=uuid.uuid4().hex,
        time=when or datetime.now(UTC),
        department="",
        key_id="",
        api="openai",
        endpoint="chat",
        requested_model="auto",
        model=None,
        backend=None,
        decision_reason=None,
        router=None,
        classification=None,
        stream=False,
        prompt_tokens=0,
        completion_tokens=0,
        usage_source="none",
        latency_ms=1.0,
        ttft_ms=None,
        status=401,
        error_kind="invalid_api_key",
        fallback_from=None,
        cost_micro=0,
        energy_wh=0.0,
        config_hash="test",
    )


def two_refusals(dashboard: DashboardGateway) -> None:
    """Two refused requests, stored: one before its key was known (a wrong key: no department),
    as an earlier version recorded it (the gateway now counts it without a record), and one of
    research's key (a body naming its model twice)."""
    assert chat(dashboard, "sk-stw-wrong").status_code == 401  # counted, not recorded
    record(dashboard, [refused_before_the_key()])
    twice = (
        b'{"model": "auto", "model": "tiny-small", "messages": [{"role": "user", "content": "x"}]}'
    )
    bearer = {"authorization": f"Bearer {KEYS['research']}", "content-type": "application/json"}
    answer = dashboard.gateway.post("/v1/chat/completions", content=twice, headers=bearer)
    assert answer.status_code == 400
    wait_for_usage(dashboard, 2)


def recorded_traffic(dashboard: DashboardGateway) -> None:
    """Research's routed requests: three recorded with tiny-medium as their reference, at 5 Wh
    each (the reference of their time, and its energy per token then), two from before the
    ledger kept one (today's reference: tiny-large, 8.4 Wh each). A legal key since removed from
    the config (so no reference today): two recorded with tiny-small (0.5 Wh each), one with
    none. All served by tiny-small, 1,200 tokens each: 0.12 Wh."""
    config = dashboard.gateway.config
    research: Served = {"department": "research", "key_id": "research-1", "model": "tiny-small"}
    gone: Served = {"department": "legal", "key_id": "legal-removed", "model": "tiny-small"}
    record(
        dashboard,
        [
            *(served(config, **research, reference="tiny-medium", reference_energy_wh=5.0)
              for _ in range(3)),
            *(served(config, **research) for _ in range(2)),
            *(served(config, **gone, reference="tiny-small", reference_energy_wh=0.5)
              for _ in range(2)),
            served(config, **gone),
        ],
    )  # fmt: skip
