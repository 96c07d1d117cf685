"""``model: "auto"`` through the gateway with the router shipped in the package."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.fixtures.gateway import KEYS, running_gateway

pytestmark = pytest.mark.llama
AUTH = {"authorization": f"Bearer {KEYS['research']}"}


def test_routes_trade_quality_for_cost_and_say_why(gateway_raw: dict[str, Any]) -> None:
    raw = {k: v for k, v in gateway_raw.items() if k != "router"}  # default: the shipped router
    prompt = [{"role": "user", "content": "Explain the proof of the prime number theorem."}]
    chosen = {}
    with running_gateway(raw) as gw:
        for route in ("auto-quality", "auto", "auto-economy"):
            response = httpx.post(
                gw.openai_url + "/chat/completions",
                json={"model": route, "messages": prompt, "max_tokens": 3},
                headers=AUTH,
                timeout=60,
            )
            assert response.status_code == 200, response.text
            decision = response.headers["x-stellwerk-decision"]
            assert decision.startswith(f"route={route}; router=learned:")
            chosen[route] = response.headers["x-stellwerk-model"]
            assert response.json()["model"] == chosen[route]
    # the test config prices small < medium < large: more weight on cost, a smaller model
    assert chosen["auto-quality"] == "tiny-large"
    assert chosen["auto-economy"] == "tiny-small"
    ledger = gw.ledger()
    records = ledger.recent_usage()
    ledger.close()
    assert {r.model for r in records} >= {"tiny-large", "tiny-small"}
    assert all(r.router and r.router.startswith("learned:") for r in records)
    assert all(r.decision_reason and "predicted quality" in r.decision_reason for r in records)
