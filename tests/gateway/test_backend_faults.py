"""A backend that is down or hangs: 503/504 naming it, fallback to the next candidate."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import closing
from typing import Any

import pytest

from tests.fixtures.gateway import KEYS, free_port, in_process

pytestmark = pytest.mark.llama
AUTH = {"authorization": f"Bearer {KEYS['research']}"}


@pytest.fixture
def hanging_port() -> Iterator[int]:
    """A port that accepts TCP connections (the kernel's backlog) and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        yield sock.getsockname()[1]


def _with_backend(raw: dict[str, Any], name: str, url: str, **timeouts: float) -> dict[str, Any]:
    backend: dict[str, Any] = {"name": name, "kind": "openai", "base_url": url}
    if timeouts:
        backend["timeouts"] = timeouts
    model = {**raw["models"][0], "id": f"{name}-small", "backend": name}
    return {**raw, "backends": [backend, *raw["backends"]], "models": [model, *raw["models"]]}


def test_dead_backend_is_503_naming_it_and_auto_falls_back(gateway_raw: dict[str, Any]) -> None:
    raw = _with_backend(gateway_raw, "dead", f"http://127.0.0.1:{free_port()}")
    chat = {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 2}
    with in_process(raw) as gw:
        url = "/v1/chat/completions"
        direct = gw.post(url, json={**chat, "model": "dead-small"}, headers=AUTH)
        assert direct.status_code == 503
        assert "backend 'dead'" in direct.json()["error"]["message"]
        assert direct.json()["error"]["code"] == "backend_unavailable"

        routed = gw.post(url, json={**chat, "model": "auto"}, headers=AUTH)
        assert routed.status_code == 200
        assert routed.headers["x-stellwerk-model"] == "tiny-small"
        assert routed.headers["x-stellwerk-fallback-from"] == "dead-small"

        streamed = gw.post(url, json={**chat, "model": "auto", "stream": True}, headers=AUTH)
        assert streamed.status_code == 200
        assert streamed.headers["x-stellwerk-fallback-from"] == "dead-small"
        assert streamed.text.rstrip().endswith("data: [DONE]")

        metrics = gw.get("/metrics").text
        assert 'stellwerk_upstream_errors_total{backend="dead",kind="unavailable"} 3.0' in metrics
        ready = gw.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["backends"]["dead"]["ready"] is False
        assert ready.json()["backends"]["llamacpp"]["ready"] is True

    ledger = gw.ledger()
    records = {r.request_id: r for r in ledger.recent_usage()}
    ledger.close()
    fallbacks = [r for r in records.values() if r.fallback_from == "dead-small"]
    assert len(fallbacks) == 2 and all(r.model == "tiny-small" for r in fallbacks)


def test_ps_lists_only_the_models_whose_backend_serves_now(gateway_raw: dict[str, Any]) -> None:
    """``/api/ps``, "the models available now": not those of a backend whose probe fails
    (``/readyz`` 503, every request to it a 503), through the real ``ollama`` client."""
    raw = _with_backend(gateway_raw, "dead", f"http://127.0.0.1:{free_port()}")
    raw["backends"][0]["breaker"] = {"probe_interval_s": 0.1, "probe_timeout_s": 1}
    with in_process(raw) as gw, closing(gw.ollama(headers=AUTH)) as client:
        deadline = time.monotonic() + 30
        while gw.get("/readyz").status_code != 503:
            assert time.monotonic() < deadline, "the probe never found the backend down"
            time.sleep(0.1)
        listed = {m.model for m in client.ps().models}
        tags = {m.model for m in client.list().models}
    assert "dead-small:latest" not in listed
    assert {f"tiny-{n}:latest" for n in ("small", "medium", "large", "embed")} <= listed
    assert "dead-small:latest" in tags  # configured (``/api/tags``), not available now


def test_hanging_backend_times_out_with_504(gateway_raw: dict[str, Any], hanging_port: int) -> None:
    raw = _with_backend(
        gateway_raw, "stuck", f"http://127.0.0.1:{hanging_port}", first_token=0.5, total=2
    )
    with in_process(raw) as gw:
        for body in ({"stream": False}, {"stream": True}):
            response = gw.post(
                "/v1/chat/completions",
                json={
                    "model": "stuck-small",
                    "messages": [{"role": "user", "content": "x"}],
                    **body,
                },
                headers=AUTH,
                timeout=30,
            )
            assert response.status_code == 504
            assert "backend 'stuck'" in response.json()["error"]["message"]
