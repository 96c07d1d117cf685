"""Rendering Stellwerk's results in the OpenAI wire format (pure functions, and the one piece
of state a stream needs: which tool calls it has announced), and a stream's tool-call pieces
joined into whole calls, for the APIs that send each call whole (Ollama's)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

from stellwerk.backends.types import ChatChunk, ChatResult, Usage
from stellwerk.errors import RequestError, StellwerkError, UpstreamError


def usage_json(usage: Usage) -> dict[str, int]:
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
    }


# A request that sent the older ``functions`` (and no ``tools``) is answered in the older form,
# as OpenAI answered it: the message's one ``function_call`` ({name, arguments}, no id) and
# ``finish_reason`` "function_call", not ``tool_calls``. The older form holds one call: a
# backend's further calls are not shown (a model asked with ``functions`` makes one).


def _function_call(tool_calls: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The first tool call (its deltas: those of index 0) as the older ``function_call``."""
    first = [call for call in tool_calls if call.get("index", 0) == 0]
    if not first:
        return None
    function = first[0].get("function") or {}
    return {k: function[k] for k in ("name", "arguments") if k in function}


@dataclass(slots=True)
class AnnouncedCalls:
    """The tool calls one stream has announced. OpenAI sends a call's ``id``, ``type`` and
    function ``name`` in its first chunk only (per ``index``), later chunks only ``arguments``;
    clients join every chunk's pieces (the ``openai`` library's stream helper, LangChain), so
    a backend that repeats them in every chunk (llama-cpp-python does) would have them read
    ``get_weatherget_weather...``. A repeat of what was sent is left out; anything new (a
    name sent in pieces) is passed on."""

    sent: dict[tuple[int, str], Any] = field(default_factory=dict)

    def new_pieces(self, tool_calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for delta in tool_calls:
            index = delta.get("index", 0)
            call = {k: v for k, v in delta.items() if not self._repeated(index, k, v)}
            function = delta.get("function")
            if isinstance(function, dict):
                call["function"] = {
                    k: v for k, v in function.items() if not self._repeated(index, k, v)
                }
            out.append(call)
        return out

    def _repeated(self, index: int, key: str, value: Any) -> bool:
        if key not in ("id", "type", "name"):
            return False
        if self.sent.get((index, key)) == value:
            return True
        self.sent[(index, key)] = value
        return False


def joined_calls(pieces: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The whole calls a stream's tool-call pieces make, one per ``index`` in its order: the
    ``id``, ``type`` and function ``name`` read once (a repeat in a later chunk is left out, as
    ``AnnouncedCalls`` leaves it out; a name sent in pieces is joined), the ``arguments``
    joined in the order they came."""
    calls: dict[int, dict[str, Any]] = {}
    for piece in AnnouncedCalls().new_pieces(list(pieces)):
        index = piece.get("index", 0)
        call = calls.setdefault(index, {"index": index, "function": {}})
        _join(call, piece, ("id", "type"))
        function = piece.get("function")
        if isinstance(function, dict):
            _join(call["function"], function, ("name", "arguments"))
    return [calls[index] for index in sorted(calls)]


def _join(whole: dict[str, Any], piece: dict[str, Any], keys: tuple[str, ...]) -> None:
    for key in keys:
        value = piece.get(key)
        if isinstance(value, str) and isinstance(whole.get(key, ""), str):
            whole[key] = whole.get(key, "") + value
        elif value is not None:  # arguments already an object: nothing to join
            whole[key] = value


def logprobs_json(entries: list[dict[str, Any]] | None) -> dict[str, Any] | None:
    """A choice's ``logprobs``: its tokens' (``stellwerk.backends.logprobs``), or null when
    they were not asked for."""
    return None if entries is None else {"content": entries, "refusal": None}


def _finish(reason: str | None, older: bool) -> str | None:
    return "function_call" if older and reason == "tool_calls" else reason


def completion(
    request_id: str, created: int, model: str, result: ChatResult, *, older: bool = False
) -> bytes:
    """A chat completion; ``older``: the client sent ``functions``, not ``tools``."""
    message: dict[str, Any] = {"role": "assistant", "content": result.content}
    if result.reasoning is not None:  # DeepSeek's name, which llama.cpp and vLLM answer with
        message["reasoning_content"] = result.reasoning
    if result.tool_calls and older:
        message["function_call"] = _function_call(result.tool_calls)
    elif result.tool_calls:
        message["tool_calls"] = [
            {k: v for k, v in call.items() if k != "index"} for call in result.tool_calls
        ]
    return orjson.dumps(
        {
            "id": f"chatcmpl-{request_id}",
            "object": "chat.completion",
            "created": created,
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "finish_reason": _finish(result.finish_reason, older) or "stop",
                    "logprobs": logprobs_json(result.logprobs),
                }
            ],
            "usage": usage_json(result.usage),
        }
    )


def chunk_event(
    request_id: str,
    created: int,
    model: str,
    chunk: ChatChunk,
    *,
    first: bool,
    older: bool = False,
) -> bytes:
    delta: dict[str, Any] = {}
    if first:
        delta["role"] = "assistant"
    if chunk.reasoning is not None:
        delta["reasoning_content"] = chunk.reasoning
    if chunk.content is not None:
        delta["content"] = chunk.content
    if chunk.tool_calls and older:
        function_call = _function_call(chunk.tool_calls)
        if function_call is not None:
            delta["function_call"] = function_call
    elif chunk.tool_calls:
        delta["tool_calls"] = chunk.tool_calls
    finish_reason = _finish(chunk.finish_reason, older)
    body = {
        "id": f"chatcmpl-{request_id}",
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": [
            {
                "index": 0,
                "delta": delta,
                "finish_reason": finish_reason,
                "logprobs": None if chunk.logprobs is None else logprobs_json(chunk.logprobs),
            }
        ],
    }
    return b"data: " + orjson.dumps(body) + b"\n\n"


def usage_event(request_id: str, created: int, model: str, usage: Usage) -> bytes:
    body = {
        "id": f"chatcmpl-{request_id}",
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": [],
        "usage": usage_json(usage),
    }
    return b"data: " + orjson.dumps(body) + b"\n\n"


DONE = b"data: [DONE]\n\n"


def error_body(exc: StellwerkError) -> dict[str, Any]:
    if isinstance(exc, RequestError):
        return {
            "error": {
                "message": exc.message,
                "type": exc.error_type,
                "param": exc.param,
                "code": exc.code,
            }
        }
    if isinstance(exc, UpstreamError):
        return {
            "error": {
                "message": exc.message,
                "type": exc.error_type,
                "param": None,
                "code": f"backend_{exc.kind}",
            }
        }
    code = getattr(exc, "code", None)  # a 503 of the shared state: ``service_unavailable``
    return {"error": {"message": str(exc), "type": "server_error", "param": None, "code": code}}


def error_event(exc: StellwerkError) -> bytes:
    return b"data: " + orjson.dumps(error_body(exc)) + b"\n\n"
