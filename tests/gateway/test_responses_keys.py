"""``/v1/responses`` is as strict as chat about keys inside a request's objects: a key OpenAI's
Responses API does not define, in an input item, a content part, a tool, ``text.format``,
``reasoning`` ..., is refused naming its place as the Responses API spells it
(``input[1].content[0].foo``), unless the operator lets it pass by that place
(``backends[].pass_params``: ``input[].prefix``); the keys OpenAI defines, those of an earlier
answer's items that the real ``openai`` library sends back among them, keep working. The
gateway runs in front of the real llama.cpp server, watched through a recording proxy."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import openai
import pytest
from openai.types.responses import FunctionToolParam, ResponseOutputMessage, ResponseOutputText

from tests.fixtures.gateway import KEYS, Gateway, in_process
from tests.fixtures.llama import LlamaBackend
from tests.fixtures.loopback import Recorded, recording_proxy

pytestmark = pytest.mark.llama

#: as clients send it, without "strict" (the SDK's type asks for it)
WEATHER: FunctionToolParam = {  # type: ignore[typeddict-item]
    "type": "function",
    "name": "get_weather",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
}
CALL: dict[str, Any] = {
    "type": "function_call",
    "call_id": "c1",
    "name": "get_weather",
    "arguments": '{"city": "Bern"}',
}
OUTPUT: dict[str, Any] = {"type": "function_call_output", "call_id": "c1", "output": "sonnig"}
ASKED: dict[str, Any] = {"role": "user", "content": "Wetter in Bern?"}


def _text(**more: Any) -> dict[str, Any]:
    return {"type": "input_text", "text": "Hallo", **more}


#: a Responses body with a key OpenAI's API does not define inside, and that key's place
PLACES: dict[str, tuple[dict[str, Any], str]] = {
    "message item": (
        {"input": [ASKED, {"role": "assistant", "content": "Gut.", "metadata": {}}]},
        "input[1].metadata",
    ),
    "input_text part": (
        {"input": [{"role": "user", "content": [_text(foo=1)]}]},
        "input[0].content[0].foo",
    ),
    "input_image part": (  # vLLM's key of its cache of images
        {
            "input": [
                {
                    "role": "user",
                    "content": [
                        {"type": "input_image", "image_url": "data:,", "uuid": "someone-elses"}
                    ],
                }
            ]
        },
        "input[0].content[0].uuid",
    ),
    "output_text part": (
        {
            "input": [
                ASKED,
                {"role": "assistant", "content": [{"type": "output_text", "text": "Gut.", "x": 1}]},
            ]
        },
        "input[1].content[0].x",
    ),
    "function_call item": (
        {"input": [ASKED, {**CALL, "x": 1}, OUTPUT], "tools": [WEATHER]},
        "input[1].x",
    ),
    "function_call_output item": (
        {"input": [ASKED, CALL, {**OUTPUT, "x": 1}], "tools": [WEATHER]},
        "input[2].x",
    ),
    "function_call_output part": (
        {"input": [ASKED, CALL, {**OUTPUT, "output": [_text(x=1)]}], "tools": [WEATHER]},
        "input[2].output[0].x",
    ),
    "tool": (
        {"input": "Hallo", "tools": [{**WEATHER, "cache_control": {}}]},
        "tools[0].cache_control",
    ),
    "tool_choice": (
        {
            "input": "Hallo",
            "tools": [WEATHER],
            "tool_choice": {"type": "function", "name": "get_weather", "x": 1},
        },
        "tool_choice.x",
    ),
    "text.format": (
        {"input": "Hallo", "text": {"format": {"type": "json_object", "schema": {}}}},
        "text.format.schema",
    ),
    "text": ({"input": "Hallo", "text": {"format": {"type": "text"}, "x": 1}}, "text.x"),
    "reasoning": (
        {"input": "Hallo", "reasoning": {"effort": "low", "budget": 9}},
        "reasoning.budget",
    ),
    "stream_options": (
        {"input": "Hallo", "stream": True, "stream_options": {"include_usage": True}},
        "stream_options.include_usage",
    ),
}


def _refused(response: Any, place: str) -> None:
    error = response.json()["error"]
    assert response.status_code == 400, error
    assert (error["param"], error["code"]) == (place, "unknown_parameter"), error
    assert error["message"].startswith(f"Unrecognized request argument supplied: {place} ("), error


@pytest.mark.parametrize("case", list(PLACES))
def test_an_unknown_key_inside_a_responses_request_is_refused_naming_its_place(
    offline_gateway: Gateway, case: str
) -> None:
    """It used to be dropped unread: the client believed the model got what it sent. Refused in
    OpenAI's words, before any backend is asked (this gateway's backend is a closed port)."""
    body, place = PLACES[case]
    response = offline_gateway.post(
        "/v1/responses",
        json={"model": "tiny-small", "max_output_tokens": 2, **body},
        headers={"Authorization": f"Bearer {KEYS['research']}"},
    )
    _refused(response, place)


@contextmanager
def watched(raw: dict[str, Any], server: str, *passable: str) -> Iterator[tuple[Gateway, Recorded]]:
    """The gateway with its llama.cpp backend behind a recording proxy, allowing ``passable``."""
    raw = copy.deepcopy(raw)
    with recording_proxy(server) as proxy:
        raw["backends"][0].update(base_url=proxy.url, pass_params=list(passable))
        with in_process(raw) as gw:
            yield gw, proxy


def _chats(proxy: Recorded) -> list[dict[str, Any]]:
    return [b for b, p in zip(proxy.bodies, proxy.paths, strict=True) if p.endswith("/completions")]


def test_the_openai_librarys_answer_sent_back_as_input_is_taken_and_a_smuggled_key_is_not(
    gateway_raw: dict[str, Any], llama_server: LlamaBackend
) -> None:
    """``input=[..., *response.output, ...]``, as OpenAI's guides continue a conversation: the
    library sends the items back as it read them (a message's ``id``, ``status``, its text's
    ``annotations`` and ``logprobs``; a call's ``id`` and ``status``). Taken, and the model
    server gets only what it reads; the same items with a key OpenAI's API refuses
    (``metadata`` on an item: OpenAI's own example) are refused naming it."""
    with (
        watched(gateway_raw, llama_server.base_url) as (gw, proxy),
        gw.openai(KEYS["research"], max_retries=0) as client,
    ):
        said = client.responses.create(
            model="tiny-small",
            input="Hallo",
            include=["message.output_text.logprobs"],
            max_output_tokens=3,
        )
        called = client.responses.create(
            model="tiny-small",
            input="Wetter in Bern?",
            tools=[WEATHER],
            tool_choice={"type": "function", "name": "get_weather"},
            max_output_tokens=30,
        )
        (call,) = [item for item in called.output if item.type == "function_call"]
        call = call.model_copy(update={"arguments": '{"city": "Bern"}'})  # random weights
        message = said.output[0]
        assert isinstance(message, ResponseOutputMessage)
        assert isinstance(message.content[0], ResponseOutputText)
        assert message.content[0].logprobs
        items: list[Any] = [
            {"role": "user", "content": "Hallo"},
            *said.output,
            {"role": "user", "content": "Wetter in Bern?"},
            call,
            {"type": "function_call_output", "call_id": call.call_id, "output": "sonnig"},
        ]
        again = client.responses.create(
            model="tiny-small",
            input=items,
            tools=[WEATHER],
            max_output_tokens=2,
        )
        assert again.status in ("completed", "incomplete")
        smuggled = {**said.output[0].model_dump(exclude_unset=True), "metadata": {"k": "v"}}
        with pytest.raises(openai.BadRequestError) as caught:
            client.responses.create(
                model="tiny-small",
                input=[{"role": "user", "content": "Hallo"}, smuggled],  # type: ignore[list-item]
                max_output_tokens=2,
            )
    error = caught.value.body
    assert isinstance(error, dict)
    assert (error["param"], error["code"]) == ("input[1].metadata", "unknown_parameter")
    sent = _chats(proxy)
    assert len(sent) == 3
    assert sent[2]["messages"][1] == {"role": "assistant", "content": said.output_text}
    assert set(sent[2]["messages"][3]) <= {"role", "content", "tool_calls"}
    assert sent[2]["messages"][3]["tool_calls"] == [
        {
            "id": call.call_id,
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city": "Bern"}'},
        }
    ]


def test_what_the_operator_allows_inside_responses_objects_reaches_the_backend(
    gateway_raw: dict[str, Any], llama_server: LlamaBackend
) -> None:
    """``pass_params`` by the Responses API's places: a message item's key goes on its chat
    message, a user part's on its chat part, a call's on its tool call, a tool's on the chat
    tool's function; a ``null`` one asks for nothing. A place that becomes nothing the backend
    receives (``text.format``) is refused even when listed."""
    listed = ("input[].prefix", "input[].content[].uuid", "input[].origin", "tools[].x")
    body: dict[str, Any] = {
        "model": "tiny-small",
        "input": [
            {"role": "user", "content": [_text(uuid="u1")], "prefix": None},
            {"role": "assistant", "content": "Guten", "prefix": True},
            {**CALL, "origin": "cache"},
            OUTPUT,
        ],
        "tools": [{**WEATHER, "x": {"y": 1}}],
        "max_output_tokens": 2,
    }
    headers = {"Authorization": f"Bearer {KEYS['research']}"}
    with watched(gateway_raw, llama_server.base_url, *listed, "text.format.x") as (gw, proxy):
        answered = gw.post("/v1/responses", json=body, headers=headers)
        refused = gw.post(
            "/v1/responses",
            json={**body, "text": {"format": {"type": "json_object", "x": 1}}},
            headers=headers,
        )
    assert answered.status_code == 200, answered.text
    _refused(refused, "text.format.x")
    (sent,) = _chats(proxy)
    user, assistant, _ = sent["messages"]  # the text and the call of one answer: one message
    assert user == {"role": "user", "content": [{"type": "text", "text": "Hallo", "uuid": "u1"}]}
    assert assistant["prefix"] is True
    assert assistant["tool_calls"][0]["origin"] == "cache"
    assert sent["tools"][0]["function"]["x"] == {"y": 1}


def test_a_routed_request_carrying_a_listed_key_goes_only_to_a_backend_that_lists_it(
    gateway_raw: dict[str, Any], llama_server: LlamaBackend
) -> None:
    """Another backend lists ``input[].prefix``, so a routed request may carry it; but no model
    the route could choose is on that backend: the 400 names the key and the model it would
    have gone to, as for a top-level parameter."""
    raw = copy.deepcopy(gateway_raw)
    raw["backends"].append(
        {
            "name": "other",
            "kind": "openai",
            "base_url": llama_server.base_url,
            "pass_params": ["input[].prefix"],
        }
    )
    with in_process(raw) as gw:
        response = gw.post(
            "/v1/responses",
            json={
                "model": "auto",
                "input": [ASKED, {"role": "assistant", "content": "Gut", "prefix": True}],
                "max_output_tokens": 2,
            },
            headers={"Authorization": f"Bearer {KEYS['research']}"},
        )
    error = response.json()["error"]
    assert response.status_code == 400, error
    assert (error["param"], error["code"]) == ("input[].prefix", "unknown_parameter"), error
    assert error["message"].startswith(
        "Unrecognized request argument supplied: input[].prefix (not passed on to the backend"
        " of model 'tiny-"
    ), error
