"""A pattern that writes a character beyond the Basic Multilingual Plane as its UTF-16 halves
(``^\\uD83D\\uDE00$``) holds the answer to that character on every way a client asks for one held
to a schema, not only chat's ``response_format`` (tests/gateway/test_schema_patterns.py): a forced
tool call on chat and on /v1/responses, /v1/responses' ``text.format``, Ollama's /api/generate and
/api/chat ``format``; through the real llama.cpp server (llama-cpp-python) with the real openai
and ollama libraries. A lone surrogate, which no JSON string can hold as a character, is a 400 in
each API's own error format, naming the pattern."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import ollama
import openai
import pytest

from tests.fixtures.gateway import KEYS, Gateway

pytestmark = pytest.mark.llama

#: patterns of characters beyond the Basic Multilingual Plane written as UTF-16 halves, and what
#: the answer's string must then be
ASTRAL: list[tuple[str, Callable[[str], bool]]] = [
    (r"^\uD83D\uDE00$", lambda v: v == "\U0001f600"),
    (r"^[\uD800-\uDBFF][\uDC00-\uDFFF]$", lambda v: len(v) == 1 and ord(v) > 0xFFFF),
    (r"^[^\x00-\uffff]$", lambda v: len(v) == 1 and ord(v) > 0xFFFF),
]
ASTRAL_IDS = ["pair", "class-of-pairs", "not-in-the-bmp"]
#: a lone surrogate, as the pattern's escape (sent as JSON's ``"\ud800"``, the character itself is
#: refused before any schema is read: tests/gateway/test_bad_input.py)
LONE = r"^\uD800$"
#: what the 400 says of the lone surrogate (docs/api.md, structured outputs)
SAID = r"properties.v.pattern: \uD800 at 1 is a UTF-16 surrogate not paired with its other half"


def _pair(pattern: str) -> dict[str, Any]:
    """An answer that must hold the key ``v``, a string matching ``pattern``."""
    return {
        "type": "object",
        "properties": {"v": {"type": "string", "pattern": pattern}},
        "required": ["v"],
    }


@pytest.fixture
def client(gateway: Gateway) -> Iterator[openai.OpenAI]:
    with gateway.openai(KEYS["research"], max_retries=0) as made:
        yield made


def _chat_tool(client: openai.OpenAI, pattern: str) -> str:
    completion = client.chat.completions.create(
        model="tiny-small",
        messages=[{"role": "user", "content": "Send it"}],
        tools=[{"type": "function", "function": {"name": "send", "parameters": _pair(pattern)}}],
        tool_choice={"type": "function", "function": {"name": "send"}},
        max_tokens=20,
    )
    calls = completion.choices[0].message.tool_calls
    assert calls and calls[0].type == "function", completion
    return calls[0].function.arguments


def _responses_tool(client: openai.OpenAI, pattern: str) -> str:
    response = client.responses.create(
        model="tiny-small",
        input="Send it",
        tools=[{"type": "function", "name": "send", "parameters": _pair(pattern), "strict": True}],
        tool_choice={"type": "function", "name": "send"},
        max_output_tokens=20,
    )
    calls = [item for item in response.output if item.type == "function_call"]
    assert calls, response.output
    return calls[0].arguments


def _responses_format(client: openai.OpenAI, pattern: str) -> str:
    response = client.responses.create(
        model="tiny-small",
        input="x",
        text={"format": {"type": "json_schema", "name": "a", "schema": _pair(pattern)}},
        max_output_tokens=20,
    )
    return response.output_text


OPENAI_WAYS: list[tuple[Callable[[openai.OpenAI, str], str], str]] = [
    (_chat_tool, "tools[0].function.parameters.properties.v.pattern"),
    (_responses_tool, "tools.0.parameters.properties.v.pattern"),  # its places: docs/api.md
    (_responses_format, "text.format.schema"),
]
OPENAI_IDS = ["chat-forced-tool", "responses-forced-tool", "responses-text-format"]


@pytest.mark.parametrize(("pattern", "holds"), ASTRAL, ids=ASTRAL_IDS)
@pytest.mark.parametrize(("asked", "param"), OPENAI_WAYS, ids=OPENAI_IDS)
def test_an_openai_answer_held_to_a_surrogate_pair_is_the_character(
    client: openai.OpenAI,
    asked: Callable[[openai.OpenAI, str], str],
    param: str,
    pattern: str,
    holds: Callable[[str], bool],
) -> None:
    answer = asked(client, pattern)
    assert holds(json.loads(answer)["v"]), answer


@pytest.mark.parametrize(("asked", "param"), OPENAI_WAYS, ids=OPENAI_IDS)
def test_a_lone_surrogate_is_an_openai_400_naming_the_pattern(
    client: openai.OpenAI, asked: Callable[[openai.OpenAI, str], str], param: str
) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        asked(client, LONE)
    error = refused.value.body
    assert isinstance(error, dict)
    assert (error["type"], error["param"]) == ("invalid_request_error", param)
    assert SAID in error["message"], error["message"]


def _generate(client: ollama.Client, pattern: str) -> str:
    reply = client.generate(
        model="tiny-small", prompt="x", format=_pair(pattern), options={"num_predict": 20}
    )
    return reply.response or ""


def _chat(client: ollama.Client, pattern: str) -> str:
    reply = client.chat(
        model="tiny-small",
        messages=[{"role": "user", "content": "x"}],
        format=_pair(pattern),
        options={"num_predict": 20},
    )
    return reply.message.content or ""


OLLAMA_WAYS = [_generate, _chat]


@pytest.mark.parametrize(("pattern", "holds"), ASTRAL, ids=ASTRAL_IDS)
@pytest.mark.parametrize("asked", OLLAMA_WAYS, ids=["api-generate", "api-chat"])
def test_an_ollama_answer_held_to_a_surrogate_pair_is_the_character(
    gateway: Gateway,
    asked: Callable[[ollama.Client, str], str],
    pattern: str,
    holds: Callable[[str], bool],
) -> None:
    with gateway.ollama(KEYS["research"]) as client:
        answer = asked(client, pattern)
    assert holds(json.loads(answer)["v"]), answer


@pytest.mark.parametrize("asked", OLLAMA_WAYS, ids=["api-generate", "api-chat"])
def test_a_lone_surrogate_is_an_ollama_400_naming_the_pattern(
    gateway: Gateway, asked: Callable[[ollama.Client, str], str]
) -> None:
    with gateway.ollama(KEYS["research"]) as client, pytest.raises(ollama.ResponseError) as refused:
        asked(client, LONE)
    assert refused.value.status_code == 400
    said = f"format: not a JSON schema of the answer: {SAID}"
    assert refused.value.error.startswith(said), refused.value.error
