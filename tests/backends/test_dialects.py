"""Dialects of OpenAI-compatible servers, through the backend's pure ``to_wire``.

The gateway tests (tests/gateway/test_structured_outputs.py) send the translated requests to the
real llama.cpp server; these pin the translation itself.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from stellwerk.backends.dialects import builtin_dialects
from stellwerk.backends.openai import to_wire
from stellwerk.backends.types import ChatRequest
from stellwerk.errors import InvalidRequest, Untranslatable

SCHEMA = {
    "type": "object",
    "properties": {"ok": {"type": "boolean"}, "score": {"type": "number", "maximum": 0.5}},
    "required": ["ok"],
}
STRUCTURED = {
    "type": "json_schema",
    "json_schema": {"name": "verdict", "strict": True, "schema": SCHEMA},
}


def _wire(dialect: str, **params: Any) -> dict[str, Any]:
    request = ChatRequest(messages=[{"role": "user", "content": "hi"}], params=params)
    return to_wire("m", request, stream=False, dialect=builtin_dialects()[dialect])


def _tool(parameters: dict[str, Any]) -> dict[str, Any]:
    return {"type": "function", "function": {"name": "lookup", "parameters": parameters}}


def test_generic_dialect_passes_structured_outputs_and_tools_through_unchanged() -> None:
    tool = _tool({"type": "object", "properties": {}, "minimum": 0.5})
    params = {"response_format": STRUCTURED, "tools": [tool]}
    request = ChatRequest(messages=[{"role": "user", "content": "hi"}], params=params)
    for wire in (_wire("generic", **params), to_wire("m", request, stream=False)):  # the default
        assert wire["response_format"] == STRUCTURED
        assert wire["tools"] == [tool]


def test_llamacpp_asks_for_a_json_object_constrained_by_the_schema() -> None:
    wire = _wire("llamacpp", response_format=STRUCTURED)
    assert wire["response_format"] == {"type": "json_object", "schema": SCHEMA}


@pytest.mark.parametrize(
    "response_format",
    [
        {"type": "json_schema", "json_schema": {"name": "any"}},
        {"type": "json_schema"},
    ],
    ids=["json_schema-without-schema", "no-json_schema"],
)
def test_llamacpp_structured_outputs_without_a_schema_ask_for_any_json_object(
    response_format: dict[str, Any],
) -> None:
    assert _wire("llamacpp", response_format=response_format)["response_format"] == {
        "type": "json_object"
    }


@pytest.mark.parametrize(
    "response_format",
    [{"type": "text"}, {"type": "json_object"}, {"type": "json_object", "schema": SCHEMA}],
)
def test_llamacpp_passes_the_formats_it_knows_unchanged(response_format: dict[str, Any]) -> None:
    assert _wire("llamacpp", response_format=response_format)["response_format"] == (
        response_format
    )


def test_llamacpp_refuses_a_schema_that_is_not_an_object_naming_it() -> None:
    bad = {"type": "json_schema", "json_schema": {"name": "x", "schema": ["not", "a", "schema"]}}
    with pytest.raises(InvalidRequest, match="must be a JSON Schema object") as caught:
        _wire("llamacpp", response_format=bad)
    assert caught.value.param == "response_format.json_schema.schema"
    assert caught.value.status_code == 400


def test_llamacpp_tool_parameters_lose_their_top_level_floats_without_changing_meaning() -> None:
    parameters = {
        "type": "object",
        "properties": {"x": {"type": "number", "minimum": 0.25, "default": 1.5}},
        "required": ["x"],
        "minProperties": 1.0,  # a whole number written as a float
        "maximum": 2.5,  # constrains numbers only: vacuous on an object
        "multipleOf": 0.1,
    }
    sent = copy.deepcopy(parameters)
    wire = _wire("llamacpp", tools=[_tool(sent)], functions=[{"name": "f", "parameters": sent}])
    expected = {
        "type": "object",
        "properties": {"x": {"type": "number", "minimum": 0.25, "default": 1.5}},
        "required": ["x"],
        "minProperties": 1,
    }
    assert wire["tools"][0]["function"]["parameters"] == expected
    assert type(wire["tools"][0]["function"]["parameters"]["minProperties"]) is int
    assert wire["functions"][0]["parameters"] == expected
    assert sent == parameters  # the client's request is not changed in place


@pytest.mark.parametrize(
    ("parameters", "param"),
    [
        ({"type": "object", "properties": {}, "default": 0.5}, "default"),
        ({"type": "number", "minimum": 0.5}, "minimum"),
        ({"type": "object", "properties": {}, "x-weight": 1e300 * 10.5}, "x-weight"),
    ],
    ids=["annotation", "numeric-keyword-of-a-number-schema", "huge"],
)
def test_llamacpp_refuses_a_top_level_float_it_cannot_translate_naming_it(
    parameters: dict[str, Any], param: str
) -> None:
    with pytest.raises(Untranslatable, match="takes no number but a 64-bit integer") as caught:
        _wire("llamacpp", tools=[_tool({"type": "object"}), _tool(parameters)])
    assert caught.value.param == f"tools[1].function.parameters.{param}"


def test_required_is_the_one_tool_named_for_llamacpp_and_as_sent_elsewhere() -> None:
    tool = _tool({"type": "object", "properties": {}})
    forced = _wire("llamacpp", tools=[tool], tool_choice="required")
    assert forced["tool_choice"] == {"type": "function", "function": {"name": "lookup"}}
    assert _wire("generic", tools=[tool], tool_choice="required")["tool_choice"] == "required"
    other = {"type": "function", "function": {"name": "other", "parameters": {}}}
    with pytest.raises(Untranslatable, match="cannot force a call among several") as err:
        _wire("llamacpp", tools=[tool, other], tool_choice="required")
    assert err.value.param == "tool_choice"
    assert _wire("generic", tools=[tool, other], tool_choice="required")["tool_choice"] == (
        "required"
    )


@pytest.mark.parametrize(
    ("params", "chat", "text"),
    [
        ({"logprobs": True}, {"logprobs": True, "top_logprobs": 1}, {"logprobs": 1}),
        (
            {"logprobs": True, "top_logprobs": 0},
            {"logprobs": True, "top_logprobs": 1},
            {"logprobs": 1},
        ),
        (
            {"logprobs": True, "top_logprobs": 5},
            {"logprobs": True, "top_logprobs": 5},
            {"logprobs": 5},
        ),
        ({"logprobs": False}, {"logprobs": False}, {"logprobs": False}),
    ],
)
def test_llamacpp_is_asked_for_one_alternative_at_least_so_that_it_sends_logprobs(
    params: dict[str, Any], chat: dict[str, Any], text: dict[str, Any]
) -> None:
    """llama-cpp-python sends none for ``logprobs: true`` alone, llama-server none for 0
    alternatives: the answer's alternatives are cut back to what was asked
    (tests/gateway/test_logprobs.py); a text completion asks in the legacy form."""
    wire = _wire("llamacpp", **params)
    assert {k: wire[k] for k in ("logprobs", "top_logprobs") if k in wire} == chat
    completion = ChatRequest(messages=[], params=params, prompt="Es war")
    wire = to_wire("m", completion, stream=False, dialect=builtin_dialects()["llamacpp"])
    assert {k: wire[k] for k in ("logprobs", "top_logprobs") if k in wire} == text
    generic = _wire("generic", **params)
    assert {k: generic[k] for k in ("logprobs", "top_logprobs") if k in generic} == params
