"""A prompt a tokenizer counted only the text of (``tokens.tokenized_prompt``): a chat's is the
reservation's bound with its text's bytes replaced by their count, so the chat template, tool
definitions and images are counted as the reservation took them; a text completion's is the
count itself (it has no template)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from stellwerk.backends.tokens import (
    PER_IMAGE_BOUND,
    PER_MESSAGE_BOUND,
    PER_REQUEST_BOUND,
    prompt_bound,
    tokenized_prompt,
)
from stellwerk.backends.types import ChatRequest

TOOLS = [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}]
IMAGE = {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}


@pytest.mark.parametrize(
    ("messages", "params", "around"),
    [
        # 15 bytes of {"role":"user"} beside the text, then the template's allowances
        ([{"role": "user", "content": "Grüezi mitenand"}], {}, 15 + PER_MESSAGE_BOUND),
        (
            [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
            {"tools": TOOLS},
            # the newline that joins the two texts was counted by the tokenizer
            17 + 15 + 2 * PER_MESSAGE_BOUND + len(json.dumps(TOOLS, separators=(",", ":"))) - 1,
        ),
        (
            [{"role": "user", "content": [{"type": "text", "text": "What is it?"}, IMAGE]}],
            {},
            15 + PER_MESSAGE_BOUND + PER_IMAGE_BOUND,
        ),
    ],
    ids=["one-message", "system-and-tools", "image"],
)
def test_a_chat_is_counted_with_its_template_tools_and_images(
    messages: list[dict[str, Any]], params: dict[str, Any], around: int
) -> None:
    request = ChatRequest(messages, params)
    assert tokenized_prompt(request, 3) == PER_REQUEST_BOUND + around + 3
    assert tokenized_prompt(request, 3) < prompt_bound(request)
    assert tokenized_prompt(request, 10_000) == prompt_bound(request)  # never over the bound


def test_a_text_completion_is_its_count() -> None:
    request = ChatRequest([{"role": "user", "content": "Once upon"}], {}, prompt="Once upon")
    assert tokenized_prompt(request, 3) == 3
