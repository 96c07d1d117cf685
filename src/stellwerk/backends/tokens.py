"""Token estimates used where a server reports none; always labelled as estimates."""

from __future__ import annotations

import json
from typing import Any


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
