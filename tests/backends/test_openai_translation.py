"""The OpenAI-compatible backend's pure translation functions."""

from __future__ import annotations

import pytest

from stellwerk.backends import openai
from stellwerk.backends.types import ChatRequest
from stellwerk.errors import BackendFailed


def test_streams_always_ask_for_usage_and_limits_are_translated() -> None:
    request = ChatRequest(
        messages=[{"role": "user", "content": "hi"}],
        params={"max_completion_tokens": 9, "top_k": 5},
    )
    wire = openai.to_wire("qwen", request, stream=True)
    assert wire["stream_options"] == {"include_usage": True}
    assert wire["max_tokens"] == 9 and "max_completion_tokens" not in wire
    assert wire["top_k"] == 5  # parameters Stellwerk does not know are passed on
    assert "stream_options" not in openai.to_wire("qwen", request, stream=False)


def test_usage_only_chunk_and_content_chunk() -> None:
    usage = openai.chunk_from_wire({"choices": [], "usage": {"prompt_tokens": 3}})
    assert usage.usage is not None and usage.usage.prompt_tokens == 3
    assert usage.content is None
    piece = openai.chunk_from_wire({"choices": [{"delta": {"content": "Hal"}}]})
    assert piece.content == "Hal" and piece.usage is None


def test_answer_without_choices_is_a_backend_failure() -> None:
    with pytest.raises(BackendFailed, match="backend 'vllm': answer has no choices"):
        openai.result_from_wire("vllm", {"object": "chat.completion"})


@pytest.mark.parametrize(
    ("line", "data"),
    [("data: {}", "{}"), ("data:[DONE]", "[DONE]"), (": keep-alive", None), ("", None)],
)
def test_sse_lines(line: str, data: str | None) -> None:
    assert openai.sse_data(line) == data


def test_a_text_completion_goes_to_completions_with_its_prompt() -> None:
    request = ChatRequest(
        messages=[{"role": "user", "content": "def add(a, b):"}],
        params={"max_tokens": 8, "suffix": "\n"},
        prompt="def add(a, b):",
    )
    assert openai.path_of(request) == "/completions"
    wire = openai.to_wire("coder", request, stream=True)
    assert wire["prompt"] == "def add(a, b):" and "messages" not in wire
    assert wire["suffix"] == "\n" and wire["stream_options"] == {"include_usage": True}
    piece = openai.chunk_from_wire({"choices": [{"text": "\n    return", "index": 0}]})
    assert piece.content == "\n    return"
    answer = openai.result_from_wire(
        "vllm", {"choices": [{"text": " a + b", "finish_reason": "stop"}], "usage": {}}
    )
    assert answer.content == " a + b" and answer.finish_reason == "stop"
