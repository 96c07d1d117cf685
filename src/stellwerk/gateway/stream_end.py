"""How a stream ended and what it cost: the one decision for the streams of both APIs (OpenAI
SSE on ``/v1``, Ollama NDJSON on ``/api``).

    ended by                                                  status          error_kind
    the backend, after its finish reason                      200             -
    the backend mid-stream: it died, sent garbage, hit the    the error's     stream_interrupted
      deadline, or ended ([DONE], Ollama's ``done``) without  (502, 503, 504)
      a finish reason
    the client: it hung up (a stop button, a closed tab)      499             client_disconnected
    governance, while it ran (``stellwerk.gateway.cuts``):
      its model's data owner withdrew consent                 403             consent_withdrawn
      its key was revoked                                     401             key_revoked

What it cost: the backend's own usage when the stream ended normally; otherwise what was received
from the backend, counted here: completion tokens are the content and tool-call chunks received
(each is at least one token), prompt tokens the backend's tokenizer where it has one and answers
within ``TOKENIZE_WAIT_S`` (the text as it counts it, the chat template around it as the
reservation's bound takes it: ``tokens.tokenized_prompt``, as the backend counts a stream that
ended normally without usage when it cannot ask the server), else the prompt's upper bound
(``stellwerk.backends.tokens``). Not the backend's probe of a normal end (the request once more,
for one token): the model of a stream governance cut may serve nothing more. The
usage record is written with that usage whichever way the stream ended, and the request's budget
reservation is settled on it, never released: a cut stream costs what it cost.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping

import anyio
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from stellwerk.backends.tokens import prompt_bound, tokenized_prompt
from stellwerk.backends.types import ChatChunk, ChatRequest, Usage
from stellwerk.errors import RequestError, StellwerkError
from stellwerk.gateway.calls import Call
from stellwerk.gateway.cuts import Watch
from stellwerk.gateway.errors import status_of
from stellwerk.gateway.runtime import Runtime

log = logging.getLogger("stellwerk.gateway")

#: How long a cut stream's record waits for the backend's tokenizer before it takes the bound.
TOKENIZE_WAIT_S = 2.0


class StreamEnd:
    """What one stream received from its backend and how it ended; ``close`` writes its record."""

    def __init__(
        self,
        runtime: Runtime,
        call: Call,
        request: ChatRequest,
        rest: AsyncGenerator[ChatChunk, None],
        account: Callable[[Runtime, Call], Awaitable[None]],
        watch: Watch,
    ) -> None:
        self.runtime = runtime
        self.watch = watch  # the request among the running ones, for a governance cut
        self.account = account  # the request's last step (``stellwerk.gateway.pipeline``)
        self.call = call
        self.request = request
        self.rest = rest
        self.received = 0  # content and tool-call chunks from the backend
        self.finish_reason: str | None = None
        self.reported: Usage | None = None  # the backend's own count, sent at its end
        self.failure: StellwerkError | None = None
        self.delivered = False  # every event, the last included, went to the client

    async def chunks(self, first: ChatChunk) -> AsyncIterator[ChatChunk]:
        """The backend's chunks, ``first`` then the rest, counted as they arrive. Once the last
        is in, a routed request is marked finishing, before its last events go to the client: a
        feedback sent when the client has them waits for its record (``pending_store``)."""
        yield self._seen(first)
        async for chunk in self.rest:
            yield self._seen(chunk)
        call = self.call
        if call.evidence is not None and call.principal is not None:
            await self.runtime.pending.finishing(call.request_id, call.principal.key_id)

    def _seen(self, chunk: ChatChunk) -> ChatChunk:
        if chunk.content is not None or chunk.tool_calls or chunk.reasoning:
            self.received += 1
        if chunk.finish_reason:
            self.finish_reason = chunk.finish_reason
        if chunk.usage is not None:
            self.reported = self.call.usage = chunk.usage
        cut = self.watch.cut  # a governance cut, raised here in the events' place (O(1))
        if cut is not None:
            raise cut
        return chunk

    async def close(self) -> None:
        """Decide how the stream ended and what it cost, then write its one usage record."""
        call = self.call
        self.runtime.cuts.done(self.watch)
        await self.rest.aclose()
        if isinstance(self.failure, RequestError):  # a governance cut: its code says which
            call.status, call.error_kind = status_of(self.failure), self.failure.error_kind
        elif self.failure is not None:
            call.status, call.error_kind = status_of(self.failure), "stream_interrupted"
        elif not self.delivered:
            call.status, call.error_kind = 499, "client_disconnected"
        complete = self.failure is None and self.delivered and self.reported is not None
        if not complete:
            call.usage = await self._counted()
        call.ended = call.ended or time.perf_counter()
        await self.account(self.runtime, call)

    async def _counted(self) -> Usage:
        reported = self.reported
        completion = max(self.received, reported.completion_tokens if reported else 0)
        if reported is not None and reported.prompt_tokens > 0:
            return Usage(reported.prompt_tokens, completion, "counted:chunks+backend")
        text = await self._tokenized()
        if text is not None:  # the text's tokens: the chat template's at the bound's allowance
            prompt = tokenized_prompt(self.request, text)
            return Usage(prompt, completion, "counted:chunks+tokenize")
        return Usage(prompt_bound(self.request), completion, "counted:chunks+bound")

    async def _tokenized(self) -> int | None:
        model = self.call.model
        if model is None:
            return None
        backend = self.runtime.backends[model.backend]
        try:
            async with asyncio.timeout(TOKENIZE_WAIT_S):
                return await backend.prompt_tokens(model.upstream, self.request)
        except (TimeoutError, StellwerkError):
            return None


class AccountedStream(StreamingResponse):
    """A streamed answer whose usage record is written when it ends, however it ends: the events
    of ``events``; a ``StellwerkError`` raised by them after the first token (no silent switch)
    ends the stream with ``error_event`` in the API's own format; a client that hangs up ends it
    where it is. The record is written under a shield once the response is done."""

    def __init__(
        self,
        end: StreamEnd,
        events: AsyncGenerator[bytes, None],
        error_event: Callable[[StellwerkError], bytes],
        *,
        media_type: str,
        headers: Mapping[str, str],
    ) -> None:
        self.end = end
        self.events = events
        self.error_event = error_event
        super().__init__(self._guarded(), media_type=media_type, headers=headers)

    async def _guarded(self) -> AsyncIterator[bytes]:
        try:
            async for event in self.events:
                yield event
        except StellwerkError as exc:
            self.end.failure = exc
            yield self.error_event(exc)
        self.end.delivered = True  # reached only once the last event was taken by the server

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            with anyio.CancelScope(shield=True):  # a client that hangs up still gets its record
                await self.events.aclose()
                try:
                    await self.end.close()
                except Exception:
                    log.exception("could not account stream %s", self.end.call.request_id)
