"""Asking one model one prompt through Stellwerk's own backend, streaming, and measuring it."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from stellwerk.backends.base import Backend
from stellwerk.backends.types import ChatRequest, Usage
from stellwerk.calibration.checkpoint import DOES_NOT_FIT
from stellwerk.errors import ContextExceeded, RequestError, UpstreamError


@dataclass(frozen=True, slots=True)
class Answer:
    """One model's answer to one prompt, or the error it gave instead."""

    text: str
    prompt_tokens: int
    answer_tokens: int
    usage_source: str
    latency_ms: float
    ttft_ms: float | None
    started: float
    """Wall-clock seconds since the epoch; with ``latency_ms`` it gives the busy interval."""
    error: str | None = None
    """``timeout``, ``unavailable``, ``failed``, ``rejected`` or ``context`` (``DOES_NOT_FIT``:
    the backend said the prompt is over the model's context); None when it answered."""
    error_message: str | None = None
    context: int | None = None
    """The context the backend's refusal named (``DOES_NOT_FIT``), where it named one."""

    @property
    def decode_tokens_per_s(self) -> float | None:
        """Answer tokens per second after the first token; None when that cannot be measured."""
        if self.error or self.ttft_ms is None or self.answer_tokens < 2:
            return None
        seconds = (self.latency_ms - self.ttft_ms) / 1000
        return (self.answer_tokens - 1) / seconds if seconds > 0 else None


async def ask(
    backend: Backend, upstream: str, prompt: str, *, max_tokens: int, timeout_s: float
) -> Answer:
    """Stream the answer; the time to the first content chunk is the TTFT. Never raises for a
    backend's failure: the error is part of the returned ``Answer``."""
    request = ChatRequest(
        messages=[{"role": "user", "content": prompt}],
        params={"max_tokens": max_tokens, "temperature": 0.0},
    )
    started_wall = time.time()
    started = time.perf_counter()
    first: float | None = None
    parts: list[str] = []
    usage: Usage | None = None

    def measured(
        error: str | None = None, message: str | None = None, context: int | None = None
    ) -> Answer:
        ended = time.perf_counter()
        used = usage or Usage(0, 0, source="none")
        return Answer(
            text="".join(parts),
            prompt_tokens=used.prompt_tokens,
            answer_tokens=used.completion_tokens,
            usage_source=used.source,
            latency_ms=(ended - started) * 1000,
            ttft_ms=None if first is None else (first - started) * 1000,
            started=started_wall,
            error=error,
            error_message=message,
            context=context,
        )

    chunks = backend.stream(upstream, request)
    try:
        async with asyncio.timeout(timeout_s):
            async for chunk in chunks:
                if chunk.content:
                    if first is None:
                        first = time.perf_counter()
                    parts.append(chunk.content)
                if chunk.usage is not None:
                    usage = chunk.usage
    except TimeoutError:
        return measured("timeout", f"no complete answer within {timeout_s:g} s")
    except UpstreamError as exc:
        return measured(exc.kind, exc.message)
    except ContextExceeded as exc:
        return measured(DOES_NOT_FIT, exc.message, exc.context)
    except RequestError as exc:
        return measured("rejected", exc.message)
    finally:
        await chunks.aclose()  # type: ignore[attr-defined]
    return measured()
