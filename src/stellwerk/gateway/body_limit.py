"""Every request body is bounded while it is read, before anything authenticates or parses it.

``BodyLimit`` wraps the whole app (the data plane's routes, FastAPI's body parsing):

1. a request whose ``content-length`` is over the limit is answered 413 before the app sees it;
2. a body without a length (chunked) is counted as its chunks arrive; the chunk that passes the
   limit ends it: the app's read of that chunk raises ``PayloadTooLarge`` (so a handler accounts
   the request as it does its own 413s), later reads get ``http.disconnect``, whatever the app
   sends from then on is dropped, and once the app is done the middleware answers 413 itself
   (unless the app had begun its answer). Answering after the app, not at the cut, lets the 413
   carry the ``x-stellwerk-request-id`` of the usage record the handler wrote (the id the
   handler put on that same ``PayloadTooLarge``), as the answer of a handler's own 413 does;
3. a client that hangs up in the middle of its body (or is cut off by the read deadline, see
   :mod:`stellwerk.gateway.deadlines`) ends its request quietly: there is no one to answer. Where
   FastAPI read the body (the admin API's writes), its request ends as ``ClientGone``'s 499,
   which the server drops and the access log writes: a client's hang-up, not the 500 of an app
   that raised before answering. (The model endpoints and the dashboard's forms read theirs with
   ``request_body.read_body``, which raises ``ClientGone`` itself.)

So no request holds more than the limit in memory, whichever endpoint it is sent to and whether
or not it carries a key. The 413 is in the API's own format (:mod:`stellwerk.gateway.refusal`)
and says ``connection: close``: the rest of an oversized body is never read. Endpoints may bound
their bodies tighter on their own (the dashboard's forms: ``dashboard.web.MAX_FORM_BYTES``).
"""

from __future__ import annotations

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from stellwerk.errors import AuthenticationFailed, ClientGone, PayloadTooLarge
from stellwerk.gateway.auth import Principal
from stellwerk.gateway.refusal import refuse, response_for
from stellwerk.gateway.runtime import Runtime


class BodyLimit:
    """ASGI middleware: no request body over ``max_bytes`` is read."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _declared_length(scope)
        if declared is not None and declared > self.max_bytes:
            too_large = PayloadTooLarge(
                f"request body of {declared} bytes is over the limit of {self.max_bytes}"
            )
            await refuse(scope, receive, send, too_large, _principal(scope))
            return
        guard = _Guard(receive, send, self.max_bytes)
        try:
            await self.app(scope, guard.receive, guard.send)
        except ClientDisconnect:
            if guard.too_large is None and not guard.hung_up:
                raise
            if not guard.started and guard.too_large is None:
                gone = ClientGone("the client hung up while sending its request body")
                await response_for(scope, gone)(scope, receive, send)
        except Exception:
            if guard.too_large is None:
                raise
        if guard.answering and guard.too_large is not None:
            await response_for(scope, guard.too_large)(scope, receive, send)


class _Guard:
    """One request's ``receive`` and ``send``, counting the body as it comes."""

    def __init__(self, receive: Receive, send: Send, limit: int) -> None:
        self._receive, self._send, self.limit = receive, send, limit
        self.size = 0
        self.started = False  # the app began its answer
        self.too_large: PayloadTooLarge | None = None  # the body passed the limit: its error
        self.answering = False  # ... and the 413 is the answer, sent once the app is done
        self.hung_up = False  # the client went away

    async def receive(self) -> Message:
        if self.too_large is not None:
            return {"type": "http.disconnect"}
        message = await self._receive()
        if message["type"] == "http.disconnect":
            self.hung_up = True
        elif message["type"] == "http.request":
            self.size += len(message.get("body", b""))
            if self.size > self.limit:
                self.too_large = PayloadTooLarge(
                    f"request body is over the limit of {self.limit} bytes"
                )
                self.answering = not self.started
                raise self.too_large
        return message

    async def send(self, message: Message) -> None:
        if self.answering:
            return  # the 413 is the answer
        if message["type"] == "http.response.start":
            self.started = True
        await self._send(message)


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isascii() and text.isdigit() else None
    return None


def _principal(scope: Scope) -> Principal | None:
    """Whose request it is, for its usage record only (nothing is refused for a bad key here)."""
    runtime: Runtime | None = getattr(scope["app"].state, "runtime", None)
    if runtime is None:
        return None
    for name, value in scope["headers"]:
        if name == b"authorization":
            try:
                return runtime.keyring.authenticate(value.decode("latin-1"))
            except AuthenticationFailed:
                return None
    return None
