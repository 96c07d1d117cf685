"""Structured outputs and tool schemas reach llama.cpp in its dialect (``dialect: llamacpp``).

llama-cpp-python's server refuses OpenAI's ``response_format: {"type": "json_schema"}`` and a
float at the top level of a tool's ``parameters``; the gateway translates both. llama.cpp turns
the schema into a grammar, so even the random tiny model answers with JSON that has the
schema's required keys and the types and enum values it names; the fields here are booleans,
enums and numbers, whose length the grammar bounds, so the answer always ends before
``max_tokens`` (a string could run on past it and be cut). Numeric bounds (``minimum``) are not
part of llama.cpp's grammar and are not asserted.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, Literal

import ollama
import openai
import pytest
from openai.types.chat import ChatCompletionFunctionToolParam, ChatCompletionMessageParam
from openai.types.chat.completion_create_params import ResponseFormat
from openai.types.shared_params import ResponseFormatJSONSchema
from pydantic import BaseModel

from tests.fixtures.gateway import KEYS, Gateway

pytestmark = pytest.mark.llama

SCHEMA: dict[str, object] = {
    "type": "object",
    "properties": {
        "approved": {"type": "boolean"},
        "colour": {"enum": ["red", "green", "blue"]},
        "score": {"type": "number", "minimum": 0.5, "maximum": 9.5},
    },
    "required": ["approved", "colour", "score"],
    "additionalProperties": False,
}
STRUCTURED: ResponseFormatJSONSchema = {
    "type": "json_schema",
    "json_schema": {"name": "verdict", "schema": SCHEMA},
}


class Verdict(BaseModel):
    approved: bool
    colour: Literal["red", "green", "blue"]
    count: int


def _assert_matches_schema(content: str | None) -> None:
    assert content is not None
    answer = json.loads(content)
    assert set(answer) == {"approved", "colour", "score"}
    assert isinstance(answer["approved"], bool)
    assert answer["colour"] in ("red", "green", "blue")
    assert isinstance(answer["score"], int | float) and not isinstance(answer["score"], bool)


@pytest.fixture
def client(gateway: Gateway) -> Iterator[openai.OpenAI]:
    with gateway.openai(KEYS["research"]) as made:
        yield made


def test_json_schema_answer_is_json_with_the_required_keys(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(
        model="tiny-small",
        messages=[{"role": "user", "content": "Approve the request?"}],
        response_format=STRUCTURED,
        max_tokens=300,
        seed=7,
    )
    choice = completion.choices[0]
    assert choice.finish_reason == "stop"
    _assert_matches_schema(choice.message.content)


def test_json_schema_streamed_answer_is_json_with_the_required_keys(
    client: openai.OpenAI,
) -> None:
    stream = client.chat.completions.create(
        model="tiny-small",
        messages=[{"role": "user", "content": "Approve the request?"}],
        response_format=STRUCTURED,
        max_tokens=300,
        stream=True,
    )
    pieces: list[str] = []
    finish = None
    for chunk in stream:
        if chunk.choices:
            pieces.append(chunk.choices[0].delta.content or "")
            finish = chunk.choices[0].finish_reason or finish
    assert finish == "stop"
    _assert_matches_schema("".join(pieces))


def test_sdk_parse_into_a_pydantic_model(client: openai.OpenAI) -> None:
    """``parse`` sends a strict ``json_schema`` made from the model and validates the answer."""
    completion = client.chat.completions.parse(
        model="tiny-small",
        messages=[{"role": "user", "content": "Verdict?"}],
        response_format=Verdict,
        max_tokens=300,
    )
    verdict = completion.choices[0].message.parsed
    assert isinstance(verdict, Verdict)
    assert verdict.colour in ("red", "green", "blue")


NUMBER_PARAMETERS: dict[str, Any] = {
    "type": "object",
    "properties": {"celsius": {"type": "number", "minimum": -50.5, "maximum": 60.5}},
    "required": ["celsius"],
}


@pytest.mark.parametrize(
    "parameters",
    [
        NUMBER_PARAMETERS,
        # top-level floats, which llama-cpp-python's request validation refuses as sent
        {**NUMBER_PARAMETERS, "minProperties": 1.0, "maximum": 100.5},
    ],
    ids=["number-property", "top-level-floats"],
)
def test_tool_with_a_number_parameter_is_called(
    client: openai.OpenAI, parameters: dict[str, Any]
) -> None:
    tool: ChatCompletionFunctionToolParam = {
        "type": "function",
        "function": {"name": "set_heating", "parameters": parameters},
    }
    completion = client.chat.completions.create(
        model="tiny-small",
        messages=[{"role": "user", "content": "Heat to 21.5 degrees"}],
        tools=[tool],
        tool_choice={"type": "function", "function": {"name": "set_heating"}},
        max_tokens=200,
    )
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.tool_calls
    call = choice.message.tool_calls[0]
    assert call.type == "function"
    function = call.function
    assert function.name == "set_heating"
    arguments = json.loads(function.arguments)
    assert set(arguments) == {"celsius"}
    assert isinstance(arguments["celsius"], int | float)


def test_untranslatable_tool_schema_is_a_400_naming_the_parameter(
    client: openai.OpenAI,
) -> None:
    tool: ChatCompletionFunctionToolParam = {
        "type": "function",
        "function": {"name": "f", "parameters": {**NUMBER_PARAMETERS, "default": 0.5}},
    }
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(
            model="tiny-small",
            messages=[{"role": "user", "content": "hi"}],
            tools=[tool],
            max_tokens=5,
        )
    assert info.value.status_code == 400
    error = info.value.body
    assert isinstance(error, dict)
    assert error["type"] == "invalid_request_error"
    assert error["param"] == "tools[0].function.parameters.default"
    assert "llama.cpp" in error["message"]


def test_ollama_format_schema_answer_is_json_with_the_required_keys(gateway: Gateway) -> None:
    headers = {"authorization": f"Bearer {KEYS['research']}"}
    with gateway.ollama(headers=headers) as client:
        reply = client.chat(
            model="tiny-small",
            messages=[{"role": "user", "content": "Approve the request?"}],
            format=SCHEMA,
            options={"num_predict": 300},
        )
    assert reply.done_reason == "stop"
    _assert_matches_schema(reply.message.content)


@pytest.mark.parametrize(
    "response_format",
    [STRUCTURED, {"type": "json_object"}],
    ids=["json_schema", "json_object"],
)
def test_a_json_answer_needs_a_model_with_the_json_capability(
    client: openai.OpenAI, response_format: ResponseFormat
) -> None:
    """Asked of a model without ``json``, a JSON answer is a 400, as tools and images are of a
    model without theirs; a route answers it by a model that has it (tiny-small alone here)."""
    messages: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Approve?"}]
    with pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(
            model="tiny-medium",
            response_format=response_format,
            messages=messages,
            max_tokens=200,
        )
    assert "model 'tiny-medium' does not support json" in str(err.value)
    routed = client.chat.completions.with_raw_response.create(
        model="auto",
        response_format=response_format,
        messages=messages,
        max_tokens=200,
    )
    assert routed.headers["x-stellwerk-model"] == "tiny-small"
    plain = client.chat.completions.create(model="tiny-medium", messages=messages, max_tokens=200)
    assert plain.choices[0].message.content is not None  # text asks for no capability


def test_ollama_format_needs_a_model_with_the_json_capability(gateway: Gateway) -> None:
    headers = {"authorization": f"Bearer {KEYS['research']}"}
    with gateway.ollama(headers=headers) as client:
        for format in ("json", SCHEMA):
            with pytest.raises(ollama.ResponseError) as err:
                client.chat(
                    model="tiny-large",
                    messages=[{"role": "user", "content": "Approve?"}],
                    format=format,
                )
            assert err.value.status_code == 400
            assert "model 'tiny-large' does not support json" in err.value.error
