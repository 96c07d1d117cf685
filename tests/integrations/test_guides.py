"""The integration guides' code, run as written against a real gateway in front of the real
llama.cpp server: LangChain's ChatOpenAI, the ollama library, curl. A guide whose code stops
working fails here."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from stellwerk.ledger.graded_tables import graded_records
from tests.fixtures.gateway import KEYS, Gateway, running_gateway

pytestmark = pytest.mark.llama

GUIDES = Path(__file__).resolve().parents[2] / "docs" / "integrations"
_BLOCK = re.compile(
    r"<!-- tested: (?P<name>[\w-]+) -->\n```(?P<lang>\w+)\n(?P<code>.*?)\n```", re.S
)


def marked_blocks() -> dict[str, tuple[str, str]]:
    """name -> (language, code) for every block marked ``<!-- tested: name -->``."""
    blocks: dict[str, tuple[str, str]] = {}
    for guide in sorted(GUIDES.glob("*.md")):
        for found in _BLOCK.finditer(guide.read_text(encoding="utf-8")):
            assert found["name"] not in blocks, f"{found['name']} is marked twice"
            blocks[found["name"]] = (found["lang"], found["code"])
    return blocks


BLOCKS = marked_blocks()


def test_the_guides_mark_the_blocks_this_suite_runs() -> None:
    assert set(BLOCKS) == {
        "langchain-invoke",
        "langchain-stream",
        "ollama-chat",
        "ollama-env",
        "ollama-feedback",
        "openai-feedback",
        "curl-openai",
        "curl-ollama",
    }


@pytest.fixture
def guide_env(served_gateway: Gateway, monkeypatch: pytest.MonkeyPatch) -> Gateway:
    """The guides' code connects to a URL, as it would in use: the gateway behind a server."""
    monkeypatch.setenv("STELLWERK_URL", served_gateway.url)
    monkeypatch.setenv("STELLWERK_KEY", KEYS["research"])
    return served_gateway


def _run_python(name: str, capsys: pytest.CaptureFixture[str]) -> str:
    language, code = BLOCKS[name]
    assert language == "python"
    exec(compile(code, f"docs/integrations:{name}", "exec"), {"__name__": "__guide__"})
    return capsys.readouterr().out


def _field(output: str, label: str) -> str:
    for line in output.splitlines():
        if line.startswith(f"{label}:"):
            return line.removeprefix(f"{label}:").strip()
    raise AssertionError(f"{label!r} not printed:\n{output}")


def test_langchain_invoke(guide_env: Gateway, capsys: pytest.CaptureFixture[str]) -> None:
    output = _run_python("langchain-invoke", capsys)
    configured = {m.id for m in guide_env.config.models}
    assert _field(output, "model") in configured
    input_tokens, output_tokens = (int(n) for n in _field(output, "tokens").split())
    assert input_tokens > 0 and 0 < output_tokens <= 64, "max_tokens=64 is honoured"
    assert _field(output, "answer")


def test_max_completion_tokens_limits_the_answer(guide_env: Gateway) -> None:
    """langchain-openai sends ``max_tokens`` as ``max_completion_tokens``; llama-cpp-python's
    server reads only ``max_tokens``, so the gateway must translate for the limit to hold."""
    import openai

    with openai.OpenAI(
        base_url=guide_env.openai_url, api_key=KEYS["research"], max_retries=0
    ) as client:
        reply = client.chat.completions.create(
            model="tiny-small",
            messages=[{"role": "user", "content": "Hallo"}],
            max_completion_tokens=5,
        )
    assert reply.usage is not None and reply.usage.completion_tokens <= 5


def test_langchain_stream_in_a_chain(
    guide_env: Gateway, capsys: pytest.CaptureFixture[str]
) -> None:
    output = _run_python("langchain-stream", capsys)
    assert output.endswith("\n") and output.strip()


def test_ollama_library(guide_env: Gateway, capsys: pytest.CaptureFixture[str]) -> None:
    output = _run_python("ollama-chat", capsys)
    configured = {m.id for m in guide_env.config.models}
    model, _, counts = _field(output, "model").partition(" tokens: ")
    assert model in configured
    prompt_tokens, eval_tokens = (int(n) for n in counts.split())
    assert prompt_tokens > 0 and 0 < eval_tokens <= 64
    listed = _field(output, "models")
    assert "tiny-small" in listed and "tiny-retired" not in listed


@pytest.fixture
def learning_guide_env(
    gateway_raw: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Gateway]:
    """A served gateway whose routes learn (the shipped learned router), so that feedback is
    taken."""
    raw = {k: v for k, v in gateway_raw.items() if k != "router"}
    with running_gateway(raw) as gateway:
        monkeypatch.setenv("STELLWERK_URL", gateway.url)
        monkeypatch.setenv("STELLWERK_KEY", KEYS["research"])
        yield gateway


def _stored_feedback(gw: Gateway) -> list[tuple[str, str, str]]:
    """The graded records the gateway's ledger keeps: request id, source and model."""
    ledger = gw.ledger()
    try:
        with ledger.connect() as connection:
            rows = list(connection.execute(select(graded_records)))
    finally:
        ledger.close()
    return [(r.request_id, r.source, r.model) for r in rows]


def test_ollama_library_gives_feedback_with_the_request_id_of_its_response_header(
    learning_guide_env: Gateway, capsys: pytest.CaptureFixture[str]
) -> None:
    """walk10 finding 7: the ``ollama`` library shows no id and no headers; an httpx response
    hook (the client's ``event_hooks``) reads ``x-stellwerk-request-id``, and ``/v1/feedback``
    grades the Ollama-API request with it."""
    output = _run_python("ollama-feedback", capsys)
    request_id, model, score = _field(output, "feedback").split()
    assert model in {m.id for m in learning_guide_env.config.models} and float(score) == 0.8
    assert _stored_feedback(learning_guide_env) == [(request_id, "feedback", model)]


def test_openai_library_gives_feedback_with_its_generic_post(
    learning_guide_env: Gateway, capsys: pytest.CaptureFixture[str]
) -> None:
    """walk14 14-7: the openai library has no feedback method; its client's ``post`` sends the
    grade to ``/v1/feedback`` with the answer's ``id``, and the ledger keeps it (under the bare
    request id; the answer echoes the id as it was sent, walk21 F7)."""
    output = _run_python("openai-feedback", capsys)
    request_id, model, score = _field(output, "feedback").split()
    assert request_id.startswith("chatcmpl-")
    assert model in {m.id for m in learning_guide_env.config.models} and float(score) == 0.8
    stored = request_id.removeprefix("chatcmpl-")
    assert _stored_feedback(learning_guide_env) == [(stored, "feedback", model)]


def test_ollama_library_from_its_environment_variables(guide_env: Gateway) -> None:
    """The module-level API with ``OLLAMA_HOST`` and ``OLLAMA_API_KEY`` (sent as the bearer
    key), in a process of its own, as the guide's shell runs it (``python`` this one)."""
    language, code = BLOCKS["ollama-env"]
    assert language == "bash"
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "PATH": path},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() in {m.id for m in guide_env.config.models}


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
@pytest.mark.parametrize("name", ["curl-openai", "curl-ollama"])
def test_curl(name: str, guide_env: Gateway) -> None:
    language, code = BLOCKS[name]
    assert language == "bash"
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    if name == "curl-openai":
        assert body["object"] == "chat.completion"
        assert body["usage"]["completion_tokens"] > 0
        assert "x-stellwerk-model: " + body["model"] in result.stderr.lower()
    else:
        assert body["done"] is True and isinstance(body["message"]["content"], str)


@pytest.mark.parametrize("path", ["/v1/models", "/api/tags"])
def test_requests_without_a_key_are_refused_as_the_guides_say(
    path: str, offline_gateway: Gateway
) -> None:
    """curl.md quotes the error body; langflow.md and open-webui.md rely on keyless requests
    (the Ollama component) being refused with 401."""
    response = offline_gateway.get(path, timeout=10)
    assert response.status_code == 401
    error = response.json()["error"]
    message = error if path.startswith("/api") else error["message"]
    assert message == "no API key: send 'Authorization: Bearer <key>'"
    assert message in (GUIDES / "curl.md").read_text()
