"""Tools are passed through to a backend that supports them, and the answer's calls come back."""

from __future__ import annotations

import openai
import pytest

from tests.fixtures.gateway import KEYS, Gateway

pytestmark = pytest.mark.llama

TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather of a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


def test_forced_tool_call_comes_back_as_tool_calls(gateway: Gateway) -> None:
    with gateway.openai(KEYS["research"]) as client:
        completion = client.chat.completions.create(
            model="tiny-small",
            messages=[{"role": "user", "content": "Wetter in Bern?"}],
            tools=[TOOL],  # type: ignore[list-item]
            tool_choice={"type": "function", "function": {"name": "get_weather"}},
            max_tokens=40,
        )
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.tool_calls
    call = choice.message.tool_calls[0]
    assert call.function.name == "get_weather"  # type: ignore[union-attr]
    # random weights may run out of tokens inside the arguments: the shape is what counts
    assert isinstance(call.function.arguments, str)  # type: ignore[union-attr]
    assert call.function.arguments.startswith("{")  # type: ignore[union-attr]


def test_tools_refused_for_a_model_without_the_capability(gateway: Gateway) -> None:
    with (
        gateway.openai(KEYS["research"]) as client,
        pytest.raises(openai.BadRequestError) as info,
    ):
        client.chat.completions.create(
            model="tiny-medium",
            messages=[{"role": "user", "content": "Wetter?"}],
            tools=[TOOL],  # type: ignore[list-item]
        )
    assert "does not support tools" in str(info.value)
