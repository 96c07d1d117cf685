"""Ollama's requests that ask for no answer: a chat without messages or a generate without a
prompt loads the model, and with ``keep_alive`` zero unloads it. The gateway loads no model (its
backends hold theirs), so it answers as Ollama does once the model is checked, and asks no
backend (``pipeline.ready``)."""

from __future__ import annotations

from typing import Literal

import orjson

from stellwerk.gateway.ollama_duration import is_zero
from stellwerk.gateway.ollama_wire import (
    OllamaChatRequest,
    OllamaGenerateRequest,
    answer_fields,
    now_iso,
)

IdleKind = Literal["load", "unload"]


def idle_kind(body: OllamaChatRequest | OllamaGenerateRequest) -> IdleKind | None:
    """What a request without messages (``/api/chat``) or without a prompt (``/api/generate``)
    asks of Ollama: to load the model (``load``), or, with ``keep_alive`` zero, to unload it
    (``unload``); None for a request that asks for an answer."""
    empty = not body.messages if isinstance(body, OllamaChatRequest) else not body.prompt
    if not empty:
        return None
    return "unload" if is_zero(body.keep_alive) else "load"


def idle_answer(model: str, kind: IdleKind, *, generate: bool) -> bytes:
    """Ollama's answer to a load or an unload: done, with nothing said."""
    return orjson.dumps(
        {
            "model": model,
            "created_at": now_iso(),
            **answer_fields("", None, generate),
            "done": True,
            "done_reason": kind,
        }
    )
