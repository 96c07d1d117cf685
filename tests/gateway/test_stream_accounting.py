"""Every stream is charged for what it cost, however it ends (stellwerk.gateway.stream_end), and
every request leaves exactly one usage record, whatever is raised on its way.

* A client that hangs up after N chunks (Open WebUI's stop button) on either API: the record says
  499 ``client_disconnected``, at least N completion tokens, prompt tokens from the backend's
  tokenizer, a cost; the budget counter holds that cost (settled, not released). A stream cut by
  its deadline (``timeouts.total``) likewise, as 504 ``stream_interrupted``.
* llama-cpp-python with ``interrupt_requests`` on ends a running stream with ``[DONE]`` and no
  finish reason when another request waits: the client gets the API's error event, the record
  says ``stream_interrupted``.
* The health probe of a ``dialect: llamacpp`` backend asks no endpoint that takes the server's
  generation lock.
* A request that fails with something else than a ``StellwerkError`` (a 500) has its record.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from stellwerk.backends.tokens import prompt_bound
from stellwerk.backends.types import ChatRequest
from stellwerk.config import parse_config
from stellwerk.demo.llama_server import (
    LlamaServer,
    ServedModel,
    start_llama_server,
    stop_llama_server,
)
from stellwerk.demo.tiny_gguf import chat_prompt_tokens
from stellwerk.gateway import create_app
from stellwerk.gateway.server import serve_in_thread
from stellwerk.ledger.record import UsageRecord
from stellwerk.policy.limits import scopes_for
from tests.fixtures.gateway import ENVIRON, KEYS, Gateway, running_gateway
from tests.fixtures.held_stream import held_streams
from tests.fixtures.llama import LlamaBackend
from tests.fixtures.loopback import (
    garbled_usage_server,
    recording_proxy,
    refusing_count,
)

pytestmark = pytest.mark.llama
AUTH = {"authorization": f"Bearer {KEYS['research']}"}
STORY = [{"role": "user", "content": "Tell a very long story about a signal box."}]

#: (path, body, is a content line): a long answer, cut by the client after CUT_AFTER chunks.
STREAMS: dict[str, tuple[str, dict[str, Any], Callable[[str], bool]]] = {
    "openai": (
        "/v1/chat/completions",
        {"model": "tiny-large", "messages": STORY, "stream": True},
        lambda line: line.startswith("data: {") and '"content"' in line,
    ),
    "ollama-chat": (
        "/api/chat",
        {"model": "tiny-large", "messages": STORY},
        lambda line: '"done":false' in line.replace(" ", ""),
    ),
    "ollama-generate": (
        "/api/generate",
        {"model": "tiny-large", "prompt": STORY[0]["content"]},
        lambda line: '"done":false' in line.replace(" ", ""),
    ),
}
CUT_AFTER = 5


def charged_prompt_within_bounds(
    record: UsageRecord, messages: Sequence[Mapping[str, Any]]
) -> bool:
    """The record's prompt tokens are at least what the llama.cpp server counts for
    ``messages`` (with the chat template: ``chat_prompt_tokens`` is its count, checked in
    tests/demo) and at most the bound the request's reservation took."""
    bound = prompt_bound(ChatRequest([dict(message) for message in messages]))
    return chat_prompt_tokens(messages) <= record.prompt_tokens <= bound


@contextmanager
def serving(raw: dict[str, Any]) -> Iterator[tuple[Gateway, FastAPI]]:
    """``running_gateway``, with the app, to read its budget counters."""
    config = parse_config(dict(raw))
    app = create_app(config, environ=ENVIRON)
    with serve_in_thread(app) as url:
        yield Gateway(url, config, config.server.database_url), app


def behind(raw: dict[str, Any], url: str) -> dict[str, Any]:
    """``raw`` with its llama.cpp backend reached at ``url`` (a proxy in front of it)."""
    backend = {**raw["backends"][0], "base_url": url}
    return {**raw, "backends": [backend, *raw["backends"][1:]]}


def spent(app: FastAPI, department: str) -> float:
    """This month's spend of a department as its budget counter holds it (in-process counters:
    no event loop of their own, so they can be read from the test's thread)."""
    governance = app.state.runtime.governance
    limits = governance.snapshot.department_limits[department]
    scope = scopes_for(department, limits, "", None)[0]
    return float(asyncio.run(governance.limiter.spent(scope)))


@pytest.mark.parametrize("api", list(STREAMS))
def test_a_stream_the_client_cuts_is_charged_for_what_it_received(
    gateway_raw: dict[str, Any], llama_server: LlamaBackend, api: str
) -> None:
    path, body, is_content = STREAMS[api]
    gateway_raw["departments"][0]["limits"] = {"monthly_budget": 1000}
    # the server's stream waits after a few more pieces than the client reads: the client hangs
    # up on a stream surely still running (it ran to its end first on a busy machine)
    with (
        held_streams(llama_server.base_url, passed=CUT_AFTER + 3) as server,
        serving(behind(gateway_raw, server.url)) as (gw, app),
    ):
        with (
            httpx.Client(base_url=gw.url, timeout=60) as client,
            client.stream("POST", path, json=body, headers=AUTH) as response,
        ):
            assert response.status_code == 200
            received = 0
            for line in response.iter_lines():
                received += is_content(line)
                if received == CUT_AFTER:
                    break  # the client hangs up: the stop button
        (record,) = gw.records()
        held = spent(app, "research")
    assert (record.status, record.error_kind) == (499, "client_disconnected")
    assert record.completion_tokens >= CUT_AFTER
    assert record.usage_source == "counted:chunks+tokenize"  # the backend's own tokenizer
    # the chat template's tokens too, as the server counts the prompt (and as the reservation's
    # bound takes it), never more than that bound: the tokenizer's count of the text alone
    # left the template out (left29)
    assert charged_prompt_within_bounds(record, STORY)
    assert record.cost > 0
    assert held == pytest.approx(float(record.cost), abs=1e-6)  # settled on its cost, not released


def test_a_stream_past_its_deadline_is_charged_for_what_it_received(
    gateway_raw: dict[str, Any], llama_server: LlamaBackend
) -> None:
    path, body, is_content = STREAMS["openai"]
    # the server's stream waits after its first pieces, so the deadline surely comes before its
    # end, and long enough after its first token (0.3 s: on a busy machine, the first token
    # could come after it, and then no piece had been received)
    backend = gateway_raw["backends"][0]
    backend["timeouts"]["total"] = 3
    with held_streams(llama_server.base_url) as server:
        backend["base_url"] = server.url
        with running_gateway(gateway_raw) as gw:
            answer = httpx.post(gw.url + path, json=body, headers=AUTH, timeout=60)
            (record,) = gw.records()
    lines = [line for line in answer.text.splitlines() if line.strip()]
    received = sum(map(is_content, lines))
    assert received >= 1 and "data: [DONE]" not in lines
    assert "total time limit" in json.loads(lines[-1].removeprefix("data: "))["error"]["message"]
    assert (record.status, record.error_kind) == (504, "stream_interrupted")
    assert record.completion_tokens >= received and charged_prompt_within_bounds(record, STORY)


@pytest.fixture
def interrupting_llama(llama_models: list[ServedModel], tmp_path: Path) -> Iterator[LlamaServer]:
    """llama-cpp-python as it starts by default: ``interrupt_requests`` on."""
    server = start_llama_server(llama_models, workdir=tmp_path, interrupt_requests=True)
    try:
        yield server
    finally:
        stop_llama_server(server)


@pytest.mark.parametrize("api", ["openai", "ollama-chat"])
def test_a_stream_the_server_interrupts_is_an_error_not_an_answer(
    gateway_raw: dict[str, Any], interrupting_llama: LlamaServer, api: str
) -> None:
    path, body, is_content = STREAMS[api]
    gateway_raw["backends"][0]["base_url"] = interrupting_llama.base_url
    with running_gateway(gateway_raw) as gw:
        with (
            httpx.Client(base_url=gw.url, timeout=60) as client,
            client.stream("POST", path, json=body, headers=AUTH) as response,
        ):
            assert response.status_code == 200
            lines = response.iter_lines()
            next(line for line in lines if is_content(line))
            # another request waits for the server's lock: it ends the running stream
            httpx.get(interrupting_llama.base_url + "/v1/models", timeout=30)
            rest = [line for line in lines if line.strip()]
        (record,) = gw.records()
    last = rest[-1]
    if api == "openai":
        assert "data: [DONE]" not in rest
        assert "interrupted" in json.loads(last.removeprefix("data: "))["error"]["message"]
    else:
        assert '"done":true' not in last.replace(" ", "")
        assert "interrupted" in json.loads(last)["error"]
    assert (record.status, record.error_kind) == (502, "stream_interrupted")
    assert record.completion_tokens >= 1 and charged_prompt_within_bounds(record, STORY)


def test_a_stream_whose_server_will_not_count_its_prompt_is_charged_the_template_too(
    gateway_raw: dict[str, Any], llama_server: LlamaBackend
) -> None:
    """llama-cpp-python sends no usage on a stream; the gateway asks it for the prompt's count
    (the request once more, for one token). Where that fails, the tokenizer counts the text,
    and the chat template around it is taken at the bound's allowance (left29: it was left
    out, as for a cut stream)."""
    with refusing_count(llama_server.base_url) as proxy:
        gateway_raw["backends"][0]["base_url"] = proxy.url
        with running_gateway(gateway_raw) as gw:
            body = {"model": "tiny-large", "messages": STORY, "max_tokens": 8, "stream": True}
            answer = httpx.post(
                gw.url + "/v1/chat/completions", json=body, headers=AUTH, timeout=60
            )
            (record,) = gw.records()
        asked = [b for b in proxy.bodies if b.get("max_tokens") == 1]
    assert answer.status_code == 200 and "data: [DONE]" in answer.text
    assert asked, "the gateway did not ask the server for the prompt's count"
    assert (record.status, record.usage_source) == (200, "counted:chunks+tokenize")
    assert charged_prompt_within_bounds(record, STORY), record.prompt_tokens


def test_the_health_probe_of_a_llamacpp_backend_takes_no_generation_lock(
    gateway_raw: dict[str, Any], llama_server: LlamaBackend
) -> None:
    with recording_proxy(llama_server.base_url) as proxy:
        backend = gateway_raw["backends"][0]
        backend["base_url"] = proxy.url
        backend["breaker"] = {"probe_interval_s": 0.05}
        with running_gateway(gateway_raw) as gw:
            deadline = time.monotonic() + 30
            while len(proxy.paths) < 3 and time.monotonic() < deadline:
                time.sleep(0.05)
            ready = httpx.get(gw.url + "/readyz").json()
        probed = set(proxy.paths)
    assert probed and probed.isdisjoint({"/v1/models", "/models"}), probed
    # llama-cpp-python has no /health (404): the probe goes on to /openapi.json
    assert "/openapi.json" in probed
    assert ready["backends"]["llamacpp"]["ready"] is True


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/api/chat"])
def test_a_500_leaves_its_usage_record_and_names_it(
    gateway_raw: dict[str, Any], caplog: pytest.LogCaptureFixture, path: str
) -> None:
    """A bug on the request's way (a backend's usage the gateway cannot count): the 500 in the
    API's format, its usage record, and the record's request id on the answer and in the log
    line with the traceback: one traceback in the log (uvicorn logged it a second time)."""
    # uvicorn's loggers do not reach the root, and it sets their handlers when it starts
    server_log = logging.getLogger("uvicorn.error")
    with garbled_usage_server() as server:
        gateway_raw["backends"][0].update(base_url=server.url, dialect="generic")
        with caplog.at_level("ERROR", "stellwerk.gateway"), running_gateway(gateway_raw) as gw:
            server_log.addHandler(caplog.handler)
            try:
                answer = httpx.post(
                    gw.url + path,
                    json={"model": "tiny-small", "messages": STORY, "stream": False},
                    headers=AUTH,
                    timeout=30,
                )
            finally:
                server_log.removeHandler(caplog.handler)
            (record,) = gw.records()
    assert [r.getMessage() for r in caplog.records if r.exc_info] == [
        f"unexpected error on {path} (request {record.request_id})"
    ]
    assert answer.status_code == 500
    error = answer.json()["error"]
    message = error if path.startswith("/api/") else error["message"]
    assert message == "internal error; see the gateway's log"
    assert (record.status, record.error_kind, record.model) == (500, "internal", "tiny-small")
    assert answer.headers["x-stellwerk-request-id"] == record.request_id
    logged = [r for r in caplog.records if r.getMessage().startswith("unexpected error on")]
    assert [r.getMessage() for r in logged] == [
        f"unexpected error on {path} (request {record.request_id})"
    ]
    assert logged[0].exc_info is not None  # with its traceback


def test_a_client_gone_before_its_first_token_frees_its_stream_slot(
    gateway_raw: dict[str, Any], llama_server: LlamaBackend
) -> None:
    """The client hangs up while the model loads, before the first token: the wait for it
    ends at once (the backend's request is cancelled; it went on until the first token came,
    walk14), the stream is accounted (499, charged the prompt's bound and no answer, as a whole
    answer the client left) and its key's stream slot is free again."""
    gateway_raw["server"]["limits"] = {"max_streams_per_key": 1}
    body = {"model": "tiny-small", "messages": STORY, "stream": True}
    # the server's stream waits before its first token until the client has gone (it came after
    # a second, which a client stalled on a busy machine could wait out)
    with (
        held_streams(llama_server.base_url, passed=0) as server,
        running_gateway(behind(gateway_raw, server.url)) as gw,
    ):
        url = gw.openai_url + "/chat/completions"
        with pytest.raises(httpx.ReadTimeout):  # gone before the first token
            httpx.post(url, json=body, headers=AUTH, timeout=httpx.Timeout(30, read=0.3))
        server.wait_gone()  # the gateway's request to the server ended with it
        (record,) = gw.records()
        server.release()
        with httpx.stream("POST", url, json=body, headers=AUTH, timeout=30) as again:
            status = again.status_code
    assert (record.status, record.error_kind) == (499, "client_disconnected")
    assert record.completion_tokens == 0 and record.usage_source == "counted:bound"
    assert record.prompt_tokens > 0 and record.cost > 0
    assert status == 200  # the first stream's slot was given back
