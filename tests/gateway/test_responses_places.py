"""A refusal of a ``/v1/responses`` request names the part it refuses by its place in the
Responses body, whichever check refused it after the body became a chat request (the chat
request's own validation, the llama.cpp dialect, an image URL, the server's limits); chat's
refusals keep chat's places. The real ``openai`` library against the gateway in front of the
real llama.cpp server (``dialect: llamacpp``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import openai
import pytest
from openai.types.responses import FunctionToolParam

from tests.fixtures.gateway import KEYS, Gateway, in_process

pytestmark = pytest.mark.llama

OVER_LIMIT = 40_000  # server.limits.max_tokens is 32,768 by default
LONG_NAME = "n" * 65  # a JSON schema's name is 64 characters at most
#: a fractional number at the top level of a tool's parameters: the llama.cpp dialect cannot
#: carry it (docs/backends-llamacpp.md)
HALF: dict[str, object] = {
    "type": "object",
    "properties": {"celsius": {"type": "number"}},
    "default": 0.5,
}
#: tools as clients send them, without "strict" (the SDK's type asks for it)
WEATHER: FunctionToolParam = {  # type: ignore[typeddict-item]
    "type": "function",
    "name": "get_weather",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
}
HEATING: FunctionToolParam = {  # type: ignore[typeddict-item]
    "type": "function",
    "name": "set_heating",
    "parameters": HALF,
}
RAIN: FunctionToolParam = {**WEATHER, "name": "get_rain"}
INTERNAL = "http://127.0.0.1:9/internal.png"


@pytest.fixture
def client(gateway: Gateway) -> Iterator[openai.OpenAI]:
    with gateway.openai(KEYS["research"], max_retries=0) as made:
        yield made


def _refusal(caught: pytest.ExceptionInfo[openai.BadRequestError]) -> tuple[str, str]:
    """The refusal's ``param`` and the gateway's message."""
    error = caught.value.body
    assert isinstance(error, dict)
    assert caught.value.status_code == 400
    return error["param"], error["message"]


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "streamed"])
def test_a_tool_parameter_the_backend_cannot_take_is_named_in_the_flat_tool(
    client: openai.OpenAI, stream: bool
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(
            model="tiny-small",
            input="Heize auf 21.5 Grad",
            tools=[WEATHER, HEATING],
            max_output_tokens=5,
            stream=stream,
        )
    param, message = _refusal(caught)
    assert param == "tools.1.parameters.default"  # chat's tools[1].function.parameters.default
    assert message.startswith("tools.1.parameters.default is 0.5: this backend (llama.cpp)")


def test_a_tool_choice_the_backend_cannot_force_is_told_without_chat_shapes(
    client: openai.OpenAI,
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(
            model="tiny-small",
            input="Wie ist das Wetter in Bern?",
            tools=[WEATHER, RAIN],
            tool_choice="required",
            max_output_tokens=5,
        )
    param, message = _refusal(caught)
    assert param == "tool_choice"
    assert message.startswith("tool_choice 'required' with 2 tools: this backend (llama.cpp)")
    assert "function" not in message  # chat's named choice is {"type": "function", "function"...}


def test_a_text_format_the_chat_check_refuses_is_named_in_text_format(
    client: openai.OpenAI,
) -> None:
    schema = {"type": "object", "properties": {"ok": {"type": "boolean"}}}
    text: Any = {"format": {"type": "json_schema", "name": LONG_NAME, "schema": schema}}
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model="tiny-small", input="Hi", text=text, max_output_tokens=5)
    assert _refusal(caught) == (
        "text.format.name",  # chat's response_format.json_schema.name
        "text.format.name: String should have at most 64 characters",
    )


@pytest.mark.parametrize("key", ["5", "\u00b2", "\u2460"], ids=["ascii", "superscript", "circled"])
def test_a_key_that_is_a_digit_only_to_unicode_is_named_not_a_500(
    client: openai.OpenAI, key: str
) -> None:
    """A refused ``logit_bias`` key is named in its place; a key such as ``"²"`` (a digit to
    ``str.isdigit``, no number to ``int``) made the place mapping fail with a 500."""
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(
            model="tiny-small",
            input="Hi",
            max_output_tokens=5,
            extra_body={"logit_bias": {key: 500}},
        )
    param, _ = _refusal(caught)
    assert param == f"logit_bias.{key}"


@pytest.mark.parametrize(
    ("sent", "named"),
    [
        ({"max_output_tokens": OVER_LIMIT}, "max_output_tokens"),
        # chat's name, sent by a client that converts its chat requests: its own field
        ({"extra_body": {"max_tokens": OVER_LIMIT}}, "max_tokens"),
    ],
    ids=["max_output_tokens", "max_tokens"],
)
def test_the_cap_on_the_answer_is_named_as_the_body_holds_it(
    client: openai.OpenAI, sent: dict[str, Any], named: str
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model="tiny-small", input="Hi", **sent)
    assert _refusal(caught) == (named, f"{named} {OVER_LIMIT} is over the limit of 32768")


@pytest.mark.parametrize("also", [OVER_LIMIT, -5, "8"], ids=["over", "negative", "text"])
def test_chats_cap_beside_max_output_tokens_is_refused(client: openai.OpenAI, also: Any) -> None:
    """Two caps on one answer: chat's ``max_tokens`` was replaced by ``max_output_tokens`` unread,
    so a value chat refuses passed (the fuzzer's find, negative ``max_tokens``)."""
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(
            model="tiny-small", input="Hi", max_output_tokens=4, extra_body={"max_tokens": also}
        )
    param, message = _refusal(caught)
    assert param == "max_tokens"
    assert "give max_output_tokens only" in message


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "streamed"])
def test_a_part_of_a_message_is_named_by_its_input_item(
    gateway_raw: dict[str, Any], stream: bool
) -> None:
    """The items are counted as sent: the two calls become one chat message, so the image,
    the fifth chat message's part, is ``input.5``'s."""
    gateway_raw["models"][0]["capabilities"].append("vision")
    call: Any = {"type": "function_call", "name": "get_weather", "arguments": '{"city": "Bern"}'}
    image = [
        {"type": "input_text", "text": "Und was ist das?"},
        {"type": "input_image", "image_url": INTERNAL},
    ]
    items: Any = [
        {"role": "user", "content": "Wie ist das Wetter in Bern und Basel?"},
        {**call, "call_id": "c1"},
        {**call, "call_id": "c2"},
        {"type": "function_call_output", "call_id": "c1", "output": "sonnig"},
        {"type": "function_call_output", "call_id": "c2", "output": "Regen"},
        {"role": "user", "content": image},
    ]
    with (
        in_process(gateway_raw) as gw,
        gw.openai(KEYS["research"], max_retries=0) as client,
        pytest.raises(openai.BadRequestError) as caught,
    ):
        client.responses.create(
            model="tiny-small", input=items, tools=[WEATHER], max_output_tokens=5, stream=stream
        )
    param, message = _refusal(caught)
    assert param == "input.5.content.1.image_url"  # chat's messages.4.content.1.image_url.url
    assert message.startswith("input.5.content.1.image_url: an image URL is not passed on here")


@pytest.mark.parametrize(
    ("asked", "named"),
    [
        (
            {"tools": [{"type": "function", "function": {"name": "f", "parameters": HALF}}]},
            "tools[0].function.parameters.default",
        ),
        (
            {"response_format": {"type": "json_schema", "json_schema": {"name": LONG_NAME}}},
            "response_format.json_schema.name",
        ),
        ({"max_tokens": OVER_LIMIT}, "max_tokens"),
    ],
    ids=["tool-parameter", "response-format", "max-tokens"],
)
def test_chat_names_its_own_places(
    client: openai.OpenAI, asked: dict[str, Any], named: str
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(
            model="tiny-small", messages=[{"role": "user", "content": "Hi"}], **asked
        )
    param, message = _refusal(caught)
    assert param == named
    assert message.startswith(named)
