"""Security: the prompt and the keys are stored nowhere, nothing connects anywhere but the
configured backends, no CORS unless configured.

A canary prompt goes through every endpoint that takes a prompt (both APIs, plain and streamed,
embeddings), with every logger at DEBUG; then no log line and no row of any ledger table (nor the
database files) holds it, or the API keys that sent it.
A ``socket.connect`` audit hook records every address this process connects to while an
in-process gateway starts, serves that traffic and stops: only the backend and the gateway itself
(the test's own client connections) may appear.
"""

from __future__ import annotations

import logging
import sys
import threading
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import inspect, text

from stellwerk.config import parse_config
from stellwerk.gateway import create_app
from stellwerk.gateway.server import serve_in_thread
from tests.fixtures.gateway import (
    ENVIRON,
    KEYS,
    Gateway,
    in_process,
    migrated_copy,
    raw_config,
    running_gateway,
)

CANARY = "CANARY-5d1e-ein-Geheimnis-das-nirgends-stehen-darf"
AUTH = {"authorization": f"Bearer {KEYS['research']}"}


@dataclass
class Connections:
    """Addresses this process connects to (``socket.connect``) or looks up (getaddrinfo)."""

    recording: bool = False
    connects: list[Any] = field(default_factory=list)
    lookups: list[Any] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def hook(self, event: str, args: tuple[Any, ...]) -> None:
        if not self.recording:
            return
        if event == "socket.connect":
            with self.lock:
                self.connects.append(args[1])
        elif event == "socket.getaddrinfo":
            with self.lock:
                self.lookups.append(args[0])


@pytest.fixture(scope="session")
def connections() -> Connections:
    """One recorder for the session: an audit hook cannot be removed once added."""
    recorder = Connections()
    sys.addaudithook(recorder.hook)
    return recorder


def send_canary_everywhere(gw: Gateway) -> None:
    """The canary through every endpoint that takes a prompt, with the real client libraries."""
    client = gw.openai(KEYS["research"], max_retries=0)
    messages: Any = [{"role": "user", "content": CANARY}]
    client.chat.completions.create(model="tiny-small", messages=messages, max_tokens=3)
    stream = client.chat.completions.create(
        model="auto", messages=messages, max_tokens=3, stream=True
    )
    assert list(stream)
    client.embeddings.create(model="tiny-embed", input=[CANARY, CANARY + "-2"])
    client.close()
    with closing(gw.ollama(headers=AUTH)) as local:
        local.chat(model="tiny-small", messages=messages, stream=False, options={"num_predict": 3})
        assert list(local.chat(model="auto", messages=messages, options={"num_predict": 3}))
        local.embed(model="tiny-embed", input=CANARY)
    # A refused request carries the canary too: an unknown model, and a bad key.
    refused = gw.post(
        "/v1/chat/completions",
        json={"model": "no-such-model", "messages": messages},
        headers=AUTH,
    )
    assert refused.status_code == 404
    anonymous = gw.post("/api/chat", json={"model": "tiny-small", "messages": messages})
    assert anonymous.status_code == 401


def ledger_rows(gw: Gateway) -> dict[str, list[str]]:
    """Every row of every table, as text."""
    ledger = gw.ledger()
    try:
        with ledger.connect() as conn:
            tables = inspect(conn).get_table_names()
            return {
                table: [repr(tuple(row)) for row in conn.execute(text(f'SELECT * FROM "{table}"'))]
                for table in tables
            }
    finally:
        ledger.close()


@pytest.mark.llama
def test_canary_prompt_is_in_no_table_and_no_log_line(
    gateway_raw: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "httpx", "httpcore", "stellwerk"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    with running_gateway(gateway_raw) as gw:  # uvicorn's own log lines are read too
        send_canary_everywhere(gw)
    assert len(caplog.records) > 20, "DEBUG logging was not captured"
    secrets = [CANARY, *KEYS.values()]  # the prompt, and the API keys too
    leaked = [r.getMessage() for r in caplog.records if any(s in r.getMessage() for s in secrets)]
    assert leaked == []

    rows = ledger_rows(gw)
    assert sum(len(r) for r in rows.values()) >= 8  # the requests above were recorded
    for secret in secrets:
        assert [t for t, table in rows.items() if any(secret in r for r in table)] == []
    database = Path(gateway_raw["server"]["database_url"].removeprefix("sqlite:///"))
    for path in database.parent.glob(database.name + "*"):  # the WAL too
        for secret in secrets:
            assert secret.encode() not in path.read_bytes(), path.name


def _address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.port is not None
    return parts.hostname, parts.port


@pytest.mark.llama
def test_no_connection_but_to_the_configured_backends(
    gateway_raw: dict[str, Any], connections: Connections
) -> None:
    backend = _address(gateway_raw["backends"][0]["base_url"])
    connections.connects.clear()
    connections.lookups.clear()
    connections.recording = True
    try:
        # From the config onwards: building the app, start-up, traffic, shutdown.
        app = create_app(parse_config(gateway_raw), environ=ENVIRON)
        # The asyncio loop: uvloop connects in C, out of the audit hook's sight.
        with serve_in_thread(app, loop="asyncio") as url:
            gw = Gateway(url, parse_config(gateway_raw), gateway_raw["server"]["database_url"])
            send_canary_everywhere(gw)
            assert gw.get("/readyz").status_code == 200  # probes the backends
    finally:
        connections.recording = False
    itself = _address(url)
    seen = {tuple(a[:2]) if isinstance(a, tuple) else a for a in connections.connects}
    assert backend in seen and itself in seen  # the hook saw the traffic
    assert seen - {backend, itself} == set()
    assert set(connections.lookups) <= {"127.0.0.1", "localhost", None}


def _preflight(gw: Gateway, origin: str) -> httpx.Response:
    return gw.request(
        "OPTIONS",
        "/v1/chat/completions",
        headers={
            "origin": origin,
            "access-control-request-method": "POST",
            "access-control-request-headers": "authorization,content-type",
        },
    )


@pytest.fixture
def offline_raw(tmp_path: Path, ledger_template: Path) -> dict[str, Any]:
    """A gateway whose backend is never called (CORS is answered before any handler)."""
    return raw_config("http://127.0.0.1:9", migrated_copy(ledger_template, tmp_path / "ledger.db"))


def _cors_headers(response: httpx.Response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k.startswith("access-control-")}


def test_no_cors_headers_unless_configured(offline_raw: dict[str, Any]) -> None:
    with in_process(offline_raw) as gw:
        preflight = _preflight(gw, "https://intranet.example")
        simple = gw.get("/v1/models", headers={**AUTH, "origin": "https://x.example"})
    assert preflight.status_code in (404, 405)
    assert _cors_headers(preflight) == {}
    assert simple.status_code == 200
    assert _cors_headers(simple) == {}


@pytest.mark.parametrize("configured", ["https://intranet.example", "HTTPS://Intranet.example/"])
def test_cors_only_for_the_configured_origins(offline_raw: dict[str, Any], configured: str) -> None:
    """Only the configured origins; an origin written in capitals or with a ``/`` at its end is
    the origin browsers send in lower case without one (walk 20, F7)."""
    offline_raw["server"]["cors_origins"] = [configured]
    with in_process(offline_raw) as gw:
        allowed = _preflight(gw, "https://intranet.example")
        foreign = _preflight(gw, "https://evil.example")
        simple = gw.get("/v1/models", headers={**AUTH, "origin": "https://evil.example"})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://intranet.example"
    assert "authorization" in allowed.headers["access-control-allow-headers"].lower()
    assert foreign.status_code == 400
    assert "access-control-allow-origin" not in foreign.headers
    assert "access-control-allow-origin" not in simple.headers


@pytest.mark.parametrize(("path", "envelope"), [("/v1/chat/completions", dict), ("/api/chat", str)])
def test_cors_headers_on_the_chat_endpoints(
    offline_raw: dict[str, Any], path: str, envelope: type
) -> None:
    """The chat endpoints are plain Starlette routes, not FastAPI's, inside the CORS layer too."""
    offline_raw["server"]["cors_origins"] = ["https://intranet.example"]
    with in_process(offline_raw) as gw:
        answer = gw.post(path, json={}, headers={"origin": "https://intranet.example"})
    assert answer.status_code == 401
    assert isinstance(answer.json()["error"], envelope)
    assert answer.headers["access-control-allow-origin"] == "https://intranet.example"
    assert "x-stellwerk-model" in answer.headers["access-control-expose-headers"]
