"""Graceful shutdown: on SIGTERM a running stream finishes and the ledger is flushed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from stellwerk.ledger.ledger import open_ledger
from tests.fixtures.gateway import ENVIRON, KEYS, free_port
from tests.fixtures.held_stream import HeldStreams, held_streams
from tests.fixtures.llama import LlamaBackend
from tests.gateway.test_stream_accounting import behind

pytestmark = pytest.mark.llama


def test_sigterm_lets_the_running_stream_finish(
    gateway_raw: dict[str, Any], llama_server: LlamaBackend, tmp_path: Path
) -> None:
    # the server's stream waits after its first pieces until the gateway has stopped listening:
    # the stream surely runs on after the signal (it could end before the signal came)
    with held_streams(llama_server.base_url) as server:
        _sigterm_mid_stream(behind(gateway_raw, server.url), server, tmp_path)


def _sigterm_mid_stream(raw: dict[str, Any], server: HeldStreams, tmp_path: Path) -> None:
    port = free_port()
    raw = {**raw, "server": {**raw["server"], "port": port}}
    config_path = tmp_path / "stellwerk.yaml"
    config_path.write_text(yaml.safe_dump(raw))
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "stellwerk",
            "serve",
            "--config",
            str(config_path),
            "--log-level",
            "warning",
        ],
        env={**os.environ, **ENVIRON},
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(url + "/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline and process.poll() is None, "serve did not start"
            time.sleep(0.1)
        body = {
            "model": "tiny-large",
            "messages": [{"role": "user", "content": "Erzähl eine lange Geschichte."}],
            "max_tokens": 400,
            "stream": True,
        }
        lines = []
        auth = {"authorization": f"Bearer {KEYS['research']}"}
        with httpx.stream(
            "POST", url + "/v1/chat/completions", json=body, headers=auth, timeout=60
        ) as response:
            iterator = response.iter_lines()
            lines.append(next(iterator))
            process.send_signal(signal.SIGTERM)
            _until_refused(url + "/healthz")
            server.release()
            lines.extend(iterator)
        events = [line for line in lines if line]
        assert events[-1] == "data: [DONE]"
        assert sum(1 for line in events if line.startswith("data: {")) > 100
        # uvicorn re-raises the signal after its graceful shutdown: "terminated by SIGTERM"
        assert process.wait(timeout=60) in (0, -signal.SIGTERM)
        _, stderr = process.communicate(timeout=10)
        assert "Traceback" not in stderr
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate()
    ledger = open_ledger(raw["server"]["database_url"])
    records = ledger.recent_usage()
    ledger.close()
    assert len(records) == 1
    assert records[0].status == 200 and records[0].completion_tokens > 100


def _until_refused(url: str) -> None:
    """Until the server at ``url`` takes no new connection (it is shutting down)."""
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(url, timeout=5)
        except httpx.ConnectError:
            return
        except httpx.TransportError:  # accepted, then closed: not refused yet
            pass
        assert time.monotonic() < deadline, "the gateway still takes connections"
        time.sleep(0.05)
