"""The Responses translation on its own (pure): every rendered event and response validates
against the ``openai`` library's own types, and the input items become the chat they mean."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any, get_args

import orjson
import pytest
from openai.types.responses import Response, ResponseStreamEvent
from pydantic import BaseModel

from stellwerk.backends.types import ChatChunk, ChatResult, Usage
from stellwerk.errors import InvalidRequest
from stellwerk.gateway import responses_wire as wire
from stellwerk.gateway.body import parse
from stellwerk.gateway.openai_schema import ChatCompletionRequest
from stellwerk.gateway.responses_events import ResponseEvents, render
from stellwerk.gateway.responses_schema import ResponseRequest

#: The library's event class of each event type (its union is discriminated by the library,
#: not by pydantic, so each event is validated against its own class).
EVENTS: dict[str, type[BaseModel]] = {
    get_args(cls.model_fields["type"].annotation)[0]: cls
    for cls in get_args(get_args(ResponseStreamEvent)[0])
}
USAGE = Usage(21, 3)


def _body(**fields: Any) -> ResponseRequest:
    return parse(ResponseRequest, orjson.dumps({"model": "auto", "input": "Hallo", **fields}))


def _events(chunks: list[ChatChunk], body: ResponseRequest) -> list[Any]:
    async def source() -> AsyncIterator[ChatChunk]:
        for chunk in chunks:
            yield chunk

    async def collect() -> list[bytes]:
        events = ResponseEvents(body, "r1", 1700000000, "tiny-small")
        return [e async for e in render(events, source(), lambda: USAGE)]

    out = []
    for raw in asyncio.run(collect()):
        head, data = raw.decode().split("\n", 1)
        payload = data.removeprefix("data: ").strip()
        kind = orjson.loads(payload)["type"]
        assert head == f"event: {kind}"
        event: Any = EVENTS[kind].model_validate_json(payload)
        out.append(event)
    return out


def _call(index: int, *, name: str | None = None, args: str = "") -> dict[str, Any]:
    function: dict[str, Any] = {"arguments": args}
    if name is not None:
        function["name"] = name
        return {"index": index, "id": f"call_{index}", "type": "function", "function": function}
    return {"index": index, "function": function}


def test_text_stream_events_are_the_librarys_types() -> None:
    chunks = [ChatChunk("Hal"), ChatChunk("lo"), ChatChunk(finish_reason="stop")]
    events = _events(chunks, _body())
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert events[-1].type == "response.completed"
    assert events[-1].response.output_text == "Hallo"
    assert events[-1].response.usage.input_tokens == 21


def test_tool_call_stream_with_text_and_two_calls() -> None:
    chunks = [
        ChatChunk("Moment."),
        ChatChunk(tool_calls=[_call(0, name="get_weather", args='{"ci')]),
        ChatChunk(tool_calls=[_call(0, args='ty": "Bern"}')]),
        ChatChunk(tool_calls=[_call(1, name="get_time", args="{}")]),
        ChatChunk(finish_reason="tool_calls"),
    ]
    events = _events(chunks, _body())
    final = events[-1].response
    assert [item.type for item in final.output] == ["message", "function_call", "function_call"]
    assert final.output[1].arguments == '{"city": "Bern"}'
    assert final.output[1].call_id == "call_0" and final.output[2].name == "get_time"
    done = [e for e in events if e.type == "response.function_call_arguments.done"]
    assert [e.arguments for e in done] == ['{"city": "Bern"}', "{}"]


def test_an_answer_cut_at_max_output_tokens_is_incomplete() -> None:
    events = _events([ChatChunk("Hal"), ChatChunk(finish_reason="length")], _body())
    assert events[-1].type == "response.completed"  # where clients look for the end
    assert events[-1].response.status == "incomplete"
    assert events[-1].response.incomplete_details.reason == "max_output_tokens"
    done = next(e for e in events if e.type == "response.output_item.done")
    assert done.item.status == "incomplete"


def test_an_empty_answer_is_an_empty_message() -> None:
    events = _events([ChatChunk(finish_reason="stop")], _body())
    assert events[-1].response.output[0].type == "message"
    assert events[-1].response.output_text == ""


def test_plain_response_is_the_librarys_type() -> None:
    result = ChatResult("Hallo", [_call(0, name="f", args="{}")], "tool_calls", USAGE)
    body = _body(tools=[{"type": "function", "name": "f"}], tool_choice="auto")
    payload = wire.response_json(
        body,
        "r1",
        1,
        "tiny-small",
        status="completed",
        output=wire.output_items("r1", result),
        usage=result.usage,
    )
    response = Response.model_validate_json(orjson.dumps(payload))
    assert response.output_text == "Hallo"
    assert response.output[1].type == "function_call"


def test_items_become_the_chat_they_mean() -> None:
    body = _body(
        instructions="Kurz.",
        input=[
            {
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "Was ist das?"},
                    {
                        "type": "input_image",
                        "image_url": "data:image/png;base64,AAAA",
                        "detail": "low",
                    },
                ],
            },
            {
                "type": "message",
                "role": "assistant",
                "content": [{"type": "output_text", "text": "Ich schaue."}],
            },
            {"type": "function_call", "call_id": "c1", "name": "look", "arguments": "{}"},
            {"type": "function_call", "call_id": "c2", "name": "look", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "c1", "output": "ein Hund"},
            {
                "type": "function_call_output",
                "call_id": "c2",
                "output": [{"type": "input_text", "text": "braun"}],
            },
        ],
        tools=[{"type": "function", "name": "look"}],
        tool_choice={"type": "function", "name": "look"},
        max_output_tokens=9,
        text={"format": {"type": "json_object"}},
    )
    chat = wire.chat_body(body)
    roles = [m["role"] for m in chat["messages"]]
    assert roles == ["system", "user", "assistant", "tool", "tool"]
    assert chat["messages"][1]["content"][1] == {
        "type": "image_url",
        "image_url": {"url": "data:image/png;base64,AAAA", "detail": "low"},
    }
    assistant = chat["messages"][2]
    assert assistant["content"] == "Ich schaue."
    assert [c["id"] for c in assistant["tool_calls"]] == ["c1", "c2"]
    assert chat["messages"][4]["content"] == "braun"
    assert chat["max_tokens"] == 9
    assert chat["tool_choice"] == {"type": "function", "function": {"name": "look"}}
    assert chat["response_format"] == {"type": "json_object"}


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"tool_choice": {"type": "function", "name": "nope"}}, "tool_choice"),
        ({"tool_choice": "required"}, "tool_choice"),
        ({"conversation": "conv_1"}, "conversation"),
        ({"background": True}, "background"),
        (
            {
                "input": [
                    {
                        "role": "system",
                        "content": [{"type": "input_image", "image_url": "http://x"}],
                    }
                ]
            },
            "input.0.content.0",
        ),
    ],
)
def test_requests_it_cannot_carry_out(fields: dict[str, Any], param: str) -> None:
    from stellwerk.errors import InvalidRequest

    with pytest.raises(InvalidRequest) as info:
        wire.chat_body(_body(**fields))
    assert info.value.param == param


def test_a_stream_broken_after_its_first_token_ends_with_an_error_event() -> None:
    from stellwerk.errors import BackendFailed

    events = ResponseEvents(_body(), "r1", 1, "tiny-small")
    opened = len(events.opening())
    raw = events.error(BackendFailed("gpu-1", "connection lost"))
    head, data = raw.decode().split("\n", 1)
    assert head == "event: error"
    event: Any = EVENTS["error"].model_validate_json(data.removeprefix("data: ").strip())
    assert event.code == "backend_failed" and "gpu-1" in event.message
    assert event.sequence_number == opened


def test_chat_parameters_of_converted_clients_are_passed_on_service_ones_are_not() -> None:
    chat = wire.chat_body(
        _body(
            seed=7,
            top_k=20,
            response_format={"type": "json_object"},
            reasoning={"effort": "low"},
            truncation="auto",
            include=["x"],
        )
    )
    assert chat["seed"] == 7 and chat["top_k"] == 20
    assert chat["response_format"] == {"type": "json_object"}
    assert not {"reasoning", "truncation", "include"} & set(chat)
    assert chat["reasoning_effort"] == "low"  # reasoning.effort is chat's


def test_a_number_json_cannot_pass_on_is_a_400() -> None:
    from stellwerk.errors import InvalidRequest
    from stellwerk.gateway.responses_api import ResponsesExchange

    raw = b'{"model": "auto", "input": "Hallo", "seed": 123456789012345678901234567890}'
    with pytest.raises(InvalidRequest, match=r"^seed: an integer of 30 digits is outside"):
        ResponsesExchange(raw, "r1")


PLACED: Any = {
    "instructions": "Antworte kurz.",
    "input": [
        {"role": "user", "content": [{"type": "input_text", "text": "Bern?"}]},
        {"role": "assistant", "content": "Ich schaue nach."},
        {"type": "function_call", "call_id": "c1", "name": "get_weather", "arguments": "{}"},
        {"type": "function_call", "call_id": "c2", "name": "get_weather", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c1", "output": "sonnig"},
    ],
    "tools": [{"type": "function", "name": "get_weather"}],
    "tool_choice": {"type": "function", "name": "get_weather"},
    "text": {"format": {"type": "json_schema", "name": "n", "schema": {}}},
    "include": [wire.LOGPROBS],
    "seed": 7,
}


@pytest.mark.parametrize(
    ("chat", "responses"),
    [
        ("messages", "input"),
        ("messages.0.content", "instructions"),
        ("messages.1.content.0.text", "input.0.content.0.text"),
        ("messages.1.content.0.image_url.url", "input.0.content.0.image_url"),
        ("messages.1.content.0.image_url.detail", "input.0.content.0.detail"),
        ("messages.2.content", "input.1.content"),
        ("messages.2.tool_calls.1.function.arguments", "input.3.arguments"),
        ("messages.2.tool_calls.0.id", "input.2.call_id"),
        ("messages.3.tool_call_id", "input.4.call_id"),
        ("messages.3.content", "input.4.output"),
        ("tools[0].function.parameters.default", "tools.0.parameters.default"),
        ("tools.0.function.name", "tools.0.name"),
        ("tool_choice.function.name", "tool_choice.name"),
        ("response_format.json_schema.schema", "text.format.schema"),
        ("response_format.type", "text.format.type"),
        ("max_tokens", "max_output_tokens"),
        ("logprobs", "include"),
        ("seed", "seed"),
    ],
)
def test_a_place_of_the_chat_request_is_named_in_the_responses_body(
    chat: str, responses: str
) -> None:
    """Every place a refusal raised over the chat request can name, by one mapping: the items
    as sent (``instructions`` first, two calls in a row one chat message)."""
    _, places = wire.translated(_body(**PLACED))
    assert places.rename(chat) == responses


@pytest.mark.parametrize(
    ("fields", "kept"),
    [
        ({"max_tokens": 9}, "max_tokens"),
        ({"response_format": {"type": "json_object"}}, "response_format"),
    ],
)
def test_a_chat_parameter_sent_by_its_own_name_keeps_it(fields: dict[str, Any], kept: str) -> None:
    """Passed on as sent (a client that converts its chat requests): its place is its own."""
    _, places = wire.translated(_body(**fields))
    assert places.rename(kept) == kept


def test_a_validators_place_in_the_chat_request_is_renamed_in_its_words() -> None:
    """A chat validator's ``ParamProblem`` at a renamed place is told at the Responses place."""
    chat = {"model": "m", "messages": [{"role": "user", "content": "Hi"}]}
    bad = {**chat, "response_format": {"type": "json_schema", "json_schema": {"schema": 1}}}

    def rename(place: str) -> str:
        return place.replace("response_format.json_schema", "text.format")

    with pytest.raises(InvalidRequest) as caught:
        parse(ChatCompletionRequest, orjson.dumps(bad), rename=rename)
    assert caught.value.param == "text.format.schema"
    assert caught.value.message == "text.format: schema must be a JSON object"
