"""A backend that dies is skipped once its breaker opens, and used again when it returns."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from stellwerk.demo.llama_server import (
    LlamaServer,
    demo_models,
    start_llama_server,
    stop_llama_server,
)
from tests.fixtures.gateway import KEYS, Gateway, in_process
from tests.fixtures.llama import LlamaBackend

pytestmark = pytest.mark.llama
AUTH = {"authorization": f"Bearer {KEYS['research']}"}
CHAT = {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 2}
BREAKER = {"failures": 2, "cooldown_s": 0.5, "probe_interval_s": 0.2, "probe_timeout_s": 2}


def _wait_for(predicate: Any, timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.1)


def _with_backend(raw: dict[str, Any], name: str, url: str, **timeouts: float) -> dict[str, Any]:
    backend: dict[str, Any] = {"name": name, "kind": "openai", "base_url": url, "breaker": BREAKER}
    if timeouts:
        backend["timeouts"] = timeouts
    model = {**raw["models"][0], "id": f"{name}-small", "backend": name}
    return {**raw, "backends": [backend, *raw["backends"]], "models": [model, *raw["models"]]}


@pytest.fixture
def own_llama(tmp_path: Path, llama_server: LlamaBackend) -> Iterator[list[LlamaServer]]:
    """A second llama.cpp server that the test may stop and start again on the same port."""
    running = [start_llama_server(demo_models(tmp_path / "own"), workdir=tmp_path / "own")]
    yield running
    for server in running:
        if server.process.poll() is None:
            stop_llama_server(server)


def test_dead_backend_is_skipped_then_used_again(
    gateway_raw: dict[str, Any], own_llama: list[LlamaServer], tmp_path: Path
) -> None:
    flaky = own_llama[0]
    raw = _with_backend(gateway_raw, "flaky", flaky.base_url)
    with in_process(raw) as gw:
        chat = "/v1/chat/completions"
        first = gw.post(chat, json={**CHAT, "model": "auto"}, headers=AUTH)
        assert first.headers["x-stellwerk-model"] == "flaky-small"

        # stop the flaky backend: its health probe opens the breaker
        stop_llama_server(flaky)
        _wait_for(lambda: _circuit(gw, "flaky") == "open")
        skipped = gw.post(chat, json={**CHAT, "model": "auto"}, headers=AUTH)
        assert skipped.status_code == 200
        assert skipped.headers["x-stellwerk-model"] == "tiny-small"
        assert skipped.headers["x-stellwerk-fallback-from"] == "flaky-small"
        direct = gw.post(chat, json={**CHAT, "model": "flaky-small"}, headers=AUTH)
        assert direct.status_code == 503
        assert direct.json()["error"]["code"] in {"backend_circuit_open", "backend_unavailable"}
        metrics = gw.get("/metrics").text
        assert 'stellwerk_backend_circuit_state{backend="flaky"} 2.0' in metrics

        # bring it back on the same port: the probe closes the breaker
        own_llama.append(
            start_llama_server(
                demo_models(tmp_path / "again"), workdir=tmp_path / "again", port=flaky.port
            )
        )
        _wait_for(lambda: _circuit(gw, "flaky") == "closed")
        back = gw.post(chat, json={**CHAT, "model": "auto"}, headers=AUTH)
        assert back.headers["x-stellwerk-model"] == "flaky-small"
        assert "x-stellwerk-fallback-from" not in back.headers


def test_hanging_backend_opens_its_breaker(gateway_raw: dict[str, Any]) -> None:
    with socket.socket() as sock:  # accepts connections (the kernel's backlog), never answers
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        port = sock.getsockname()[1]
        raw = _with_backend(
            gateway_raw, "stuck", f"http://127.0.0.1:{port}", first_token=0.3, total=1
        )
        with in_process(raw) as gw:
            chat = "/v1/chat/completions"
            codes = [
                gw.post(
                    chat, json={**CHAT, "model": "stuck-small"}, headers=AUTH, timeout=10
                ).json()["error"]["code"]
                for _ in range(3)
            ]
            # timeouts (of requests and of health probes) open the breaker; then it is skipped
            assert codes[0] == "backend_timeout"
            assert codes[-1] == "backend_circuit_open"
            routed = gw.post(chat, json={**CHAT, "model": "auto"}, headers=AUTH, timeout=10)
            assert routed.status_code == 200
            assert routed.headers["x-stellwerk-model"] == "tiny-small"


def _circuit(gw: Gateway, backend: str) -> str:
    state: str = gw.get("/readyz", timeout=10).json()["backends"][backend]["circuit"]
    return state
