"""A schema's ``pattern`` with ECMAScript escapes (``\\d``, ``\\w``, ``\\.``) through the gateway to
the real llama.cpp server (llama-cpp-python), which dies on an escape its grammar parser does not
know: the gateway writes them out exactly (``[0-9]``), or refuses the ones it cannot with a 400
naming the pattern, so the server answers and is still there for the next request. The names of
``patternProperties`` are patterns too, written out or refused alike (llama.cpp's grammar skips
``patternProperties``; a server that reads it is sent what a ``pattern`` is)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import ollama
import openai
import pytest
from openai.types.chat import ChatCompletionFunctionToolParam
from openai.types.shared_params import ResponseFormatJSONSchema
from pydantic import BaseModel, Field, HttpUrl

from tests.fixtures.gateway import KEYS, Gateway, in_process
from tests.fixtures.llama import LlamaBackend
from tests.fixtures.loopback import recording_proxy

pytestmark = pytest.mark.llama


class Address(BaseModel):
    zip: str = Field(pattern=r"^\d{5}$")
    code: str = Field(pattern=r"^\w\.\w$")


@pytest.fixture
def client(gateway: Gateway) -> Iterator[openai.OpenAI]:
    with gateway.openai(KEYS["research"]) as made:
        yield made


def _still_serving(client: openai.OpenAI) -> None:
    """The next request (another caller's, say) is answered: the server did not die."""
    completion = client.chat.completions.create(
        model="tiny-small", messages=[{"role": "user", "content": "hi"}], max_tokens=3
    )
    assert completion.choices[0].message.content is not None


def _assert_address(address: Address | None) -> None:
    assert isinstance(address, Address)
    assert re.fullmatch(r"[0-9]{5}", address.zip)
    assert re.fullmatch(r"[A-Za-z0-9_]\.[A-Za-z0-9_]", address.code)


def test_sdk_parse_with_a_digit_pattern_is_answered_and_the_server_lives(
    client: openai.OpenAI,
) -> None:
    completion = client.chat.completions.parse(
        model="tiny-small",
        messages=[{"role": "user", "content": "Where?"}],
        response_format=Address,
        max_tokens=200,
    )
    _assert_address(completion.choices[0].message.parsed)
    _still_serving(client)


class Link(BaseModel):
    url: HttpUrl  # {"type": "string", "format": "uri", "minLength": 1, "maxLength": 2083}


def test_sdk_parse_with_pydantic_http_url_is_answered_and_the_server_lives(
    client: openai.OpenAI,
) -> None:
    """``maxLength: 2083`` killed llama-cpp-python's server (nested optional repeats): it is
    left out of what the server gets, the answer bounded by ``max_tokens`` (the tiny model may
    write a URL to the end of it: the library then raises with the answer)."""
    try:
        completion: Any = client.beta.chat.completions.parse(
            model="tiny-small",
            messages=[{"role": "user", "content": "A link, please."}],
            response_format=Link,
            max_tokens=40,
        )
        assert isinstance(completion.choices[0].message.parsed, Link)
    except openai.LengthFinishReasonError as cut:
        completion = cut.completion
    content = completion.choices[0].message.content
    assert re.match(r'\s*\{\s*"url"\s*:\s*"', content), content
    _still_serving(client)


def test_ollama_format_with_a_word_pattern_is_answered_and_the_server_lives(
    gateway: Gateway, client: openai.OpenAI
) -> None:
    with gateway.ollama(headers={"authorization": f"Bearer {KEYS['research']}"}) as ollama:
        reply = ollama.chat(
            model="tiny-small",
            messages=[{"role": "user", "content": "Where?"}],
            format=Address.model_json_schema(),
            options={"num_predict": 200},
        )
    assert reply.message.content is not None
    _assert_address(Address.model_validate_json(reply.message.content))
    _still_serving(client)


def test_responses_answer_shows_the_schema_as_the_client_sent_it(client: openai.OpenAI) -> None:
    schema = Address.model_json_schema()
    response = client.responses.create(
        model="tiny-small",
        input="Where?",
        text={"format": {"type": "json_schema", "name": "address", "schema": schema}},
        max_output_tokens=200,
    )
    _assert_address(Address.model_validate_json(response.output_text))
    shown = response.text.model_dump(by_alias=True) if response.text else {}
    assert shown["format"]["schema"]["properties"]["zip"]["pattern"] == r"^\d{5}$"
    _still_serving(client)


@pytest.mark.parametrize(
    ("pattern", "why"),
    [
        (r"^\bx$", "word boundary"),
        (r"^\p{L}+$", "u flag"),
        ("^[a-z]{0,3000}$", "more than 1000 optional repeats"),  # the server died on it
        (r"^[\uD800-\uDFFF]$", r"[\uD800-\uDFFF] at 1 is a UTF-16 surrogate not paired"),
    ],
    ids=["boundary", "property", "count", "lone-surrogate"],
)
def test_a_pattern_no_server_can_take_is_a_400_naming_it(
    client: openai.OpenAI, pattern: str, why: str
) -> None:
    schema: dict[str, object] = {
        "type": "object",
        "properties": {"zip": {"type": "string", "pattern": pattern}},
    }
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(
            model="tiny-small",
            messages=[{"role": "user", "content": "Where?"}],
            response_format=ResponseFormatJSONSchema(
                type="json_schema", json_schema={"name": "a", "schema": schema}
            ),
            max_tokens=20,
        )
    error = info.value.body
    assert isinstance(error, dict)
    assert error["param"] == "response_format.json_schema.schema"
    assert "schema.properties.zip.pattern: " in error["message"], error["message"]
    assert why in error["message"]
    _still_serving(client)


def test_a_tool_parameter_pattern_is_written_out_for_the_server(client: openai.OpenAI) -> None:
    parameters = Address.model_json_schema()
    completion = client.chat.completions.create(
        model="tiny-small",
        messages=[{"role": "user", "content": "Send it"}],
        tools=[{"type": "function", "function": {"name": "send", "parameters": parameters}}],
        tool_choice={"type": "function", "function": {"name": "send"}},
        max_tokens=200,
    )
    calls = completion.choices[0].message.tool_calls
    assert calls and calls[0].type == "function"
    _assert_address(Address.model_validate(json.loads(calls[0].function.arguments)))
    _still_serving(client)


def test_a_tool_parameter_pattern_no_server_can_take_is_a_400_naming_it(
    client: openai.OpenAI,
) -> None:
    parameters: dict[str, object] = {
        "type": "object",
        "properties": {"zip": {"type": "string", "pattern": r"^\bx$"}},
    }
    tool: ChatCompletionFunctionToolParam = {
        "type": "function",
        "function": {"name": "send", "parameters": parameters},
    }
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(
            model="tiny-small",
            messages=[{"role": "user", "content": "Send it"}],
            tools=[tool],
            tool_choice={"type": "function", "function": {"name": "send"}},
            max_tokens=20,
        )
    error = info.value.body
    assert isinstance(error, dict)
    assert error["param"] == "tools[0].function.parameters.properties.zip.pattern"
    assert "word boundary" in error["message"]
    _still_serving(client)


def _named(pattern: str) -> dict[str, object]:
    """An object schema whose names that match ``pattern`` have string values."""
    return {
        "type": "object",
        "properties": {"ok": {"type": "boolean"}},
        "required": ["ok"],
        "patternProperties": {pattern: {"type": "string"}},
    }


def _format(schema: dict[str, object]) -> ResponseFormatJSONSchema:
    return ResponseFormatJSONSchema(type="json_schema", json_schema={"name": "a", "schema": schema})


def _tool(parameters: dict[str, object]) -> ChatCompletionFunctionToolParam:
    return {"type": "function", "function": {"name": "send", "parameters": parameters}}


def test_a_pattern_property_name_is_written_out_for_the_server(
    gateway_raw: dict[str, Any], llama_server: LlamaBackend
) -> None:
    """In the answer's schema and in a tool's parameters; the client is answered."""
    schema = _named(r"^\d+\.x$")
    with recording_proxy(llama_server.base_url) as proxy:
        gateway_raw["backends"][0]["base_url"] = proxy.url
        with in_process(gateway_raw) as gw, gw.openai(KEYS["research"], max_retries=0) as client:
            answered = client.chat.completions.create(
                model="tiny-small",
                messages=[{"role": "user", "content": "Ok?"}],
                response_format=_format(schema),
                max_tokens=20,
            )
            called = client.chat.completions.create(
                model="tiny-small",
                messages=[{"role": "user", "content": "Send it"}],
                tools=[_tool(schema)],
                max_tokens=20,
            )
    assert answered.choices and called.choices
    sent = [b for b, p in zip(proxy.bodies, proxy.paths, strict=True) if p.endswith("completions")]
    schemas = [body["response_format"]["schema"] for body in sent if "response_format" in body]
    schemas += [body["tools"][0]["function"]["parameters"] for body in sent if "tools" in body]
    written = {r"^[0-9]+[\u002E]x$": {"type": "string"}}
    assert [s["patternProperties"] for s in schemas] == [written, written]


BOUNDARY = _named(r"^\bx$")


@pytest.mark.parametrize(
    ("asked", "param"),
    [
        ({"response_format": _format(BOUNDARY)}, "response_format.json_schema.schema"),
        ({"tools": [_tool(BOUNDARY)]}, r"tools[0].function.parameters.patternProperties.^\bx$"),
    ],
    ids=["response_format", "tools"],
)
def test_a_pattern_property_name_no_server_can_take_is_a_400_naming_it(
    client: openai.OpenAI, asked: dict[str, Any], param: str
) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(
            model="tiny-small",
            messages=[{"role": "user", "content": "Ok?"}],
            max_tokens=20,
            **asked,
        )
    error = info.value.body
    assert isinstance(error, dict)
    assert error["param"] == param
    said = r"patternProperties.^\bx$: this name is a pattern, and \b (a word boundary) is not"
    assert said in error["message"], error["message"]
    _still_serving(client)


def _pair(pattern: str) -> dict[str, object]:
    """An answer that must hold the key ``v``, a string matching ``pattern``."""
    return {
        "type": "object",
        "properties": {"v": {"type": "string", "pattern": pattern}},
        "required": ["v"],
    }


def test_a_group_pattern_holds_the_chat_answer_to_its_schema(client: openai.OpenAI) -> None:
    """``(?:...)`` is sent as ``(...)``: llama-cpp-python's converter dropped the whole schema on
    it, and the answer had no key ``v`` at all."""
    completion = client.chat.completions.create(
        model="tiny-small",
        messages=[{"role": "user", "content": "x"}],
        response_format=_format(_pair("^(?:ab|cd){2}$")),
        max_tokens=40,
    )
    answer = json.loads(completion.choices[0].message.content or "")
    assert re.fullmatch("(ab|cd){2}", answer["v"]), answer


def test_a_named_group_pattern_holds_the_ollama_answer_to_its_schema(gateway: Gateway) -> None:
    with gateway.ollama(KEYS["research"]) as ollama_client:
        reply = ollama_client.chat(
            model="tiny-small",
            messages=[{"role": "user", "content": "x"}],
            format=_pair("^(?<pair>ab|cd){1,3}?x?$"),
            options={"num_predict": 40},
        )
    answer = json.loads(reply.message.content or "")
    assert re.fullmatch("(ab|cd){1,3}x?", answer["v"]), answer


LOOKAHEAD = "'(?!x' at 1 (a negative lookahead) is not supported by the model servers"


def test_a_lookahead_is_a_400_naming_it_on_chat(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(
            model="tiny-small",
            messages=[{"role": "user", "content": "x"}],
            response_format=_format(_pair("^(?!x)[a-z]+$")),
            max_tokens=20,
        )
    error = info.value.body
    assert isinstance(error, dict)
    assert error["param"] == "response_format.json_schema.schema"
    assert f"schema.properties.v.pattern: {LOOKAHEAD}" in error["message"], error["message"]


def test_a_lookahead_is_a_400_naming_it_on_ollama(gateway: Gateway) -> None:
    with (
        gateway.ollama(KEYS["research"]) as ollama_client,
        pytest.raises(ollama.ResponseError) as refused,
    ):
        ollama_client.chat(
            model="tiny-small",
            messages=[{"role": "user", "content": "x"}],
            format=_pair("^(?!x)[a-z]+$"),
        )
    assert refused.value.status_code == 400
    said = f"format: not a JSON schema of the answer: properties.v.pattern: {LOOKAHEAD}"
    assert refused.value.error == said


def test_a_lone_bracket_reaches_the_server_as_a_class_and_it_answers(
    client: openai.OpenAI,
) -> None:
    """A lone ``]`` (a literal in ECMAScript) looped llama-cpp-python's converter forever."""
    completion = client.chat.completions.create(
        model="tiny-small",
        messages=[{"role": "user", "content": "x"}],
        response_format=_format(_pair("^a]{1,2}$")),
        max_tokens=40,
        timeout=60,
    )
    answer = json.loads(completion.choices[0].message.content or "")
    assert answer["v"] in ("a]", "a]]"), answer
    _still_serving(client)


#: patterns whose answer holds a quote, a backslash or any character: llama.cpp's converters put
#: them raw inside the JSON string, so the answer was no JSON (``"x"y"``), or JSON with another
#: string in it (``"a\b"``: a backspace); ``[\s\S]`` was refused
JSON_SAFE = [
    ('^x"y$', lambda v: v == 'x"y'),
    (r"^a\\b$", lambda v: v == "a\\b"),
    (r"^[\s\S]{2,6}$", lambda v: 2 <= len(v) <= 6),
]


@pytest.mark.parametrize(("pattern", "holds"), JSON_SAFE, ids=[p for p, _ in JSON_SAFE])
def test_an_answer_held_to_a_quote_or_a_backslash_is_json_that_holds_it(
    client: openai.OpenAI, pattern: str, holds: Callable[[str], bool]
) -> None:
    completion = client.chat.completions.create(
        model="tiny-small",
        messages=[{"role": "user", "content": "x"}],
        response_format=_format(_pair(pattern)),
        max_tokens=60,
        seed=7,
    )
    content = completion.choices[0].message.content or ""
    answer = json.loads(content)
    assert holds(answer["v"]), content


def test_an_ollama_answer_held_to_a_quote_is_json_that_holds_it(gateway: Gateway) -> None:
    with gateway.ollama(KEYS["research"]) as ollama_client:
        reply = ollama_client.chat(
            model="tiny-small",
            messages=[{"role": "user", "content": "x"}],
            format=_pair('^x"y$'),
            options={"num_predict": 40},
        )
    assert json.loads(reply.message.content or "") == {"v": 'x"y'}, reply.message.content


def test_a_forced_tool_call_held_to_a_quote_has_json_arguments_that_hold_it(
    client: openai.OpenAI,
) -> None:
    completion = client.chat.completions.create(
        model="tiny-small",
        messages=[{"role": "user", "content": "Send it"}],
        tools=[_tool(_pair('^x"y$'))],
        tool_choice={"type": "function", "function": {"name": "send"}},
        max_tokens=60,
    )
    calls = completion.choices[0].message.tool_calls
    assert calls and calls[0].type == "function"
    assert json.loads(calls[0].function.arguments) == {"v": 'x"y'}, calls[0].function.arguments


ASTRAL = [
    (r"^\uD83D\uDE00$", lambda v: v == "\U0001f600"),
    (r"^[\uD800-\uDBFF][\uDC00-\uDFFF]$", lambda v: len(v) == 1 and ord(v) > 0xFFFF),
    (r"^[^\x00-\uffff]$", lambda v: len(v) == 1 and ord(v) > 0xFFFF),
]


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5, 6])
@pytest.mark.parametrize(("pattern", "holds"), ASTRAL, ids=[p for p, _ in ASTRAL])
def test_an_answer_held_to_a_surrogate_pair_is_the_character_it_writes(
    client: openai.OpenAI, pattern: str, holds: Callable[[str], bool], seed: int
) -> None:
    """A character beyond the Basic Multilingual Plane written as its UTF-16 halves (and a class
    of them all) was sent as lone surrogates: llama.cpp answered ``""``, which does not match."""
    completion = client.chat.completions.create(
        model="tiny-small",
        messages=[{"role": "user", "content": "x"}],
        response_format=_format(_pair(pattern)),
        max_tokens=20,
        seed=seed,
    )
    content = completion.choices[0].message.content or ""
    assert holds(json.loads(content)["v"]), content


def test_an_ollama_answer_held_to_a_surrogate_pair_is_the_character(gateway: Gateway) -> None:
    with gateway.ollama(KEYS["research"]) as ollama_client:
        reply = ollama_client.chat(
            model="tiny-small",
            messages=[{"role": "user", "content": "x"}],
            format=_pair(r"^\uD83D\uDE00$"),
            options={"num_predict": 20},
        )
    assert json.loads(reply.message.content or "") == {"v": "\U0001f600"}, reply.message.content
