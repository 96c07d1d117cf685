"""What a body's JSON text gets wrong is named by its place in the body (a key named twice, an
integer past 64 bits: ``metadata.a``, ``messages.1.content``), and a body sent compressed is
refused saying so (415, before it is read), on both model APIs in their own error formats."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import httpx
import ollama
import openai
import pytest

from tests.fixtures.gateway import (
    KEYS,
    OFFLINE_BACKEND,
    Gateway,
    in_process,
    migrated_copy,
    raw_config,
)

AUTH = {"authorization": f"Bearer {KEYS['research']}", "content-type": "application/json"}
HI = b'{"role": "user", "content": "hi"}'


def _chat(rest: bytes) -> bytes:
    return b'{"model": "tiny-small", "messages": [' + HI + b"], " + rest + b"}"


@pytest.mark.parametrize(
    ("body", "param", "message"),
    [
        (_chat(b'"metadata": {"a": "1", "a": "2"}'), "metadata.a",
         "request body has the key 'a' twice in the object at metadata; send it once"),
        (b'{"model": "tiny-small", "messages": [' + HI
         + b', {"role": "user", "content": "a", "content": "b"}]}', "messages.1.content",
         "request body has the key 'content' twice in the object at messages.1; send it once"),
        (_chat(b'"model": "tiny-medium"'), "model",
         "request body has the key 'model' twice in one object; send it once"),
        (_chat(b'"max_tokens": 99999999999999999999'), "max_tokens",
         "max_tokens: an integer of 20 digits is outside the 64-bit range that every parameter"
         " is within"),
        (_chat(b'"x_bias": [1, -99999999999999999999]'), "x_bias.1",
         "x_bias.1: an integer of 20 digits is outside the 64-bit range that every parameter"
         " is within"),
    ],
    ids=["in-metadata", "in-a-message", "top-level", "a-parameter", "in-a-list"],
)  # fmt: skip
def test_a_problem_of_the_json_text_is_named_by_its_place(
    offline_gateway: Gateway, body: bytes, param: str, message: str
) -> None:
    """A key named twice was named by the key alone (``param: a`` for ``metadata.a``), an
    integer past 64 bits by the key of its object: each ``param`` is now the place, in the
    notation of every other error's, on both APIs."""
    answer = offline_gateway.post("/v1/chat/completions", content=body, headers=AUTH)
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert (error["message"], error["param"]) == (message, param)
    ollama = offline_gateway.post("/api/chat", content=body, headers=AUTH)
    assert ollama.status_code == 400, ollama.text
    assert ollama.json() == {"error": message}


def test_a_key_named_twice_in_options_is_told_with_the_other_problems(
    offline_gateway: Gateway,
) -> None:
    body = _chat(b'"options": {"temperature": 0.5, "temperature": 0.6, "top_p": "high"}')
    answer = offline_gateway.post("/api/chat", content=body, headers=AUTH)
    assert answer.status_code == 400, answer.text
    assert answer.json() == {
        "error": "request body has the key 'temperature' twice in the object at options; send"
        " it once; options.top_p: Input should be a valid number"
    }


CHAT = json.dumps(
    {"model": "tiny-small", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4}
).encode()
REFUSED = (
    "the request body is sent with content-encoding {}, which the gateway does not read; send"
    " it uncompressed, without content-encoding"
)


@pytest.mark.parametrize(
    ("encoding", "named"),
    [("gzip", "'gzip'"), ("br", "'br'"), ("deflate", "'deflate'"), ("zstd", "'zstd'"),
     ("identity, gzip", "'gzip'"), ("x-custom", "'x-custom'")],
)  # fmt: skip
def test_a_compressed_body_is_refused_saying_so(
    tmp_path: Path, ledger_template: Path, encoding: str, named: str
) -> None:
    """A body sent compressed was told only as JSON that could not be parsed ("not valid JSON:
    expected value at line 1 column 1"): the gateway reads no content-encoding (neither the
    openai nor the ollama library sends one), so it is a 415 saying so, before the body is
    read, in each API's format, and the request still leaves its usage record."""
    database_url = migrated_copy(ledger_template, tmp_path / "ledger.db")
    headers = {**AUTH, "content-encoding": encoding}
    with in_process(raw_config(OFFLINE_BACKEND, database_url)) as gw:
        answer = gw.post("/v1/chat/completions", content=gzip.compress(CHAT), headers=headers)
        ollama = gw.post("/api/chat", content=gzip.compress(CHAT), headers=headers)
    for response in (answer, ollama):
        assert response.status_code == 415, response.text
        assert response.headers["accept-encoding"] == "identity"
        assert response.headers["x-stellwerk-request-id"]
    assert answer.json()["error"] == {
        "message": REFUSED.format(named),
        "type": "invalid_request_error",
        "param": "content-encoding",
        "code": "unsupported_content_encoding",
    }
    assert ollama.json() == {"error": REFUSED.format(named)}
    ledger = gw.ledger()
    records = ledger.recent_usage(limit=10)
    ledger.close()
    assert sorted((r.api, r.status, r.error_kind) for r in records) == [
        ("ollama", 415, "unsupported_content_encoding"),
        ("openai", 415, "unsupported_content_encoding"),
    ]


def test_identity_is_no_compression(offline_gateway: Gateway) -> None:
    """``content-encoding: identity`` says the body is as it is: it is read (here refused for
    the model it names, which it could be only once read)."""
    body = CHAT.replace(b"tiny-small", b"gpt-17")
    headers = {**AUTH, "content-encoding": "identity"}
    answer = offline_gateway.post("/v1/chat/completions", content=body, headers=headers)
    assert answer.status_code == 404, answer.text


def test_without_a_key_a_compressed_body_is_a_401_first(offline_gateway: Gateway) -> None:
    headers = {"content-type": "application/json", "content-encoding": "gzip"}
    answer = offline_gateway.post(
        "/v1/chat/completions", content=gzip.compress(CHAT), headers=headers
    )
    assert answer.status_code == 401, answer.text


def test_the_client_libraries_send_no_content_encoding(offline_gateway: Gateway) -> None:
    """What the 415 rests on: the real ``openai`` and ``ollama`` clients send their bodies
    uncompressed, so no request of theirs is refused so (the model named here does not exist:
    a 404, which only a body read gives)."""
    seen: list[httpx.Request] = []
    hooks = {"request": [seen.append]}
    with (
        openai.OpenAI(
            base_url=offline_gateway.openai_url,
            api_key=KEYS["research"],
            # openai takes an httpx client too; its annotation names only its own httpx2's
            http_client=offline_gateway.client(event_hooks=hooks),  # type: ignore[arg-type]
        ) as client,
        pytest.raises(openai.NotFoundError),
    ):
        client.chat.completions.create(
            model="gpt-17", messages=[{"role": "user", "content": "hi"}], max_tokens=2
        )
    with pytest.raises(ollama.ResponseError) as caught:
        offline_gateway.ollama(KEYS["research"], event_hooks=hooks).chat(
            model="gpt-17", messages=[{"role": "user", "content": "hi"}]
        )
    assert caught.value.status_code == 404
    assert len(seen) == 2 and all("content-encoding" not in r.headers for r in seen)
