"""The access log: one line per HTTP request on the logger ``stellwerk.access``.

    POST /v1/chat/completions 200 client=10.0.0.7 key=research-1 dept=research model=tiny-s 412.3 ms
    GET /v1/models 401 client=203.0.113.9 0.4 ms refused: unknown API key

Each line has the method, the path (without the query), the status, the client's address (the
connection's peer; behind a proxy that uvicorn trusts, ``FORWARDED_ALLOW_IPS``, the address the
proxy's ``X-Forwarded-For`` names: the real client), the key id and department of a known key,
the model that answered (the ``x-stellwerk-model`` header) and the time until the
last byte of the answer. A refusal (401, 403, 429) or another error adds the message the client
got, so refusals are visible in the log, not only in the ledger. Never the prompt, the body, the
query or the key. Every line is one line: a character that is not printable (a line break, an
escape sequence, a format character such as a right-to-left override) is written escaped, as
Python escapes it (``\\r``, ``\\x1b``, ``\\u202e``), wherever it came from: a request's path
is the client's, and decoded, so a ``%0d%0a`` in it would otherwise start a line of the
client's choosing (``printable``).

The middleware wraps the whole app. It does nothing while the logger is off for INFO (as in an
embedded app or the tests); ``stellwerk serve`` turns it on. Who asked is found by looking the
request's key up in the gateway's keyring again after the answer (one SHA-256), so no handler has
to report it.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from stellwerk.errors import StellwerkError

log = logging.getLogger("stellwerk.access")

_ERROR_BODY_LIMIT = 4096
_MESSAGE_LIMIT = 300
_REFUSALS = (401, 403, 429)


@dataclass(slots=True)
class _Answer:
    status: int = 500  # an app that raised before answering: its server answers 500
    model: str | None = None
    json: bool = False
    body: bytes = b""


class AccessLog:
    """ASGI middleware writing one access-log line when a request's answer has ended."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not log.isEnabledFor(logging.INFO):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        answer = _Answer()

        async def watched(message: Message) -> None:
            if message["type"] == "http.response.start":
                answer.status = message["status"]
                for name, value in message.get("headers", ()):
                    if name == b"x-stellwerk-model":
                        answer.model = value.decode("latin-1")
                    elif name == b"content-type":
                        answer.json = value.startswith(b"application/json")
            elif message["type"] == "http.response.body" and answer.status >= 400 and answer.json:
                room = _ERROR_BODY_LIMIT - len(answer.body)
                if room > 0:
                    answer.body += message.get("body", b"")[:room]
            await send(message)

        try:
            await self.app(scope, receive, watched)
        finally:
            elapsed_ms = (time.perf_counter() - started) * 1000
            log.info("%s", access_line(scope, answer, elapsed_ms))


def access_line(scope: Scope, answer: _Answer, elapsed_ms: float) -> str:
    parts = [scope["method"], scope["path"], str(answer.status)]
    client = scope.get("client")
    if client:
        parts.append(f"client={client[0]}")
    who = _who(scope)
    if who is not None:
        parts.append(f"key={who[0]} dept={who[1]}")
    if answer.model:
        parts.append(f"model={answer.model}")
    parts.append(f"{elapsed_ms:.1f} ms")
    if answer.status >= 400:
        message = _message(answer.body)
        if message:
            kind = "refused" if answer.status in _REFUSALS else "error"
            parts.append(f"{kind}: {message}")
    return printable(" ".join(parts))


def printable(text: str) -> str:
    """``text`` with every character that is not printable escaped (the module docstring)."""
    if text.isprintable():
        return text
    return "".join(
        ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text
    )


def _who(scope: Scope) -> tuple[str, str] | None:
    """The key id and department of the request's key, if it is a known one."""
    authorization = None
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            authorization = value.decode("latin-1")
            break
    app: Any = scope.get("app")
    runtime = getattr(getattr(app, "state", None), "runtime", None)
    if authorization is None or runtime is None:
        return None
    try:
        principal = runtime.keyring.authenticate(authorization)
    except StellwerkError:
        return None
    return principal.key_id, principal.department


def _message(body: bytes) -> str:
    """The error message of an OpenAI (``{"error": {"message"}}``) or Ollama (``{"error"}``)
    error body, on one line and shortened."""
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return ""
    error = parsed.get("error") if isinstance(parsed, dict) else None
    if isinstance(error, dict):
        error = error.get("message")
    if not isinstance(error, str):
        return ""
    text = " ".join(error.split())
    return text if len(text) <= _MESSAGE_LIMIT else text[: _MESSAGE_LIMIT - 3] + "..."
