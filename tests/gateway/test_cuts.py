"""A governance change cuts the requests already running that it forbids (stellwerk.gateway.cuts):
consent withdrawn by the model's data owner, the key revoked. A stream ends with its API's own
error event naming why (OpenAI SSE, Ollama's ``{"error": ...}`` line, the Responses ``error``
event), its record keeps the tokens served (403 ``consent_withdrawn``, 401 ``key_revoked``); a
request still waiting for its answer gets the refusal instead. A model deprecated meanwhile lets
its streams finish. Served by uvicorn: the streams are read while they are produced.

The model server is reached through a proxy that holds its streams after their first events
until the change is made (``tests.fixtures.held_stream``): a tiny model writes its whole answer
faster than a loaded machine withdraws consent, and a stream that has ended cannot be cut (CI
saw it once)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import ollama
import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam

from tests.fixtures.gateway import ENVIRON, KEYS, Gateway, bearer, migrated_copy, raw_config
from tests.fixtures.gateway import running_gateway as serving
from tests.fixtures.held_stream import HeldStreams, held_streams
from tests.fixtures.llama import LlamaBackend
from tests.fixtures.loopback import stalling_server
from tests.gateway.test_stream_accounting import charged_prompt_within_bounds

pytestmark = pytest.mark.llama

ADMIN_KEY = "sk-stw-test-admin-3f9a0c7e1d5b2a64"
OWNER_KEY = "sk-stw-test-owner-8d2b6e4a0f1c9e37"
ENV = {**ENVIRON, "STW_TEST_KEY_ADMIN": ADMIN_KEY, "STW_TEST_KEY_OWNER": OWNER_KEY}
ADMIN, OWNER = bearer(ADMIN_KEY), bearer(OWNER_KEY)
PROMPT = "Tell a very long story about a signal box."
STORY: list[ChatCompletionMessageParam] = [{"role": "user", "content": PROMPT}]
READ_FIRST = 3  # content pieces read before the change
#: events of a stream passed before the change: more than READ_FIRST, as an event may carry no
#: text (a piece of a character)
PASSED = READ_FIRST + 10


@pytest.fixture
def proxy(llama_server: LlamaBackend) -> Iterator[HeldStreams]:
    """The llama.cpp server behind a proxy holding its streams after ``PASSED`` events."""
    with held_streams(llama_server.base_url, passed=PASSED) as proxy:
        yield proxy


@pytest.fixture
def raw(proxy: HeldStreams, tmp_path: Path, ledger_template: Path) -> dict[str, Any]:
    """tiny-large is legal's contributed expert; legal has an owner key, governance an admin."""
    config = raw_config(proxy.url, migrated_copy(ledger_template, tmp_path / "l.db"))
    config["models"][2]["data_owner"] = "legal"
    config["departments"][1]["keys"].append(
        {"id": "legal-owner", "key_env": "STW_TEST_KEY_OWNER", "role": "owner"}
    )
    config["departments"].append(
        {
            "name": "governance",
            "keys": [{"id": "admin-1", "key_env": "STW_TEST_KEY_ADMIN", "role": "admin"}],
        }
    )
    return config


def withdraw(gw: Gateway, model: str = "tiny-large") -> None:
    answer = httpx.post(
        gw.url + f"/admin/models/{model}/consent",
        json={"consent": False, "reason": "data contract ended"},
        headers=OWNER,
        timeout=30,
    )
    assert answer.status_code == 200, answer.text


def held_until(proxy: HeldStreams, change: Callable[[], None]) -> Callable[[], None]:
    """The change to make while the stream is held, which lets it go on once made."""

    def made() -> None:
        try:
            change()
        finally:
            proxy.release()

    return made


def read_openai_chat(
    gw: Gateway, key: str, change: Callable[[], None], model: str = "tiny-large"
) -> tuple[int, str]:
    """(content pieces read, the error that ended the stream)."""
    pieces = 0
    with openai.OpenAI(base_url=gw.openai_url, api_key=key, max_retries=0) as client:
        stream = client.chat.completions.create(
            model=model,
            messages=STORY,
            max_tokens=600,
            stream=True,
        )
        with pytest.raises(openai.APIError) as ended:
            for chunk in stream:
                if chunk.choices and chunk.choices[0].delta.content:
                    pieces += 1
                    if pieces == READ_FIRST:
                        change()
    return pieces, ended.value.message


def read_responses(gw: Gateway, key: str, change: Callable[[], None]) -> tuple[int, str]:
    pieces, last = 0, None
    with openai.OpenAI(base_url=gw.openai_url, api_key=key, max_retries=0) as client:
        stream = client.responses.create(
            model="tiny-large", input=PROMPT, max_output_tokens=600, stream=True
        )
        for event in stream:
            last = event
            if event.type == "response.output_text.delta":
                pieces += 1
                if pieces == READ_FIRST:
                    change()
    assert last is not None and last.type == "error", last
    return pieces, str(last.message)


def read_ollama_chat(gw: Gateway, key: str, change: Callable[[], None]) -> tuple[int, str]:
    pieces = 0
    with (
        closing(ollama.Client(host=gw.url, headers=bearer(key))) as client,
        pytest.raises(ollama.ResponseError) as ended,
    ):
        for part in client.chat(
            model="tiny-large", messages=STORY, stream=True, options={"num_predict": 600}
        ):
            if part.message.content:
                pieces += 1
                if pieces == READ_FIRST:
                    change()
    return pieces, ended.value.error


READERS = {"openai": read_openai_chat, "responses": read_responses, "ollama": read_ollama_chat}


@pytest.mark.parametrize("api", list(READERS))
def test_consent_withdrawn_cuts_a_running_stream_on_that_model(
    raw: dict[str, Any], proxy: HeldStreams, api: str
) -> None:
    with serving(raw, ENV) as gw:
        change = held_until(proxy, lambda: withdraw(gw))
        pieces, error = READERS[api](gw, KEYS["research"], change)
        (record,) = gw.records()
    assert "withdrew consent" in error and "tiny-large" in error, error
    assert pieces >= READ_FIRST
    assert (record.status, record.error_kind) == (403, "consent_withdrawn")
    assert record.completion_tokens >= pieces
    # its prompt as the server counted it, the chat template's tokens included (left29)
    assert charged_prompt_within_bounds(record, STORY), record.prompt_tokens
    assert record.cost > 0  # what it served is charged


def test_a_routed_stream_cut_by_a_withdrawal_keeps_the_reference_it_was_routed_under(
    raw: dict[str, Any], proxy: HeldStreams
) -> None:
    """The reference of a routed request is the one in force when it was made (docs/governance.md,
    Chargeback): withdrawing the model it streams from changes the key's reference now (none:
    tiny-large was its only model), not the one its record keeps; it was lost (walk15 LOW-2)."""
    (research,) = [d for d in raw["departments"] if d["name"] == "research"]
    research["allowed_models"] = ["tiny-large"]  # its route can only choose the expert
    with serving(raw, ENV) as gw:
        change = held_until(proxy, lambda: withdraw(gw))
        _, error = read_openai_chat(gw, KEYS["research"], change, "auto-quality")
        (record,) = gw.records()
    assert "withdrew consent" in error and "tiny-large" in error, error
    assert (record.model, record.status) == ("tiny-large", 403)
    assert record.error_kind == "consent_withdrawn"
    assert record.reference_model == "tiny-large"
    assert record.reference_cost_micro == record.cost_micro  # compared with itself: no saving


def test_a_revoked_key_cuts_its_running_stream(raw: dict[str, Any], proxy: HeldStreams) -> None:
    with serving(raw, ENV) as gw:
        made = httpx.post(
            gw.url + "/admin/keys", json={"department": "research"}, headers=ADMIN, timeout=30
        )
        assert made.status_code == 201, made.text
        key, key_id = made.json()["key"], made.json()["key_id"]

        def revoke() -> None:
            done = httpx.post(
                gw.url + f"/admin/keys/{key_id}/revoke",
                json={"reason": "key leaked"},
                headers=ADMIN,
                timeout=30,
            )
            assert done.status_code == 200, done.text

        pieces, error = read_openai_chat(gw, key, held_until(proxy, revoke))
        (record,) = gw.records()
    assert "revoked" in error and key_id in error, error
    assert (record.status, record.error_kind, record.key_id) == (401, "key_revoked", key_id)
    assert record.completion_tokens >= pieces and charged_prompt_within_bounds(record, STORY)


def test_a_model_deprecated_meanwhile_lets_its_streams_finish(
    raw: dict[str, Any], proxy: HeldStreams
) -> None:
    with (
        serving(raw, ENV) as gw,
        openai.OpenAI(base_url=gw.openai_url, api_key=KEYS["research"], max_retries=0) as client,
    ):
        stream = client.chat.completions.create(
            model="tiny-large",
            messages=STORY,
            max_tokens=60,
            stream=True,
        )
        finish = None
        for pieces, chunk in enumerate(stream):
            if pieces == READ_FIRST:
                moved = httpx.post(
                    gw.url + "/admin/models/tiny-large/lifecycle",
                    json={"state": "deprecated", "reason": "successor"},
                    headers=ADMIN,
                    timeout=30,
                )
                assert moved.status_code == 200, moved.text
                proxy.release()
            if chunk.choices and chunk.choices[0].finish_reason:
                finish = chunk.choices[0].finish_reason
        (record,) = gw.records()
    assert finish is not None
    assert (record.status, record.error_kind) == (200, None)


@pytest.fixture
def stalled(raw: dict[str, Any]) -> Iterator[tuple[dict[str, Any], list[str]]]:
    """``stalled-large``: legal's expert on a server that answers nothing (until the test ends)."""
    with stalling_server(first_after_s=120) as server:
        raw["backends"].append({"name": "stalled", "kind": "openai", "base_url": server.url})
        large = raw["models"][2]
        raw["models"].append({**large, "id": "stalled-large", "backend": "stalled"})
        yield raw, server.paths


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/chat/completions", {"messages": STORY, "stream": False}),
        ("/api/chat", {"messages": STORY, "stream": False}),
        ("/v1/chat/completions", {"messages": STORY, "stream": True}),  # before its first chunk
    ],
)
def test_a_request_waiting_for_its_answer_gets_the_403_instead(
    stalled: tuple[dict[str, Any], list[str]], path: str, body: dict[str, Any]
) -> None:
    raw, asked = stalled
    with serving(raw, ENV) as gw, ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(
            httpx.post,
            gw.url + path,
            json={**body, "model": "stalled-large"},
            headers=bearer(KEYS["research"]),
            timeout=60,
        )
        deadline = time.monotonic() + 30
        while not any("completions" in p for p in asked):
            assert time.monotonic() < deadline, asked
            time.sleep(0.02)
        withdraw(gw, "stalled-large")
        answer = waiting.result(timeout=30)
        (record,) = gw.records()
    assert answer.status_code == 403, answer.text
    error = answer.json()["error"]
    message = error if path.startswith("/api/") else error["message"]
    assert "withdrew consent" in message and "stalled-large" in message, message
    assert (record.status, record.error_kind) == (403, "consent_withdrawn")
    assert record.model == "stalled-large"
