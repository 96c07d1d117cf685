"""Rendering Stellwerk's results in the OpenAI wire format (pure functions)."""

from __future__ import annotations

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


def completion(request_id: str, created: int, model: str, result: ChatResult) -> bytes:
    message: dict[str, Any] = {"role": "assistant", "content": result.content}
    if result.tool_calls:
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
                    "finish_reason": result.finish_reason or "stop",
                    "logprobs": None,
                }
            ],
            "usage": usage_json(result.usage),
        }
    )


def chunk_event(
    request_id: str, created: int, model: str, chunk: ChatChunk, *, first: bool
) -> bytes:
    delta: dict[str, Any] = {}
    if first:
        delta["role"] = "assistant"
    if chunk.content is not None:
        delta["content"] = chunk.content
    if chunk.tool_calls:
        delta["tool_calls"] = chunk.tool_calls
    body = {
        "id": f"chatcmpl-{request_id}",
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": [
            {"index": 0, "delta": delta, "finish_reason": chunk.finish_reason, "logprobs": None}
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
    return {"error": {"message": str(exc), "type": "server_error", "param": None, "code": None}}


def error_event(exc: StellwerkError) -> bytes:
    return b"data: " + orjson.dumps(error_body(exc)) + b"\n\n"
