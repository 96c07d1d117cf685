"""Exactly one usage record per request, failed ones included, and never the prompt's text."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.gateway import KEYS, in_process

pytestmark = pytest.mark.llama

CANARY = "CANARY-7f3a-prompt-text-must-not-be-stored"


def test_one_record_per_request(gateway_raw: dict[str, Any], tmp_path: Path) -> None:
    auth = {"authorization": f"Bearer {KEYS['research']}"}
    with in_process(gateway_raw) as gw:
        client = gw.openai(KEYS["research"], max_retries=0)
        messages: Any = [{"role": "user", "content": CANARY}]
        client.chat.completions.create(model="tiny-small", messages=messages, max_tokens=3)
        list(
            client.chat.completions.create(
                model="tiny-medium", messages=messages, max_tokens=3, stream=True
            )
        )
        gw.post(
            "/api/chat",
            json={"model": "tiny-large", "messages": messages, "options": {"num_predict": 3}},
            headers=auth,
        ).raise_for_status()
        client.embeddings.create(model="tiny-embed", input=CANARY)
        refused = [
            gw.post("/v1/chat/completions", json={"model": "x"}, headers=auth),
            gw.post("/v1/chat/completions", json={"model": "tiny-small"}),
            gw.post(
                "/api/chat",
                json={"model": "nope", "messages": messages},
                headers=auth,
            ),
        ]
        assert [r.status_code for r in refused] == [400, 401, 404]
        client.close()

    ledger = gw.ledger()
    records = sorted(ledger.recent_usage(limit=100), key=lambda r: r.time)
    ledger.close()
    assert len(records) == 6  # the request without a key is counted, not recorded
    ok = [r for r in records if r.status == 200]
    assert [(r.api, r.endpoint, r.model, r.stream) for r in ok] == [
        ("openai", "chat", "tiny-small", False),
        ("openai", "chat", "tiny-medium", True),
        ("ollama", "chat", "tiny-large", True),
        ("openai", "embeddings", "tiny-embed", False),
    ]
    for record in ok:
        assert record.prompt_tokens > 0
        assert record.department == "research" and record.key_id == "research-1"
        assert record.latency_ms > 0 and record.cost > 0
        assert record.config_hash
    chat = [r for r in ok if r.endpoint == "chat"]
    assert all(0 < r.completion_tokens <= 3 for r in chat)
    assert all(r.ttft_ms is not None for r in chat if r.stream)
    assert {r.usage_source for r in chat if r.stream} == {"counted:chunks+probe"}
    failed = [r for r in records if r.status != 200]
    assert sorted(r.status for r in failed) == [400, 404]
    assert all(r.error_kind for r in failed)

    database = Path(gateway_raw["server"]["database_url"].removeprefix("sqlite:///"))
    for path in database.parent.glob(database.name + "*"):
        assert CANARY.encode() not in path.read_bytes()
