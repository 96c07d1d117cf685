"""The gate: a request's key is settled from its headers, before anything reads its body.

For every request but the dashboard's (which has its own sessions), the gate

0. refuses (400) a request that sends ``Authorization`` or ``x-stellwerk-classification`` more
   than once, as the body parser refuses a JSON key named twice: parsers differ on which one
   wins (a proxy that appends a forced class would lose to the client's own header sent first);
1. authenticates a presented key (``Authorization``); on ``/admin`` a missing or unknown key is
   a 401 at once, before FastAPI reads and parses the body (the model endpoints authenticate
   before they read; ``/healthz`` ignores keys; elsewhere the endpoint answers as before);
   then a path that ends in a line break is the API's 404 ``no such endpoint``: Starlette
   compiles a route to ``^...$``, and Python's ``$`` matches before a final line break, so
   ``/metrics%0A`` was served as ``/metrics``, passing a proxy rule that blocks a path by its
   exact text (the dashboard's pages answer it with their HTML 404 page themselves,
   ``dashboard.error_pages``);
2. refuses (415) a request with a key whose body says it is compressed (``content-encoding``
   other than ``identity``: gzip, deflate, br, zstd ...), before the body is read, in the API's
   own error format with ``accept-encoding: identity``: the gateway reads bodies as they are
   (the ``openai`` and ``ollama`` libraries send none compressed), so such a body would be
   told only as JSON it cannot parse. A request without a key goes on to the endpoint, which
   answers 401 as before;
3. holds one of the key's in-flight slots (:class:`~stellwerk.gateway.limits.InFlight`) for as
   long as the request runs, a streamed answer up to its last bytes included (the slot is free
   again just before they are sent, so a client that asks again at once finds it free); a key
   with no free slot gets 429 in the API's format, before its body is read.

The runtime (the keyring) exists once the app has started (``app.state.runtime``); before that
the gate lets requests through to the app, which answers them as it does.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from stellwerk.errors import (
    AuthenticationFailed,
    InvalidRequest,
    NotFound,
    RateLimited,
    UnsupportedEncoding,
    shown,
)
from stellwerk.gateway.auth import Principal
from stellwerk.gateway.limits import InFlight
from stellwerk.gateway.refusal import DASHBOARD, may_have_body, refuse
from stellwerk.gateway.runtime import Runtime
from stellwerk.policy.classification import HEADER

ADMIN = "/admin/"
#: headers a request may send at most once (their names as ASGI gives them: lower case)
SINGLE = (b"authorization", HEADER.encode(), b"idempotency-key")


class Gate:
    """ASGI middleware: authentication first on ``/admin``, in-flight slots for every key."""

    def __init__(self, app: ASGIApp, in_flight: InFlight) -> None:
        self.app = app
        self.in_flight = in_flight

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        runtime: Runtime | None = None
        if scope["type"] == "http" and not path.startswith(DASHBOARD):
            runtime = getattr(scope["app"].state, "runtime", None)
        if runtime is None:
            await self.app(scope, receive, send)
            return
        repeated = _repeated(scope)
        if repeated is not None:
            known = None if repeated.param == "authorization" else _known(runtime, scope)
            await refuse(scope, receive, send, repeated, known)
            return
        try:
            principal = _principal(runtime, scope)
        except AuthenticationFailed as exc:
            if path.startswith(ADMIN):
                await refuse(scope, receive, send, exc)
                return
            principal = None
        if path.endswith("\n"):  # no endpoint's path ends in one, though "$" would take it
            await refuse(scope, receive, send, NotFound(f"no such endpoint: {shown(path)}"))
            return
        if principal is None:
            await self.app(scope, receive, send)
            return
        encoded = _encoded(scope)
        if encoded is not None:
            await refuse(scope, receive, send, encoded, principal)
            return
        key = principal.key_id
        try:
            self.in_flight.acquire(key, principal.department)
        except RateLimited as exc:
            await refuse(scope, receive, send, exc, principal)
            return
        slot = _Slot(self.in_flight, key)

        async def sending(message: Message) -> None:
            # Free the slot before the answer's last bytes go out: a client that sends its next
            # request the moment it has the answer must find the slot free.
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                slot.release()
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            slot.release()


class _Slot:
    """One request's in-flight slot, released once."""

    def __init__(self, in_flight: InFlight, key: str) -> None:
        self.in_flight, self.key, self.held = in_flight, key, True

    def release(self) -> None:
        if self.held:
            self.held = False
            self.in_flight.release(self.key)


def _principal(runtime: Runtime, scope: Scope) -> Principal | None:
    """The key's principal; ``None`` without a key (401 on ``/admin``)."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            return runtime.keyring.authenticate(value.decode("latin-1"))
    if scope["path"].startswith(ADMIN):
        raise AuthenticationFailed("no API key: send 'Authorization: Bearer <key>'")
    return None


def _repeated(scope: Scope) -> InvalidRequest | None:
    """The 400 for a header of ``SINGLE`` sent more than once, if one is."""
    seen: set[bytes] = set()
    for name, _ in scope["headers"]:
        if name in SINGLE:
            if name in seen:
                header = name.decode("latin-1")
                return InvalidRequest(
                    f"the header {header} is sent more than once; send it once (servers and"
                    " proxies differ on which one counts)",
                    param=header,
                    code="duplicate_header",
                )
            seen.add(name)
    return None


def _encoded(scope: Scope) -> UnsupportedEncoding | None:
    """The 415 for a request whose body says it is compressed, if it has a body and does."""
    codings = [
        coding.strip()
        for name, value in scope["headers"]
        if name == b"content-encoding"
        for coding in value.decode("latin-1").split(",")
    ]
    named = [coding for coding in codings if coding and coding.lower() != "identity"]
    if not named or not may_have_body(scope):
        return None
    return UnsupportedEncoding(
        f"the request body is sent with content-encoding {shown(', '.join(named))}, which the"
        " gateway does not read; send it uncompressed, without content-encoding",
        param="content-encoding",
    )


def _known(runtime: Runtime, scope: Scope) -> Principal | None:
    """The key's principal for a refusal's usage record, None without a valid key."""
    try:
        return _principal(runtime, scope)
    except AuthenticationFailed:
        return None
