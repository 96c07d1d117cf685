"""Read deadlines for slow senders, which uvicorn does not have for a request's head or body.

uvicorn closes a connection that idles *between* requests (``timeout_keep_alive``), but a client
that connects and sends nothing, or sends its headers or its body a byte at a time, holds the
connection (and, once its head is in, a task) for as long as it likes. :func:`http_protocol` is
uvicorn's httptools protocol with one timer per connection:

- the head deadline (``server.header_timeout_s``) starts when the connection opens, or at the
  first byte of a later request on it, and ends when the request line and headers are complete;
  past it the client gets ``408`` (if it began a request) and the connection is closed;
- the body deadline (``server.body_timeout_s``) starts when the head is complete and ends when the
  body is; past it the connection is closed. The app, reading the body, sees the client leave
  and ends the request quietly (:mod:`stellwerk.gateway.body_limit`).

The timers are the event loop's ``call_later`` handles, like uvicorn's keep-alive timeout: no
task per connection. They live at the connection level, below ASGI, because that is where the
bytes arrive: an ASGI middleware is called only once the head is complete. A pipelined request
waits (its reading paused) until the one before it is answered; its body deadline runs meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from stellwerk.config.schema import ServerConfig

log = logging.getLogger("stellwerk.gateway")

_MESSAGE = b"the request head did not arrive in time"
_TIMED_OUT = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"connection: close\r\ncontent-length: %d\r\n\r\n%s" % (len(_MESSAGE), _MESSAGE)
)


class DeadlineProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, with a deadline for each request's head and body."""

    head_s: float = 20.0
    body_s: float = 120.0
    _timer: asyncio.TimerHandle | None = None
    _began = False  # a request head has begun and is not complete

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # type: ignore[arg-type]
        self._arm(self.head_s, self._head_late)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._began = True
        if self._timer is None:
            self._arm(self.head_s, self._head_late)

    def on_headers_complete(self) -> None:
        self._disarm()
        self._began = False
        super().on_headers_complete()
        self._arm(self.body_s, self._body_late)

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    def _arm(self, seconds: float, late: Callable[[], None]) -> None:
        self._disarm()
        self._timer = self.loop.call_later(seconds, late)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _head_late(self) -> None:
        self._timer = None
        if self.transport.is_closing():
            return
        if self._began and (self.cycle is None or self.cycle.response_complete):
            self.transport.write(_TIMED_OUT)
        log.info(
            "closed a connection from %s: no complete request head in %ss", _peer(self), self.head_s
        )
        self.transport.close()

    def _body_late(self) -> None:
        self._timer = None
        if self.transport.is_closing():
            return
        log.info(
            "closed a connection from %s: its request body took over %ss", _peer(self), self.body_s
        )
        self.transport.close()


def _peer(protocol: HttpToolsProtocol) -> str:
    return f"{protocol.client[0]}:{protocol.client[1]}" if protocol.client else "?"


def http_protocol(server: ServerConfig) -> type[asyncio.Protocol]:
    """The protocol class to give uvicorn (``http=``), with the deadlines of ``server``."""

    class Configured(DeadlineProtocol):
        head_s = server.header_timeout_s
        body_s = server.body_timeout_s

    return Configured
