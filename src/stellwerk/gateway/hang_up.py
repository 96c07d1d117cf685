"""A client that hangs up while its whole answer is awaited ends the wait.

A request that is not streamed waits for the whole answer: a long generation, a large batch of
embeddings. A client that gives up meanwhile (its timeout, a closed tab) used to leave the model
server working to the end for nobody, and the usage record saying 200. ``hang_up`` watches the
connection while the gateway waits: the server tells the app when the client has gone (ASGI's
``http.disconnect``, once the body has been read), and the wait ends as a governance cut ends it
(``cuts.Watch.end``), with ``ClientGone``. The backend's request is cancelled with it: its
connection closes, and a llama.cpp server stops generating for a closed connection. The usage
record says 499 ``client_disconnected``, as for a stream the client left, and is charged, as a
stream cut before its first token is, the prompt the backend has read: its upper bound (the
reservation's, ``stellwerk.backends.tokens``; usage source ``counted:bound``), no answer tokens.
Charged nothing, a client whose timeout fell just before the answer had the backend's work for
free. The watch is one task per request (about 12 µs on the 2-core machine of BENCHMARKS.md,
timed in process).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.requests import Request

from stellwerk.backends.tokens import PromptSize
from stellwerk.backends.types import ChatRequest, Usage
from stellwerk.errors import ClientGone
from stellwerk.gateway.cuts import Watch


@asynccontextmanager
async def hang_up(request: Request, watch: Watch, prompt: ChatRequest | int) -> AsyncIterator[None]:
    """Around ``watch.waiting()``: the client's hanging up meanwhile ends the wait, its call
    charged the bound of ``prompt`` (a chat request's, or the tokens of embedding inputs as
    their reservation counted them) and no answer."""
    task = asyncio.create_task(_gone(request, watch, prompt))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _gone(request: Request, watch: Watch, prompt: ChatRequest | int) -> None:
    """Wait for the client's disconnect; anything else the server sends ends the watch (the
    body is read, so nothing else is expected)."""
    message = await request.receive()
    if message["type"] == "http.disconnect":
        tokens = prompt if isinstance(prompt, int) else PromptSize.of(prompt).tokens
        watch.call.usage = Usage(tokens, 0, "counted:bound")
        watch.end(ClientGone("the client hung up before the answer was complete"))
