"""Request bodies: a key named twice is refused, an error's location is short and plain."""

from __future__ import annotations

from typing import Annotated

import pytest
from pydantic import AfterValidator, BaseModel, PlainValidator

from stellwerk.errors import InvalidRequest
from stellwerk.gateway.body import parse
from stellwerk.gateway.json_text import MAX_DEPTH
from stellwerk.gateway.ollama_wire import OllamaChatRequest
from stellwerk.gateway.openai_schema import ChatCompletionRequest

CHAT = b'"model": "m", "messages": [{"role": "user", "content": "hi"}]'


@pytest.mark.parametrize(
    ("body", "key", "param"),
    [
        (b'{"model": "a", ' + CHAT + b"}", "model", "model"),
        (b'{"model": "m", "messages": [{"role": "user", "content": "a", "content": "b"}]}',
         "content", "messages.0.content"),
        (b"{" + CHAT + b', "stop": [], "metadata": {"a": "1", "a": "2"}}', "a", "metadata.a"),
        (b"{" + CHAT + b', "metadata": {"str": "1", "str": "2"}}', "str", "metadata.str"),
    ],
)  # fmt: skip
def test_a_key_named_twice_anywhere_is_refused_naming_it(body: bytes, key: str, param: str) -> None:
    """By its place (a key named like a union's member too: ``str`` is no type here)."""
    with pytest.raises(InvalidRequest) as caught:
        parse(ChatCompletionRequest, body)
    assert caught.value.code == "duplicate_key"
    assert f"the key {key!r} twice" in caught.value.message
    assert caught.value.param == param


def test_the_same_key_in_different_objects_is_fine() -> None:
    body = b'{"model": "m", "messages": [{"role": "user", "content": "a"}, ' \
        b'{"role": "assistant", "content": "b"}]}'  # fmt: skip
    assert len(parse(ChatCompletionRequest, body).messages) == 2


@pytest.mark.parametrize(
    ("extra", "where"),
    [
        (b'"stop": [1]', "stop.0"),
        (b'"stop": 5', "stop"),
        (b'"tool_choice": 3', "tool_choice"),
        (b'"logit_bias": {"' + b"7" * 500 + b'": "x"}', "logit_bias." + "7" * 80 + "..."),
    ],
)
def test_an_errors_location_is_plain_and_short(extra: bytes, where: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse(ChatCompletionRequest, b"{" + CHAT + b", " + extra + b"}")
    assert caught.value.param == where
    assert len(caught.value.message) < 300


def test_an_ollama_tool_call_must_name_its_function_with_a_string() -> None:
    body = (
        b'{"model": "m", "messages": [{"role": "assistant", "content": "", "tool_calls": '
        b'[{"function": {"name": 7, "arguments": {}}}]}]}'
    )
    with pytest.raises(InvalidRequest) as caught:
        parse(OllamaChatRequest, body)
    assert caught.value.param == "messages.0.tool_calls.0.function.name"


def _nested_in_chat(levels: int) -> bytes:
    """A chat body whose parameter ``x`` nests ``levels`` arrays (the body's object around them)."""
    return b"{" + CHAT + b', "x": ' + b"[" * levels + b"]" * levels + b"}"


def test_a_body_nests_at_most_max_depth_levels_inside_it() -> None:
    """``MAX_DEPTH`` is where pydantic's parser stops: 200 levels inside the body are read,
    201 are told so, with where."""
    assert parse(ChatCompletionRequest, _nested_in_chat(MAX_DEPTH)).model_extra
    with pytest.raises(InvalidRequest) as caught:
        parse(ChatCompletionRequest, _nested_in_chat(MAX_DEPTH + 1))
    assert caught.value.message == (
        "request body is nested deeper than 200 levels at line 1 column 270; no parameter nests"
        " so deep"
    )


def _same(value: object) -> object:
    return value


def _text_only(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError("must be text")
    return value


class _Unions(BaseModel):
    """Unions of the shapes the APIs' fields do not have (yet): nested, a member with a
    validator, one whose name says nothing of its JSON type."""

    nested: list[int | list[int]] | None = None
    checked: Annotated[list[str], AfterValidator(_same)] | int | None = None
    opaque: Annotated[str, PlainValidator(_text_only)] | list[int] | None = None


@pytest.mark.parametrize(
    ("body", "said"),
    [
        (b'{"nested": [1, [2, "x"]]}', "nested.1.1: Input should be a valid integer"),
        (b'{"nested": [1, "x"]}', "nested.1: must be an integer or a list"),
        (b'{"checked": ["a", 5]}', "checked.1: Input should be a valid string"),
        (b'{"checked": "a"}', "checked: must be a list or an integer"),
        # a member's name that says nothing of its JSON type: every member's problem, as told
        (b'{"opaque": [1, "x"]}', "opaque: must be text; opaque.1: Input should be a valid"),
    ],
)
def test_a_union_is_told_by_the_member_of_the_values_json_type(body: bytes, said: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse(_Unions, body)
    assert caught.value.message.startswith(said), caught.value.message
