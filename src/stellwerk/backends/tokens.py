"""Token counts before a server has counted: an estimate for routing (about four characters a
token), always labelled as one, and an upper bound for admission that no real prompt exceeds.

The bound (``prompt_bound``) rests on one fact of the tokenisers open models use (byte-level
BPE, SentencePiece with byte fallback, tiktoken): every token of a text stands for at least one
byte of its UTF-8 encoding, so a text of N bytes is at most N tokens (plus a leading-space token
SentencePiece may add, covered by the per-message allowance). Around the text, the chat template
adds a bounded number of tokens per message and per conversation, and an image part is encoded
by the model's vision tower into a bounded number of tokens. Emoji, CJK and rare scripts, which
the four-characters estimate undercounts several times over, are within the bound by
construction.

A prompt whose text a server's tokenizer counted (its tokenize endpoint sees text, not the chat
the template makes of it) is counted with the same allowances (``tokenized_prompt``): the text at
the tokenizer's count, the rest (the chat template, the tool definitions, images, tool calls) as
the bound takes it. So a stream charged on that count (ended before its server reported usage)
is charged the template's tokens too, as the server's own count and the reservation have them,
and never more than the reservation.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from stellwerk.backends.types import ChatRequest

#: Chat-template tokens one message adds around its text (role markers, separators).
PER_MESSAGE_BOUND = 16
#: Chat-template tokens of a conversation (begin-of-text, generation prompt, a template's own
#: system prompt such as a date line).
PER_REQUEST_BOUND = 64
#: Tokens one image part may take (vision towers encode an image into 256 to a few thousand).
PER_IMAGE_BOUND = 4096


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


def _json_bytes(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str).encode())


def _message_bound(message: dict[str, Any]) -> int:
    """Tokens one message can take at most: the UTF-8 bytes of everything in it but its images
    (text, tool calls with their arguments, names, ids; the JSON keys are slack), an allowance
    per image and per message."""
    content = message.get("content")
    rest = {k: v for k, v in message.items() if k not in ("content", "images")}
    total = PER_MESSAGE_BOUND + _json_bytes(rest)
    total += PER_IMAGE_BOUND * len(message.get("images") or ())  # Ollama's form
    if isinstance(content, str):
        total += len(content.encode())
    elif isinstance(content, list):
        for part in content:
            if isinstance(part, dict) and part.get("type") in ("image_url", "image"):
                total += PER_IMAGE_BOUND
            elif isinstance(part, dict) and part.get("type") == "text":
                total += len(str(part.get("text", "")).encode())
            else:
                total += _json_bytes(part)
    elif content is not None:
        total += _json_bytes(content)
    return total


def prompt_bound(request: ChatRequest) -> int:
    """The most tokens this request's prompt can be, on any model (see the module docstring):
    every message's bytes plus its allowances, the tool definitions' bytes, and the
    conversation's allowance."""
    total = PER_REQUEST_BOUND + sum(_message_bound(m) for m in request.messages)
    for key in ("tools", "functions"):
        value = request.params.get(key)
        if value:
            total += _json_bytes(value)
    return total


def tokenized_prompt(request: ChatRequest, text_tokens: int) -> int:
    """The prompt's tokens when a tokenizer counted only its text, ``text_tokens`` (see the
    module docstring): a text completion's prompt goes to the model as it is, so that count is
    the prompt's; a chat's is ``prompt_bound`` with the bytes of its text (``prompt_text``)
    replaced by their count, and never more than that bound."""
    if request.prompt is not None:
        return text_tokens
    bound = prompt_bound(request)
    return min(bound, bound - len(prompt_text(request.messages).encode()) + text_tokens)


def inputs_bound(inputs: list[str]) -> int:
    """The most tokens embedding inputs can be: their bytes plus a per-input allowance."""
    return sum(len(text.encode()) + PER_MESSAGE_BOUND for text in inputs)


@dataclass(frozen=True, slots=True)
class PromptSize:
    """A chat request's prompt as the router and the admission read it, measured once per
    request: its ``text``, the estimated ``tokens`` of the text and the tool definitions (for
    routing: does it fit a model's context), the number of ``messages``, and the ``bound`` no
    real count can exceed (for admission: what a budget reserves)."""

    text: str
    tokens: int
    messages: int
    bound: int

    @classmethod
    def of(cls, request: ChatRequest) -> PromptSize:
        text = prompt_text(request.messages)
        tokens = estimate_tokens(text) + tool_tokens(request.params)
        return cls(text, tokens, len(request.messages), prompt_bound(request))
