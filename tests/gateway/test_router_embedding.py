"""``model: "auto"`` with a router trained on embeddings: the gateway asks the configured
embedding model for the prompt's embedding before deciding (after the request's limits and
budget admitted it), and decides without it when that model cannot answer."""

from __future__ import annotations

import copy
import json
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from typer.testing import CliRunner

from stellwerk.cli.main import build_app
from stellwerk.config import parse_config
from stellwerk.errors import ConfigError
from stellwerk.gateway import create_app
from tests.fixtures.embed_router import UNSEEN_GREETING, UNSEEN_PROOF
from tests.fixtures.gateway import ENVIRON, KEYS, Gateway, free_port, in_process, running_gateway
from tests.fixtures.held_stream import held_streams
from tests.fixtures.llama import LlamaBackend
from tests.fixtures.loopback import recording_proxy

pytestmark = pytest.mark.llama
AUTH = {"authorization": f"Bearer {KEYS['research']}"}
UNAVAILABLE = "embedding unavailable: decided on the text alone"
CAPPED_KEY = "sk-stw-test-capped-3e7a9d1c5b2f4068"


def with_router(raw: dict[str, Any], artifact: Path, embedding_model: str | None) -> dict[str, Any]:
    """``raw`` routed by ``artifact``; ``router-embed`` is an embedding model on a dead port."""
    dead = {"name": "embedder", "kind": "openai", "base_url": f"http://127.0.0.1:{free_port()}"}
    extra = {**raw["models"][3], "id": "router-embed", "backend": "embedder"}
    router = {"kind": "learned", "artifact": str(artifact), "embedding_model": embedding_model}
    return {
        **raw,
        "backends": [*raw["backends"], dead],
        "models": [*raw["models"], extra],
        "router": router,
    }


def ask(gw: Gateway, prompt: str) -> httpx.Response:
    response = gw.post(
        "/v1/chat/completions",
        json={"model": "auto", "messages": [{"role": "user", "content": prompt}], "max_tokens": 2},
        headers=AUTH,
        timeout=60,
    )
    assert response.status_code == 200, response.text
    return response


def test_auto_reads_the_prompts_embedding(
    gateway_raw: dict[str, Any], embedding_router: Path
) -> None:
    with in_process(with_router(gateway_raw, embedding_router, "tiny-embed")) as gw:
        easy = ask(gw, UNSEEN_GREETING)
        hard = ask(gw, UNSEEN_PROOF)
        with closing(gw.ollama(headers=AUTH)) as local:
            chat = local.chat(
                model="auto", messages=[{"role": "user", "content": "Say hello to Yusuf."}]
            )
    # without the embedding this router sends everything to tiny-large (see the fixture)
    assert easy.headers["x-stellwerk-model"] == "tiny-small"
    assert hard.headers["x-stellwerk-model"] == "tiny-large"
    assert chat.model == "tiny-small"
    for response in (easy, hard):
        decision = response.headers["x-stellwerk-decision"]
        assert decision.startswith("route=auto; router=learned:")
        assert "embedding" not in decision


def test_auto_answers_when_the_embedding_model_is_down(
    gateway_raw: dict[str, Any], embedding_router: Path
) -> None:
    with in_process(with_router(gateway_raw, embedding_router, "router-embed")) as gw:
        responses = [ask(gw, UNSEEN_GREETING) for _ in range(2)]
    ledger = gw.ledger()  # after the gateway stopped: its writer has flushed
    records = ledger.recent_usage()
    ledger.close()
    assert len(records) == 2
    for response in responses:
        assert response.headers["x-stellwerk-model"] == "tiny-large"
        assert UNAVAILABLE in response.headers["x-stellwerk-decision"]
        assert response.json()["choices"][0]["message"]["role"] == "assistant"
    assert all(r.status == 200 and UNAVAILABLE in (r.decision_reason or "") for r in records)


def test_a_router_that_reads_embeddings_needs_an_embedding_model(
    gateway_raw: dict[str, Any], embedding_router: Path
) -> None:
    raw = with_router(gateway_raw, embedding_router, None)
    with pytest.raises(ConfigError, match=r"router\.embedding_model: the artifact .* was trained"):
        create_app(parse_config(raw), environ=ENVIRON)


@pytest.mark.parametrize(
    ("limits", "code"),
    [({"monthly_budget": 0}, "budget_exceeded"), ({"tokens_per_minute": 10}, "rate_limited")],
    ids=["budget", "tokens"],
)
def test_a_request_its_limits_refuse_costs_no_embedding_call(
    gateway_raw: dict[str, Any],
    embedding_router: Path,
    llama_server: LlamaBackend,
    limits: dict[str, Any],
    code: str,
) -> None:
    raw = copy.deepcopy(with_router(gateway_raw, embedding_router, "proxied-embed"))
    raw["departments"][0]["keys"].append(
        {"id": "research-capped", "key_env": "STW_TEST_KEY_CAPPED", "limits": limits}
    )
    capped = {"authorization": f"Bearer {CAPPED_KEY}"}
    chat = {"model": "auto", "messages": [{"role": "user", "content": UNSEEN_GREETING}]}
    with recording_proxy(llama_server.base_url) as proxy:
        # the embedding model's backend is the real llama.cpp server behind a proxy that counts
        raw["backends"].append({"name": "embed-proxy", "kind": "openai", "base_url": proxy.url})
        raw["models"].append({**raw["models"][3], "id": "proxied-embed", "backend": "embed-proxy"})
        with in_process(raw, {**ENVIRON, "STW_TEST_KEY_CAPPED": CAPPED_KEY}) as gw:
            refused = [
                gw.post("/v1/chat/completions", json=chat, headers=capped),
                gw.post(
                    "/v1/chat/completions",
                    json={**chat, "stream": True},
                    headers=capped,
                ),
                gw.post("/api/chat", json=chat, headers=capped),
            ]
            asked_when_refused = proxy.paths.count("/v1/embeddings")
            admitted = ask(gw, UNSEEN_GREETING)  # the department's other key
    assert [r.status_code for r in refused] == [429, 429, 429]
    assert refused[0].json()["error"]["code"] == code
    assert asked_when_refused == 0
    assert proxy.paths.count("/v1/embeddings") == 1
    assert admitted.headers["x-stellwerk-model"] == "tiny-small"  # decided on the embedding
    ledger = gw.ledger()
    records = ledger.recent_usage()
    ledger.close()
    assert sorted(r.status for r in records) == [200, 429, 429, 429]


def test_a_stream_over_the_keys_stream_limit_costs_no_embedding_call(
    gateway_raw: dict[str, Any], embedding_router: Path, llama_server: LlamaBackend
) -> None:
    raw = copy.deepcopy(with_router(gateway_raw, embedding_router, "proxied-embed"))
    raw["server"].setdefault("limits", {})["max_streams_per_key"] = 1
    stream = {
        "model": "auto",
        "messages": [{"role": "user", "content": UNSEEN_GREETING}],
        "max_tokens": 64,
        "stream": True,
    }
    with (
        recording_proxy(llama_server.base_url) as proxy,
        held_streams(llama_server.base_url) as chats,  # the first stream runs until released
    ):
        raw["backends"][0]["base_url"] = chats.url
        raw["backends"].append({"name": "embed-proxy", "kind": "openai", "base_url": proxy.url})
        raw["models"].append({**raw["models"][3], "id": "proxied-embed", "backend": "embed-proxy"})
        with (
            running_gateway(raw) as gw,  # a socket: the first stream stays open while the second
            httpx.Client(base_url=gw.openai_url, headers=AUTH, timeout=60) as client,
            client.stream("POST", "/chat/completions", json=stream) as first,
        ):
            assert first.status_code == 200
            asked_for_first = proxy.paths.count("/v1/embeddings")
            second = client.post("/chat/completions", json=stream)
            asked_for_second = proxy.paths.count("/v1/embeddings") - asked_for_first
            chats.release()
            for _ in first.iter_lines():
                pass
    assert asked_for_first == 1
    assert second.status_code == 429
    assert second.json()["error"]["code"] == "too_many_streams"
    assert asked_for_second == 0


@pytest.mark.parametrize(
    ("embedding_model", "chosen", "note"),
    [("tiny-embed", "tiny-small", None), ("router-embed", "tiny-large", UNAVAILABLE)],
    ids=["embedding", "embedding-model-down"],
)
def test_stellwerk_route_asks_for_the_embedding_as_the_gateway_does(
    gateway_raw: dict[str, Any],
    embedding_router: Path,
    tmp_path: Path,
    embedding_model: str,
    chosen: str,
    note: str | None,
) -> None:
    config = tmp_path / "stellwerk.yaml"
    config.write_text(yaml.safe_dump(with_router(gateway_raw, embedding_router, embedding_model)))
    result = CliRunner().invoke(
        build_app(),
        ["route", UNSEEN_GREETING, "--config", str(config), "--department", "research", "--json"],
    )
    assert result.exit_code == 0, result.output
    decision = json.loads(result.stdout)
    assert decision["model"] == chosen  # as test_auto_reads_the_prompts_embedding, through HTTP
    if note is None:
        assert "embedding" not in decision["reason"] and "warning" not in result.stderr
    else:
        assert note in decision["reason"]
        assert "warning: embedding from 'router-embed' unavailable" in result.stderr
