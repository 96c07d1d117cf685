"""The router's expected cost uses how long each model's answers really are in this ledger, and
the request's own cap (``max_tokens``, Ollama's ``num_predict``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from typer.testing import CliRunner

from stellwerk.cli.main import build_app
from tests.fixtures.gateway import KEYS, Gateway, in_process
from tests.gateway.test_feedback import _ask as _ask_routed
from tests.gateway.test_shadow import _wait_for_grade, _with_shadow

pytestmark = pytest.mark.llama
AUTH = {"authorization": f"Bearer {KEYS['research']}"}


def _ask(gw: Gateway, model: str, content: str, max_tokens: int) -> httpx.Response:
    response = gw.post(
        "/v1/chat/completions",
        json={
            "model": model,
            "messages": [{"role": "user", "content": content}],
            "max_tokens": max_tokens,
        },
        headers=AUTH,
        timeout=60,
    )
    assert response.status_code == 200, response.text
    return response


def test_measured_answer_lengths_enter_the_expected_cost(
    gateway_raw: dict[str, Any], tmp_path: Path
) -> None:
    raw = {k: v for k, v in gateway_raw.items() if k != "router"}  # the shipped router
    raw["router"] = {"answer_min_requests": 5}
    with in_process(raw) as gw:
        for i in range(5):  # enough answers of tiny-small to trust their length
            _ask(gw, "tiny-small", f"Count to {i + 3}.", max_tokens=6)
        for i in range(4):  # one answer too few for tiny-medium
            _ask(gw, "tiny-medium", f"Count to {i + 3}.", max_tokens=6)
    ledger = gw.ledger()
    records = [r for r in ledger.recent_usage() if r.model == "tiny-small" and r.status < 400]
    ledger.close()
    assert len(records) == 5
    measured = round(sum(r.completion_tokens for r in records) / len(records))
    assert 1 <= measured != 128  # measured, not the default
    average = f"its answers here average {measured} token{'' if measured == 1 else 's'}"

    # `stellwerk route --json` reads the same ledger as the gateway
    config = tmp_path / "stellwerk.yaml"
    config.write_text(yaml.safe_dump(raw), encoding="utf-8")
    result = CliRunner().invoke(
        build_app(),
        ["route", "Count to five.", "--config", str(config), "--department", "research", "--json"],
    )
    assert result.exit_code == 0, result.output
    scores = {s["model"]: s for s in json.loads(result.stdout)["scores"]}
    assert (scores["tiny-small"]["answer_tokens"], scores["tiny-small"]["answer_source"]) == (
        measured,
        "measured",
    )
    for model in ("tiny-medium", "tiny-large"):
        assert (scores[model]["answer_tokens"], scores[model]["answer_source"]) == (128, "default")
    price_in, price_out = 0.1, 0.3  # tiny-small's prices in the test config
    prompt_tokens = 4  # ceil(len("Count to five.") / 4)
    assert scores["tiny-small"]["expected_cost"] == pytest.approx(
        (prompt_tokens * price_in + measured * price_out) / 1e6
    )

    # a gateway started on that ledger routes with it, and says so
    with in_process(raw) as gw:
        response = _ask(gw, "auto-economy", "Count to five.", max_tokens=100)
        assert response.headers["x-stellwerk-model"] == "tiny-small"
        decision = response.headers["x-stellwerk-decision"]
        assert decision.endswith(average)
        # Ollama's num_predict caps the expected answer of every candidate
        capped = gw.post(
            "/api/chat",
            json={
                "model": "auto",
                "messages": [{"role": "user", "content": "Count to five."}],
                "stream": False,
                "options": {"num_predict": 1},
            },
            headers=AUTH,
            timeout=60,
        )
        assert capped.status_code == 200, capped.text
        assert capped.headers["x-stellwerk-decision"].endswith(
            "answer capped at 1 token by the request"
        )
    ledger = gw.ledger()
    reasons = {r.decision_reason for r in ledger.recent_usage(limit=2)}
    ledger.close()
    assert any(r and r.endswith(average) for r in reasons)


@pytest.mark.postgres
def test_shadow_gradings_calls_leave_the_reference_models_length_unmeasured(
    gateway_raw: dict[str, Any], pg_schema_url: str, tmp_path: Path
) -> None:
    """walk24: the reference's answers and verdicts of shadow grading (cut short, a few tokens)
    were counted as its answers, so the largest model looked cheaper to every routed request."""
    raw = _with_shadow(gateway_raw)
    raw["router"]["answer_min_requests"] = 1
    raw["server"] = {**raw["server"], "database_url": pg_schema_url}
    with in_process(raw) as gw:
        _ask_routed(gw, "auto-economy", "Summarise the memo about the new parking rules.")
        assert _wait_for_grade(gw)
    ledger = gw.ledger()  # once the gateway has stopped: its usage writer is drained
    try:
        calls = {(r.key_id, r.model) for r in ledger.recent_usage() if r.status < 400}
    finally:
        ledger.close()
    assert ("shadow", "tiny-large") in calls and ("research-1", "tiny-small") in calls

    config = tmp_path / "stellwerk.yaml"
    config.write_text(yaml.safe_dump(raw), encoding="utf-8")
    result = CliRunner().invoke(
        build_app(),
        ["route", "Count to five.", "--config", str(config), "--department", "research", "--json"],
    )
    assert result.exit_code == 0, result.output
    scores = {s["model"]: s for s in json.loads(result.stdout)["scores"]}
    assert scores["tiny-small"]["answer_source"] == "measured"  # the client's request
    assert (scores["tiny-large"]["answer_tokens"], scores["tiny-large"]["answer_source"]) == (
        128,
        "default",
    )
