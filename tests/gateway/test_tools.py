"""Tools are passed through to a backend that supports them, and the answer's calls come back."""

from __future__ import annotations

import json
from contextlib import closing
from typing import Any

import openai
import pytest
from openai.types.chat import ChatCompletionFunctionToolParam, ChatCompletionNamedToolChoiceParam

from tests.fixtures.gateway import KEYS, Gateway, add_ollama_backend, in_process
from tests.fixtures.llama import LlamaBackend
from tests.fixtures.loopback import OLLAMA_CALLS, ollama_tools_server, recording_proxy

pytestmark = pytest.mark.llama

TOOL: ChatCompletionFunctionToolParam = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather of a city",
        "parameters": {
            "type": "object",
            # an enum keeps the forced call short: the grammar ends it in about 20 tokens
            "properties": {"city": {"type": "string", "enum": ["Bern", "Basel"]}},
            "required": ["city"],
        },
    },
}


TIME_TOOL: ChatCompletionFunctionToolParam = {
    "type": "function",
    "function": {
        "name": "get_time",
        "description": "Time in a time zone",
        "parameters": {"type": "object", "properties": {"zone": {"type": "string"}}},
    },
}
FORCED: ChatCompletionNamedToolChoiceParam = {
    "type": "function",
    "function": {"name": "get_weather"},
}


def test_forced_tool_call_comes_back_as_tool_calls(gateway: Gateway) -> None:
    with gateway.openai(KEYS["research"]) as client:
        completion = client.chat.completions.create(
            model="tiny-small",
            messages=[{"role": "user", "content": "Wetter in Bern?"}],
            tools=[TOOL],
            tool_choice=FORCED,
            max_tokens=40,
        )
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.tool_calls
    call = choice.message.tool_calls[0]
    assert call.type == "function"
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments)["city"] in {"Bern", "Basel"}


def test_functions_come_back_in_the_older_form_they_were_asked_in(gateway: Gateway) -> None:
    """A client that sends the older ``functions`` reads the older answer, as OpenAI gave it:
    ``message.function_call`` and ``finish_reason`` "function_call", not ``tool_calls``
    (llama-cpp-python answers a forced function as a tool call), plain and streamed."""
    asked = {
        "model": "tiny-small",
        "messages": [{"role": "user", "content": "Wetter in Bern?"}],
        "functions": [TOOL["function"]],
        "function_call": {"name": "get_weather"},
        "max_tokens": 40,
    }
    with gateway.openai(KEYS["research"]) as client:
        choice = client.chat.completions.create(**asked).choices[0]  # type: ignore[call-overload]
        chunks = list(client.chat.completions.create(**asked, stream=True))  # type: ignore[call-overload]
    assert choice.finish_reason == "function_call"
    assert choice.message.tool_calls is None
    assert choice.message.function_call.name == "get_weather"
    assert choice.message.function_call.arguments.startswith("{")
    deltas = [c.choices[0].delta for c in chunks if c.choices]
    assert all(d.tool_calls is None for d in deltas)
    calls = [d.function_call for d in deltas if d.function_call is not None]
    assert calls[0].name == "get_weather"
    assert "".join(c.arguments or "" for c in calls).startswith("{")
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "function_call"


@pytest.mark.parametrize(
    "forced",
    [
        {"tools": [TOOL], "tool_choice": {"type": "function", "function": {"name": "get_weather"}}},
        {"functions": [TOOL["function"]], "function_call": {"name": "get_weather"}},
    ],
    ids=["tools", "functions"],
)
def test_a_streamed_call_names_its_function_once(
    gateway: Gateway, forced: dict[str, object]
) -> None:
    """OpenAI streams a call's name (a tool call's id and type too) in its first chunk only,
    and the openai library's stream helper joins every chunk's pieces: llama-cpp-python repeats
    them in every chunk, which the helper read as ``get_weatherget_weather...``."""
    with (
        gateway.openai(KEYS["research"]) as client,
        client.chat.completions.stream(
            model="tiny-small",
            messages=[{"role": "user", "content": "Wetter in Bern?"}],
            max_tokens=40,  # the helper refuses a call cut at its limit (finish_reason length)
            **forced,  # type: ignore[arg-type]
        ) as stream,
    ):
        deltas = [e.chunk.choices[0].delta for e in stream if e.type == "chunk" and e.chunk.choices]
        message = stream.get_final_completion().choices[0].message
    if "tools" in forced:
        assert message.tool_calls
        call = message.tool_calls[0]
        assert call.function.name == "get_weather"
        pieces = [piece for d in deltas for piece in d.tool_calls or ()]
        assert [p.function.name for p in pieces if p.function and p.function.name] == [
            "get_weather"
        ]
        ids = [p.id for p in pieces if p.id]
        assert len(ids) == 1
        assert call.id == ids[0]  # the helper joins ids as it joins names
        assert [p.type for p in pieces if p.type] == ["function"]
    else:
        assert message.function_call is not None
        assert message.function_call.name == "get_weather"
        calls = [d.function_call for d in deltas if d.function_call is not None]
        assert [c.name for c in calls if c.name] == ["get_weather"]
    assert len(deltas) > 3  # the call came in several chunks, not one


def test_a_call_streamed_in_pieces_reaches_an_ollama_client_whole(
    gateway_raw: dict[str, Any], llama_server: LlamaBackend
) -> None:
    """llama.cpp streams a call in pieces (its name repeated in each), Ollama sends each call
    whole with its arguments an object: ``/api/chat`` answers one call, in one line before the
    final one, its arguments the pieces joined (an object when they are JSON). Ollama's API has
    no ``tool_choice``: the proxy before the real server forces the call."""
    messages = [{"role": "user", "content": "Wetter in Bern?"}]
    with recording_proxy(llama_server.base_url, adding={"tool_choice": FORCED}) as upstream:
        gateway_raw["backends"][0]["base_url"] = upstream.url
        with in_process(gateway_raw) as gw, closing(gw.ollama(KEYS["research"])) as client:
            parts = list(
                client.chat(
                    model="tiny-small",
                    messages=messages,
                    tools=[TOOL],
                    stream=True,
                    options={"num_predict": 40},
                )
            )
    pieces = [piece for answer in upstream.answers for piece in _streamed_calls(answer)]
    assert len(pieces) > 2  # the backend streamed the call in several pieces
    assert [p.done for p in parts] == [False] * (len(parts) - 1) + [True]
    called = [p for p in parts if p.message.tool_calls]
    assert called == [parts[-2]]
    (call,) = parts[-2].message.tool_calls or ()
    assert call.function.name == "get_weather"
    text = "".join(piece["function"].get("arguments") or "" for piece in pieces)
    try:
        expected = json.loads(text)
    except json.JSONDecodeError:  # random weights may run out of tokens inside the arguments
        expected = {"_raw": text}
    assert dict(call.function.arguments) == expected
    assert parts[-1].done_reason in {"stop", "length"}


def _streamed_calls(answer: bytes) -> list[dict[str, Any]]:
    """The tool-call pieces of an SSE answer, in order (none in another answer)."""
    pieces: list[dict[str, Any]] = []
    for line in answer.decode().splitlines():
        if line.startswith("data: {"):
            for choice in json.loads(line[len("data: ") :]).get("choices") or ():
                pieces += (choice.get("delta") or {}).get("tool_calls") or ()
    return pieces


def test_calls_an_ollama_backend_streams_in_lines_of_their_own_stay_apart(
    gateway_raw: dict[str, Any],
) -> None:
    """Ollama streams each call whole, one line each: they are numbered across the stream
    (were both index 0, ``call_0``), so that the ``openai`` library's stream helper, which
    joins pieces by index, reads two calls, as the ``ollama`` library does."""
    asked: dict[str, Any] = {
        "model": "ollama-tools",
        "messages": [{"role": "user", "content": "Wetter und Uhrzeit in Bern?"}],
        "tools": [TOOL, TIME_TOOL],
    }
    with ollama_tools_server() as upstream:
        add_ollama_backend(gateway_raw, upstream.url, "ollama-tools", like=0)
        with (
            in_process(gateway_raw) as gw,
            gw.openai(KEYS["research"]) as client,
            closing(gw.ollama(KEYS["research"])) as ollama_client,
        ):
            with client.chat.completions.stream(**asked) as stream:
                choice = stream.get_final_completion().choices[0]
            parts = list(ollama_client.chat(**asked, stream=True))
    assert [body["tools"] for body in upstream.bodies] == [[TOOL, TIME_TOOL]] * 2
    calls = choice.message.tool_calls or []
    assert [(c.function.name, json.loads(c.function.arguments)) for c in calls] == OLLAMA_CALLS
    assert len({c.id for c in calls}) == 2
    assert choice.finish_reason == "tool_calls"
    called = [
        (c.function.name, dict(c.function.arguments))
        for p in parts
        for c in p.message.tool_calls or ()
    ]
    assert called == OLLAMA_CALLS


@pytest.mark.parametrize(
    "extra",
    [{"tools": [TOOL]}, {"functions": [TOOL["function"]], "function_call": "auto"}],
    ids=["tools", "functions"],
)
def test_tools_refused_for_a_model_without_the_capability(
    gateway: Gateway, extra: dict[str, object]
) -> None:
    """The older ``functions`` need the ``tools`` capability as ``tools`` do."""
    with (
        gateway.openai(KEYS["research"]) as client,
        pytest.raises(openai.BadRequestError) as info,
    ):
        client.chat.completions.create(
            model="tiny-medium",
            messages=[{"role": "user", "content": "Wetter?"}],
            extra_body=extra,
        )
    assert info.value.body["message"] == "model 'tiny-medium' does not support tools"  # type: ignore[index]


@pytest.mark.parametrize(
    ("extra", "param", "message"),
    [
        (
            {"tools": [TOOL], "function_call": {"name": ""}},
            "function_call",
            "function_call names '', not one of functions",
        ),
        (
            {"functions": [TOOL["function"]], "function_call": {"name": "get_time"}},
            "function_call",
            "function_call names 'get_time', not one of functions",
        ),
        (
            {"function_call": {"name": "get_weather"}},
            "function_call",
            "function_call names 'get_weather', not one of functions",
        ),
        (
            {"tools": [TOOL], "tool_choice": {"type": "function", "function": {"name": "b"}}},
            "tool_choice",
            "tool_choice names 'b', not one of tools",
        ),
        (
            {"response_format": {"type": "json_schema"}},
            "response_format.json_schema",
            "response_format: type 'json_schema' needs json_schema",
        ),
    ],
)
def test_a_choice_naming_no_function_is_refused_naming_it(
    gateway: Gateway, extra: dict[str, object], param: str, message: str
) -> None:
    """The older ``function_call`` must name one of ``functions`` (or ``tools``), as
    ``tool_choice`` must name a tool: llama-cpp-python answered a 500 for a name it had not.
    The refusal says so in plain words and names the parameter."""
    assert _refusal(gateway, extra) == _invalid(message, param)


@pytest.mark.parametrize(
    ("extra", "param", "message"),
    [
        (
            {"functions": [TOOL["function"]], "function_call": {"name": "get_weather", "x": 1}},
            "function_call",
            "function_call: takes only name, not 'x'",
        ),
        (
            {
                "tools": [TOOL],
                "tool_choice": {"type": "function", "function": {"name": "get_weather", "x": 1}},
            },
            "tool_choice.function",
            "tool_choice: function takes only name, not 'x'",
        ),
        (
            {"functions": [TOOL["function"], TOOL["function"]]},
            "functions",
            "functions name 'get_weather' twice; give each function its own name",
        ),
        (
            {"tools": [TOOL, TOOL]},
            "tools",
            "tools name 'get_weather' twice; give each tool its own name",
        ),
        (
            {"functions": [], "function_call": "auto"},
            "functions",
            "functions is empty; leave it out",
        ),
        (
            {"functions": [TOOL["function"]], "tools": [TOOL]},
            "functions",
            "send tools or the older functions, not both",
        ),
        ({"tools": []}, "tools", "tools is empty; leave it out"),
        ({"function_call": "auto"}, "function_call", "function_call 'auto' needs functions"),
        ({"function_call": "none"}, "function_call", "function_call 'none' needs functions"),
        (
            {
                "tools": [TOOL],
                "tool_choice": {"type": "function", "function": {"name": "get_weather"}, "x": 1},
            },
            "tool_choice",
            "tool_choice: takes only type and function, not 'x'",
        ),
    ],
    ids=[
        "function-call-key",
        "tool-choice-key",
        "functions-twice",
        "tools-twice",
        "empty",
        "both",
        "tools-empty",
        "auto-without-functions",
        "none-without-functions",
        "tool-choice-top-key",
    ],
)
def test_functions_a_model_would_have_to_guess_at_are_refused(
    gateway: Gateway, extra: dict[str, object], param: str, message: str
) -> None:
    """Which definition a call means must be plain: a name given twice, ``functions`` beside
    ``tools``, an empty ``functions`` or ``tools`` (OpenAI refuses ``[] is too short``),
    ``function_call`` with no functions to choose from (OpenAI: "only allowed when 'functions'
    are specified") or a key ``function_call`` or ``tool_choice`` does not have were passed on
    silently; each is a 400 naming the field."""
    assert _refusal(gateway, extra) == _invalid(message, param)


NO_TOOLS = (
    "tool_choice is only allowed when tools are specified; send tools, or leave tool_choice out"
)


@pytest.mark.parametrize("choice", ["none", "auto", "required", FORCED])
def test_tool_choice_without_tools_is_refused_as_openai_refuses_it(
    gateway: Gateway, choice: Any
) -> None:
    """``tool_choice`` ``auto`` or ``none`` without ``tools`` was taken (and ``required`` or a
    named tool refused in other words): OpenAI refuses every one, ``'tool_choice' is only
    allowed when 'tools' are specified``, and no common client sends it so (docs/api.md), so
    the gateway refuses them alike, naming ``tool_choice``."""
    with (
        gateway.openai(KEYS["research"], max_retries=0) as client,
        pytest.raises(openai.BadRequestError) as info,
    ):
        client.chat.completions.create(
            model="tiny-small",
            messages=[{"role": "user", "content": "Wetter?"}],
            max_tokens=4,
            tool_choice=choice,
        )
    assert info.value.body == _invalid(NO_TOOLS, "tool_choice")


def test_a_null_tool_choice_without_tools_is_no_choice(gateway: Gateway) -> None:
    """``tool_choice: null`` is the parameter left out (clients send it so when they have no
    tools): answered."""
    with gateway.openai(KEYS["research"], max_retries=0) as client:
        answer = client.chat.completions.create(
            model="tiny-small",
            messages=[{"role": "user", "content": "Wetter?"}],
            max_tokens=4,
            extra_body={"tool_choice": None},
        )
    assert answer.choices[0].message.tool_calls is None


def _refusal(gateway: Gateway, extra: dict[str, object]) -> object:
    """The error body of a chat request with ``extra`` in its body, refused with a 400."""
    with (
        gateway.openai(KEYS["research"]) as client,
        pytest.raises(openai.BadRequestError) as info,
    ):
        client.chat.completions.create(
            model="tiny-small",
            messages=[{"role": "user", "content": "Wetter?"}],
            max_tokens=4,
            extra_body=extra,
        )
    assert info.value.status_code == 400
    return info.value.body


def _invalid(message: str, param: str) -> dict[str, str]:
    return {
        "message": message,
        "type": "invalid_request_error",
        "param": param,
        "code": "invalid_request",
    }
