"""Token estimates used where a server reports none; always labelled as estimates."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from stellwerk.backends.types import ChatRequest


def estimate_tokens(text: str) -> int:
    """About four characters per token for European languages; at least one token."""
    return max(1, (len(text) + 3) // 4)


def tool_tokens(params: dict[str, Any]) -> int:
    """Tokens the tool definitions add to a prompt (``tools`` or the older ``functions``): the
    server renders them into the chat template, so they count against the context and the bill
    (a client such as Open WebUI sends tens of kilobytes of them with every message)."""
    total = 0
    for key in ("tools", "functions"):
        value = params.get(key)
        if value:
            total += estimate_tokens(json.dumps(value, separators=(",", ":"), default=str))
    return total


def prompt_text(messages: list[dict[str, Any]]) -> str:
    """The text content of chat messages, joined; image parts are left out."""
    parts: list[str] = []
    for message in messages:
        content = message.get("content")
        if isinstance(content, str):
            parts.append(content)
        elif isinstance(content, list):
            parts.extend(
                str(part.get("text", ""))
                for part in content
                if isinstance(part, dict) and part.get("type") == "text"
            )
    return "\n".join(parts)


@dataclass(frozen=True, slots=True)
class PromptSize:
    """A chat request's prompt as the router and the admission read it, measured once per
    request: its ``text``, the estimated ``tokens`` of the text and the tool definitions, and
    the number of ``messages`` (each adds chat-template tokens)."""

    text: str
    tokens: int
    messages: int

    @classmethod
    def of(cls, request: ChatRequest) -> PromptSize:
        text = prompt_text(request.messages)
        tokens = estimate_tokens(text) + tool_tokens(request.params)
        return cls(text, tokens, len(request.messages))
