"""Requests refused before their key was known are counted, not recorded one each (walk15
MEDIUM-2): anyone who reaches the port could otherwise fill the ledger at thousands of rows a
second. A known key's refusal keeps its record."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from stellwerk.gateway.keyless import Keyless
from stellwerk.gateway.metrics import Metrics
from tests.fixtures.gateway import (
    ENVIRON,
    KEYS,
    OFFLINE_BACKEND,
    bearer,
    in_process,
    raw_config,
)

CHAT = {"model": "auto", "messages": [{"role": "user", "content": "x"}]}
N = 40


def unauthenticated(metrics: str) -> dict[tuple[str, str, str], float]:
    """``stellwerk_unauthenticated_requests_total`` by (api, endpoint, reason)."""
    return {
        (s.labels["api"], s.labels["endpoint"], s.labels["reason"]): s.value
        for family in text_string_to_metric_families(metrics)
        for s in family.samples
        if s.name == "stellwerk_unauthenticated_requests_total"
    }


def test_requests_without_a_valid_key_leave_no_record_each(any_db_url: str) -> None:
    """On SQLite and PostgreSQL: N requests without a valid key leave no N rows."""
    with in_process(raw_config(OFFLINE_BACKEND, any_db_url)) as gw, gw.client() as client:
        ways: list[dict[str, str]] = [
            {},  # no key
            {"authorization": "Basic abc"},  # malformed
            bearer("sk-stw-made-up"),  # unknown
        ]
        for i in range(N):
            answer = client.post("/v1/chat/completions", json=CHAT, headers=ways[i % 3])
            assert answer.status_code == 401
            assert "x-stellwerk-request-id" not in answer.headers  # it names no record
        assert client.post("/api/chat", json=CHAT).status_code == 401
        embed = {"model": "tiny-embed", "input": "x"}
        assert client.post("/v1/embeddings", json=embed, headers=ways[2]).status_code == 401
        twice = [("authorization", "Bearer a"), ("authorization", "Bearer b")]
        assert client.post("/v1/chat/completions", json=CHAT, headers=twice).status_code == 400
        # a known key's refusal keeps its record, and its answer names it
        known = client.post(
            "/v1/chat/completions", json={**CHAT, "model": "nope"}, headers=bearer(KEYS["legal"])
        )
        assert known.status_code == 404
        request_id = known.headers["x-stellwerk-request-id"]
        counted = unauthenticated(client.get("/metrics").text)

    assert counted == {
        ("openai", "chat", "invalid_api_key"): N,
        ("ollama", "chat", "invalid_api_key"): 1,
        ("openai", "embeddings", "invalid_api_key"): 1,
        ("openai", "chat", "duplicate_header"): 1,
    }
    ledger = gw.ledger()
    try:
        records = ledger.recent_usage(limit=1000)
    finally:
        ledger.close()
    assert [(r.request_id, r.department, r.key_id, r.status) for r in records] == [
        (request_id, "legal", "legal-1", 404)
    ]


def test_the_log_says_it_at_most_once_a_minute(caplog: pytest.LogCaptureFixture) -> None:
    """A flood of requests without a key is one log line a minute, with how many there were,
    not a line each (the access log has each, when it is on)."""
    now = [0.0]
    keyless = Keyless(Metrics().unauthenticated, clock=lambda: now[0])
    with caplog.at_level(logging.WARNING, logger="stellwerk.gateway"):
        for at, endpoint in [(0, "chat"), (10, "chat"), (30, "embeddings"), (59, "chat")]:
            now[0] = at
            keyless.refused("openai", endpoint, "invalid_api_key")
        assert len(caplog.messages) == 1 and caplog.messages[0].startswith("1 request(s)")
        now[0] = 61
        keyless.refused("ollama", "chat", "invalid_api_key")
    assert len(caplog.messages) == 2
    assert caplog.messages[1].startswith(
        "4 request(s) refused before their key was known since the last such line (2 openai chat"
        " invalid_api_key, 1 openai embeddings invalid_api_key, 1 ollama chat invalid_api_key)"
    )


def test_a_wrong_key_is_counted_on_every_endpoint_not_only_those_that_record(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """walk28 F2: guessing keys against the model list, the admin API or the metrics was seen
    only in the access log, which did not say who guessed. Each 401 for an unknown key is
    counted under the route it asked for (bounded: no label value from the client's path), and
    the access line names the client's address."""
    raw = raw_config(OFFLINE_BACKEND, f"sqlite:///{tmp_path / 'ledger.db'}")
    raw["server"]["ops_require_key"] = True
    ops = {"id": "ops-1", "key_env": "STW_TEST_KEY_OPS", "role": "metrics"}
    raw["departments"].append({"name": "it", "keys": [ops]})
    ops_key = "sk-stw-test-ops-3c1f9e2a7b5d4e60"
    wrong = bearer("sk-guess-aaaaaaaaaaaaaaaa")
    caplog.set_level(logging.INFO, logger="stellwerk.access")
    with (
        in_process(raw, {**ENVIRON, "STW_TEST_KEY_OPS": ops_key}) as gw,
        gw.client() as client,
    ):
        for _ in range(3):
            for path in ("/v1/models", "/api/tags", "/admin/keys", "/metrics", "/readyz"):
                assert client.get(path, headers=wrong).status_code == 401, path
        assert client.get(f"/admin/keys/{'x' * 40}", headers=wrong).status_code == 401
        assert client.post("/v1/feedback", json={}, headers=wrong).status_code == 401
        assert client.post("/v1/chat/completions", json=CHAT, headers=wrong).status_code == 401
        assert client.get("/v1/models", headers=bearer(KEYS["legal"])).status_code == 200
        counted = unauthenticated(client.get("/metrics", headers=bearer(ops_key)).text)

    assert counted == {
        ("openai", "/v1/models", "invalid_api_key"): 3,
        ("ollama", "/api/tags", "invalid_api_key"): 3,
        ("admin", "/admin", "invalid_api_key"): 4,  # refused before routing, any admin path
        ("ops", "/metrics", "invalid_api_key"): 3,
        ("ops", "/readyz", "invalid_api_key"): 3,
        ("openai", "/v1/feedback", "invalid_api_key"): 1,
        ("openai", "chat", "invalid_api_key"): 1,  # as before: its record's place counts it
    }
    lines = [r.getMessage() for r in caplog.records if r.name == "stellwerk.access"]
    refused = [line for line in lines if " 401 " in line]
    assert len(refused) == 18 and all(" client=127.0.0.1 " in line for line in refused), lines
