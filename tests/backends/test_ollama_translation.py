"""Translation between the OpenAI shape and Ollama's wire format, both directions."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from stellwerk.backends import logprobs, ollama
from stellwerk.backends.types import ChatRequest, ChatResult, Usage
from stellwerk.gateway import ollama_wire


def test_openai_request_becomes_ollama_chat() -> None:
    request = ChatRequest(
        messages=[
            {"role": "system", "content": "Sei knapp."},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Was zeigt das Bild?"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0"}},
                ],
            },
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "c1",
                        "type": "function",
                        "function": {"name": "lookup", "arguments": '{"city": "Bern"}'},
                    }
                ],
            },
            {"role": "tool", "content": "12 Grad", "name": "lookup"},
        ],
        params={
            "max_tokens": 50,
            "temperature": 0.3,
            "stop": ["\n\n"],
            "response_format": {"type": "json_object"},
            "tools": [{"type": "function", "function": {"name": "lookup"}}],
        },
    )
    wire = ollama.to_wire("mistral:7b", request, stream=True)
    assert wire["model"] == "mistral:7b" and wire["stream"] is True
    assert wire["options"] == {"num_predict": 50, "temperature": 0.3, "stop": ["\n\n"]}
    assert wire["format"] == "json"
    assert wire["messages"][1] == {
        "role": "user",
        "content": "Was zeigt das Bild?",
        "images": ["iVBORw0"],
    }
    assert wire["messages"][2]["tool_calls"] == [
        {"function": {"name": "lookup", "arguments": {"city": "Bern"}}}
    ]
    assert wire["messages"][3] == {"role": "tool", "content": "12 Grad", "tool_name": "lookup"}
    assert wire["tools"][0]["function"]["name"] == "lookup"


def test_json_schema_becomes_ollama_format_schema() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}}
    request = ChatRequest(
        messages=[{"role": "user", "content": "x"}],
        params={"response_format": {"type": "json_schema", "json_schema": {"schema": schema}}},
    )
    assert ollama.to_wire("m", request, stream=False)["format"] == schema


def test_ollama_answer_with_tool_calls_becomes_openai_shape() -> None:
    body = {
        "message": {
            "role": "assistant",
            "content": "",
            "tool_calls": [{"function": {"name": "lookup", "arguments": {"city": "Zug"}}}],
        },
        "done": True,
        "done_reason": "stop",
        "prompt_eval_count": 21,
        "eval_count": 7,
    }
    result = ollama.result_from_wire("ollama", body)
    assert result.finish_reason == "tool_calls"
    assert result.usage.prompt_tokens == 21 and result.usage.completion_tokens == 7
    assert result.tool_calls is not None
    call = result.tool_calls[0]["function"]
    assert call["name"] == "lookup" and orjson.loads(call["arguments"]) == {"city": "Zug"}


def test_inbound_ollama_request_becomes_openai_shape() -> None:
    body = ollama_wire.OllamaChatRequest.model_validate(
        {
            "model": "auto",
            "messages": [{"role": "user", "content": "Bild?", "images": ["AAAA"]}],
            "options": {"num_predict": -1, "temperature": 0.1, "top_k": 20},
            "format": {"type": "object"},
        }
    )
    request = ollama_wire.chat_request(body)
    assert request.params == {
        "temperature": 0.1,
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "response", "schema": {"type": "object"}},
        },
    }  # num_predict -1 means "no limit" in Ollama: not passed on as max_tokens
    content = request.messages[0]["content"]
    assert content[1] == {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}


@pytest.mark.parametrize(
    "fields",
    [
        {"prompt": "Hallo"},
        {"prompt": "Hallo", "system": ""},
        {"prompt": "Bild?", "system": "Sei knapp.", "images": ["AAAA", "BBBB"], "format": "json"},
        {
            "prompt": "Zahl?",
            "options": {"num_predict": 8, "temperature": 0.3, "stop": ["\n"], "top_k": 5},
            "format": {"type": "object"},
            "keep_alive": "5m",
        },
    ],
)
def test_a_generate_request_reaches_the_backend_as_the_same_chat(fields: dict[str, Any]) -> None:
    generate = ollama_wire.OllamaGenerateRequest.model_validate({"model": "auto", **fields})
    messages = [{"role": "system", "content": fields["system"]}] if fields.get("system") else []
    user = {"role": "user", "content": fields["prompt"], "images": fields.get("images")}
    as_chat = {k: v for k, v in fields.items() if k in ("options", "format", "keep_alive")}
    chat = ollama_wire.OllamaChatRequest.model_validate(
        {"model": "auto", "messages": [*messages, user], **as_chat}
    )
    assert ollama_wire.generate_request(generate) == ollama_wire.chat_request(chat)


def test_a_text_completion_goes_to_generate_raw() -> None:
    request = ChatRequest(
        messages=[{"role": "user", "content": "Es war einmal"}],
        params={"max_tokens": 7, "temperature": 0.3},
        prompt="Es war einmal",
    )
    assert ollama.path_of(request) == "/api/generate"
    wire = ollama.to_wire("llama3", request, stream=False)
    assert wire["prompt"] == "Es war einmal" and wire["raw"] is True
    assert "messages" not in wire
    assert wire["options"] == {"num_predict": 7, "temperature": 0.3}
    answer = ollama.result_from_wire(
        "ollama",
        {
            "response": " ein König",
            "done": True,
            "done_reason": "length",
            "prompt_eval_count": 4,
            "eval_count": 7,
        },
    )
    assert answer.content == " ein König" and answer.finish_reason == "length"
    assert (answer.usage.prompt_tokens, answer.usage.completion_tokens) == (4, 7)


@pytest.mark.parametrize(
    ("arguments", "shown"),
    [
        ('{"city": "Bern"}', {"city": "Bern"}),
        ("", {}),
        ('{"city": "Be', {"_raw": '{"city": "Be'}),  # cut short
        ("4", {"_raw": "4"}),  # JSON, but no object: Ollama's clients take only an object
    ],
)
def test_a_calls_arguments_reach_an_ollama_client_as_an_object(
    arguments: str, shown: dict[str, Any]
) -> None:
    call = {"index": 0, "id": "c", "type": "function"}
    call["function"] = {"name": "get_weather", "arguments": arguments}
    result = ChatResult(None, [call], "tool_calls", Usage(1, 1))
    answer = orjson.loads(ollama_wire.chat_response("m", result, 1, generate=False))
    assert answer["message"]["tool_calls"] == [
        {"function": {"name": "get_weather", "arguments": shown}}
    ]


@pytest.mark.parametrize(
    ("params", "cap"),
    [
        ({"max_tokens": 3, "max_completion_tokens": 1_000_000}, 3),
        ({"max_completion_tokens": 1_000_000, "max_tokens": 3}, 3),
        ({"max_completion_tokens": 40}, 40),
        ({"max_tokens": 9}, 9),
        ({}, None),
    ],
)
def test_an_ollama_backend_gets_the_one_cap_the_gateway_checked_and_reserved(
    params: dict[str, Any], cap: int | None
) -> None:
    """``max_tokens`` and a larger ``max_completion_tokens`` together: the gateway checks and
    reserves ``max_tokens`` (``ChatRequest.max_answer_tokens``); each mapped to ``num_predict``
    as sent, the later one won, and an Ollama server generated a million tokens on a
    reservation of three (walk 13)."""
    request = ChatRequest(messages=[{"role": "user", "content": "hi"}], params=params)
    for prompt in (None, "hi"):
        wire = ollama.to_wire(
            "m", ChatRequest(request.messages, params, prompt=prompt), stream=False
        )
        assert wire.get("options", {}).get("num_predict") == cap == request.max_answer_tokens


def test_a_text_completions_thinking_is_its_reasoning() -> None:
    """``/api/generate`` answers a thinking model's thinking beside ``response``: the answer's
    reasoning, whole and a piece a streamed line; a line of thinking alone has no content."""
    whole = ollama.result_from_wire(
        "ollama",
        {"response": "Hoi", "thinking": "kurz", "done": True, "done_reason": "stop"},
    )
    assert (whole.reasoning, whole.content) == ("kurz", "Hoi")
    piece = ollama.chunk_from_wire(
        {"response": "", "thinking": "ku", "done": False}, 0, None, logprobs.Held()
    )
    assert (piece.reasoning, piece.content, piece.finish_reason) == ("ku", None, None)
