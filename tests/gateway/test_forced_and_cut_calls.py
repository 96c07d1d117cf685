"""What a client is told of a tool call: ``tool_choice: "required"`` on a llama.cpp backend
makes the call (or is refused, when the server cannot force it), and a call cut at its token
limit is ``finish_reason: "length"`` (Ollama's API: ``done_reason``), its arguments as the
model wrote them. The real ``openai`` and ``ollama`` libraries against the llama.cpp server."""

from __future__ import annotations

import json
from contextlib import closing
from typing import Any

import openai
import pytest
from openai.types.responses import FunctionToolParam

from tests.fixtures.gateway import KEYS, Gateway, in_process
from tests.fixtures.llama import LlamaBackend
from tests.fixtures.loopback import recording_proxy
from tests.gateway.test_tools import FORCED, TIME_TOOL, TOOL

pytestmark = pytest.mark.llama

ASKED: dict[str, Any] = {
    "model": "tiny-small",
    "messages": [{"role": "user", "content": "Wetter in Bern?"}],
}


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "streamed"])
def test_required_with_one_tool_calls_it(gateway: Gateway, stream: bool) -> None:
    """llama-cpp-python ignores ``required`` (the model answers text): sent as the one tool
    named, the server forces the call."""
    with gateway.openai(KEYS["research"]) as client:
        if stream:
            with client.chat.completions.stream(
                **ASKED,
                tools=[TOOL],
                tool_choice="required",
                max_tokens=60,
            ) as events:
                completion = events.get_final_completion()
        else:
            completion = client.chat.completions.create(
                **ASKED,
                tools=[TOOL],
                tool_choice="required",
                max_tokens=60,
            )
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    (call,) = choice.message.tool_calls or []
    assert call.type == "function"
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments)["city"] in {"Bern", "Basel"}


def test_required_among_several_tools_is_refused_saying_why(gateway: Gateway) -> None:
    with gateway.openai(KEYS["research"]) as client, pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(
            **ASKED,
            tools=[TOOL, TIME_TOOL],
            tool_choice="required",
            max_tokens=60,
        )
    error = err.value.body
    assert isinstance(error, dict)
    assert error["param"] == "tool_choice"
    assert "cannot force a call among several tools" in error["message"]
    assert "name the one tool to call" in error["message"]


def test_required_on_the_responses_api_calls_the_one_tool(gateway: Gateway) -> None:
    # sent without "strict", as clients do (the SDK's type asks for it)
    function: FunctionToolParam = {"type": "function", **TOOL["function"]}  # type: ignore[typeddict-item]
    with gateway.openai(KEYS["research"]) as client:
        response = client.responses.create(
            model="tiny-small",
            input="Wetter in Bern?",
            tools=[function],
            tool_choice="required",
            max_output_tokens=60,
        )
    (call,) = [item for item in response.output if item.type == "function_call"]
    assert call.name == "get_weather"
    assert json.loads(call.arguments)["city"] in {"Bern", "Basel"}


def test_a_call_cut_at_max_tokens_is_length_with_its_arguments_as_written(
    gateway: Gateway,
) -> None:
    """llama-cpp-python says ``tool_calls`` for a call cut mid-way; OpenAI says ``length``. The
    arguments stay the broken-off JSON the model wrote, plain and streamed."""
    cut = {**ASKED, "tools": [TOOL], "tool_choice": FORCED, "max_tokens": 8, "seed": 3}
    with gateway.openai(KEYS["research"]) as client:
        choice = client.chat.completions.create(**cut).choices[0]
        chunks = list(client.chat.completions.create(**cut, stream=True))
    assert choice.finish_reason == "length"
    (call,) = choice.message.tool_calls or []
    assert call.type == "function"
    plain = call.function.arguments
    assert plain.startswith("{")
    with pytest.raises(json.JSONDecodeError):
        json.loads(plain)  # not completed by the gateway
    reasons = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert [r for r in reasons if r] == ["length"]
    assert reasons[-1] == "length"
    pieces = [p for c in chunks if c.choices for p in c.choices[0].delta.tool_calls or ()]
    streamed = "".join(p.function.arguments or "" for p in pieces if p.function)
    assert streamed == plain  # the same seed: the same cut call


def test_a_whole_call_keeps_tool_calls_plain_and_streamed(gateway: Gateway) -> None:
    whole = {**ASKED, "tools": [TOOL], "tool_choice": FORCED, "max_tokens": 60, "seed": 3}
    with gateway.openai(KEYS["research"]) as client:
        choice = client.chat.completions.create(**whole).choices[0]
        chunks = list(client.chat.completions.create(**whole, stream=True))
    assert choice.finish_reason == "tool_calls"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "tool_calls"


def test_a_cut_call_on_the_ollama_api_is_done_reason_length(
    gateway_raw: dict[str, Any], llama_server: LlamaBackend
) -> None:
    """Ollama's API has no ``tool_choice``: the proxy before the real server forces the call.
    Its arguments are not JSON, so they come as Ollama's ``_raw`` form, as the model wrote
    them; the answer says it was cut, plain and streamed."""
    messages = [{"role": "user", "content": "Wetter in Bern?"}]
    options = {"num_predict": 8, "seed": 3}
    with recording_proxy(llama_server.base_url, adding={"tool_choice": FORCED}) as upstream:
        gateway_raw["backends"][0]["base_url"] = upstream.url
        with in_process(gateway_raw) as gw, closing(gw.ollama(KEYS["research"])) as client:
            asked: dict[str, Any] = {"messages": messages, "tools": [TOOL], "options": options}
            plain = client.chat(model="tiny-small", **asked)
            parts = list(client.chat(model="tiny-small", stream=True, **asked))
    assert plain.done_reason == "length"
    (call,) = plain.message.tool_calls or []
    assert set(call.function.arguments) == {"_raw"}
    assert parts[-1].done_reason == "length"
