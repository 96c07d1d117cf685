"""``model: "auto"`` through the gateway with the router shipped in the package."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fixtures.gateway import KEYS, in_process
from tests.fixtures.routing_data import OPEN9, rows

pytestmark = pytest.mark.llama
AUTH = {"authorization": f"Bearer {KEYS['research']}"}


def test_routes_trade_quality_for_cost_and_say_why(gateway_raw: dict[str, Any]) -> None:
    raw = {k: v for k, v in gateway_raw.items() if k != "router"}  # default: the shipped router
    prompt = [{"role": "user", "content": "Explain the proof of the prime number theorem."}]
    chosen = {}
    with in_process(raw) as gw:
        for route in ("auto-quality", "auto", "auto-economy"):
            response = gw.post(
                "/v1/chat/completions",
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


def test_a_prompt_the_router_was_trained_on_is_routed_by_its_measured_outcomes(
    gateway_raw: dict[str, Any],
) -> None:
    from stellwerk.routing.artifact import load_artifact
    from stellwerk.routing.loader import shipped_artifact

    shipped = load_artifact(shipped_artifact()).model
    fresh = "What is 17 * 23? Answer with the number only."
    assert shipped.remembered(fresh) == 0  # not a training prompt: predicted, not remembered
    raw = {k: v for k, v in gateway_raw.items() if k != "router"}
    # the shortest training prompt of the shipped router's data (open9), as a client sends it
    train = [r["prompt"] for r in rows(OPEN9) if r["split"] == "train"]
    trained_on = min(train, key=len)
    assert shipped.remembered(trained_on) == 1
    reasons = {}
    with in_process(raw) as gw:
        for prompt in (fresh, trained_on):
            response = gw.post("/v1/chat/completions",
                json={"model": "auto", "messages": [{"role": "user", "content": prompt}],
                      "max_tokens": 2},
                headers=AUTH,
                timeout=60,
            )  # fmt: skip
            assert response.status_code == 200, response.text
            reasons[prompt] = response.headers["x-stellwerk-decision"]
    ledger = gw.ledger()
    stored = {r.decision_reason for r in ledger.recent_usage()}
    ledger.close()
    # the ledger keeps the same reason the client saw
    assert all(any(r and h.endswith(r) for r in stored) for h in reasons.values())
    assert "measured outcome of this prompt" in reasons[trained_on]
    assert "measured" not in reasons[fresh]
