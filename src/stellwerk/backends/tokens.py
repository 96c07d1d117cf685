"""Token estimates used where a server reports none; always labelled as estimates."""

from __future__ import annotations

from typing import Any


def estimate_tokens(text: str) -> int:
    """About four characters per token for European languages; at least one token."""
    return max(1, (len(text) + 3) // 4)


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
