"""The access log and the start-up summary: one line per request (who, what, which model, how
long, and why a refusal), never the prompt; ``stellwerk serve`` says what it serves and where."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml

from tests.fixtures.gateway import ENVIRON, KEYS, Gateway, free_port, raw_config
from tests.fixtures.llama import LlamaBackend

pytestmark = pytest.mark.llama

ROOT = Path(__file__).resolve().parents[2]
PROMPT = "Geheimer Vertragsentwurf Nummer 4711"
PATH = "/v1/chat/completions"


def chat(gateway: Gateway | str, key: str, model: str, *, stream: bool = False) -> httpx.Response:
    """A chat request to a test gateway, or to the URL of one ``stellwerk serve`` started."""
    body = {
        "model": model,
        "messages": [{"role": "user", "content": PROMPT}],
        "max_tokens": 3,
        "stream": stream,
    }
    headers = {"authorization": f"Bearer {key}"}
    if isinstance(gateway, str):
        return httpx.post(gateway + PATH, json=body, headers=headers, timeout=60)
    return gateway.post(PATH, json=body, headers=headers, timeout=60)


def access_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "stellwerk.access"]


def test_each_request_is_one_line_with_who_model_and_status_and_refusals_say_why(
    gateway: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="stellwerk.access")
    assert chat(gateway, KEYS["research"], "tiny-medium").status_code == 200
    assert chat(gateway, KEYS["research"], "auto", stream=True).status_code == 200
    assert chat(gateway, KEYS["legal"], "tiny-large").status_code == 404  # not legal's to see
    assert chat(gateway, "sk-stw-nobody", "auto").status_code == 401
    lines = access_lines(caplog)
    assert len(lines) == 4, lines
    served, streamed, forbidden, unknown = lines
    assert served.startswith(
        "POST /v1/chat/completions 200 client=127.0.0.1 key=research-1 dept=research"
    )
    assert "model=tiny-medium" in served and served.endswith("ms")
    assert streamed.startswith("POST /v1/chat/completions 200 client=127.0.0.1 key=research-1")
    assert "model=tiny-" in streamed
    assert forbidden.startswith("POST /v1/chat/completions 404 client=127.0.0.1 key=legal-1")
    # told as the unknown model it is to legal (the operators' line of ``stellwerk.gateway``
    # says why it was refused)
    assert "error: model 'tiny-large' does not exist" in forbidden
    assert unknown.startswith("POST /v1/chat/completions 401 client=127.0.0.1 ")
    assert "key=" not in unknown and "refused: unknown API key" in unknown
    assert PROMPT not in caplog.text and "sk-stw" not in caplog.text


def test_the_ollama_api_and_other_endpoints_are_logged_too(
    gateway: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="stellwerk.access")
    headers = {"authorization": f"Bearer {KEYS['legal']}"}
    body = {"model": "tiny-large", "messages": [{"role": "user", "content": PROMPT}]}
    refused = gateway.post("/api/chat", json=body, headers=headers, timeout=60)
    assert refused.status_code == 404
    assert gateway.get("/v1/models", headers=headers, timeout=30).status_code == 200
    forbidden, listed = access_lines(caplog)
    assert forbidden.startswith("POST /api/chat 404 client=127.0.0.1 key=legal-1 dept=legal")
    assert "error: model 'tiny-large' does not exist" in forbidden
    assert listed.startswith("GET /v1/models 200 client=127.0.0.1 key=legal-1 dept=legal")


def test_serve_prints_a_start_up_summary_and_logs_each_request(
    llama_server: LlamaBackend, tmp_path: Path
) -> None:
    raw = raw_config(llama_server.base_url, "sqlite:///ledger.db")
    path = tmp_path / "stellwerk.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    port = free_port()
    log = tmp_path / "serve.log"
    env = {**os.environ, **ENVIRON, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "stellwerk", "serve", "-c", str(path), "--port", str(port)],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=sink,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while True:
                assert process.poll() is None, log.read_text()
                try:
                    if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
            assert chat(url, KEYS["research"], "tiny-small").status_code == 200
            assert chat(url, "sk-stw-nobody", "auto").status_code == 401
            # behind a proxy uvicorn trusts (FORWARDED_ALLOW_IPS; loopback by default) the
            # line names the client the proxy names, not the proxy
            relayed = {"x-forwarded-for": "203.0.113.9", "authorization": "Bearer sk-guess-1"}
            assert httpx.get(url + "/v1/models", headers=relayed, timeout=30).status_code == 401
        finally:
            process.terminate()
            process.wait(30)
    text = log.read_text()
    assert (
        "models (lifecycle from the ledger's catalog): tiny-small (small, approved, llamacpp)"
        in text
    )
    assert "other models: tiny-embed (embeddings)" in text
    assert "routes: auto (cost weight 0.5)" in text
    assert f"ledger: sqlite:///{tmp_path / 'ledger.db'}" in text  # beside the config file
    assert f"dashboard: {url}/dashboard" in text and f"admin API: {url}/admin" in text
    assert "in this process (one replica only" in text
    assert "note: the config has no admin key" in text
    assert "stellwerk.access: POST /v1/chat/completions 200 client=127.0.0.1 key=research-1" in text
    assert "stellwerk.access: POST /v1/chat/completions 401" in text
    assert "stellwerk.access: GET /healthz 200" in text
    assert "stellwerk.access: GET /v1/models 401 client=203.0.113.9 " in text
    assert PROMPT not in text


def test_a_path_cannot_start_a_line_of_its_own_or_send_escape_sequences(
    gateway: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    """Anyone who reaches the port, without a key: a decoded line break in the path would write a
    line of the client's choosing (here one that reads as an admin making a key), an escape
    sequence would clear an operator's terminal. Each is written escaped, one line a request."""
    caplog.set_level(logging.INFO, logger="stellwerk.access")
    forged = "2026-12-07 04:00:00,000 INFO stellwerk.access: POST /admin/keys 201 key=it-admin"
    paths = [
        "/v1/chat/completions%0d%0a" + forged.replace(" ", "%20"),
        "/x%1b%5b2J%1b%5b31mRED",
        "/dashboard/%E2%80%AEevil",
    ]
    for path in paths:
        assert gateway.get(path, timeout=30).status_code in (400, 401, 404)
    lines = access_lines(caplog)
    assert len(lines) == 3, lines
    for line in lines:
        assert line.isprintable(), repr(line)
    assert lines[0].startswith("GET /v1/chat/completions\\r\\n2026-12-07 04:00:00,000 INFO")
    # the error names the path as asked, as the line does (not with its line break dropped)
    assert "no such endpoint: '/v1/chat/completions\\r\\n2026" in lines[0]
    assert "\\x1b[2J\\x1b[31mRED" in lines[1]
    assert "/dashboard/\\u202eevil" in lines[2]
