"""Read deadlines for slow senders and a size limit for request heads, which uvicorn does not have.

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

A request head (line and headers) is also bounded in size (``server.max_header_bytes``): the
parser keeps a header it has not seen the end of in memory, so a client that streams one endless
header fast would fill it (about 130 MB for 55 MiB sent). A head over the limit gets ``431`` and
the connection is closed, counted two ways: a head still unfinished is counted per chunk read (a
chunk counts when a head was begun before it and is still unfinished after it: this stops an
endless header while it arrives), and a complete head exactly, by its target and headers as the
parser hands them over (a head that arrived in one or two reads, up to the 256 KiB the event loop
reads at once, used to pass uncounted); such a head never reaches the app.

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


def _answer(status: bytes, message: bytes) -> bytes:
    """A whole plain-text answer that closes the connection."""
    return (
        b"HTTP/1.1 %s\r\ncontent-type: text/plain; charset=utf-8\r\nconnection: close\r\n"
        b"content-length: %d\r\n\r\n%s" % (status, len(message), message)
    )


_TIMED_OUT = _answer(b"408 Request Timeout", b"the request head did not arrive in time")
_TOO_LARGE = _answer(
    b"431 Request Header Fields Too Large", b"the request line and headers are too large"
)


class DeadlineProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, with a deadline for each request's head and body."""

    head_s: float = 20.0
    body_s: float = 120.0
    max_head_bytes: int = 64 * 1024
    _timer: asyncio.TimerHandle | None = None
    _began = False  # a request head has begun and is not complete
    _head_bytes = 0  # of that head, counted as described in the module's docstring
    _head_exact = 0  # of that head, its target and headers as the parser handed them over
    _refused = False  # a complete head was over the limit: the connection is being closed

    def data_received(self, data: bytes) -> None:
        began_before = self._began
        super().data_received(data)
        if not (began_before and self._began):
            return
        self._head_bytes += len(data)
        if self._head_bytes > self.max_head_bytes:
            self._refuse_head()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # type: ignore[arg-type]
        self._arm(self.head_s, self._head_late)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        if self._refused:
            return
        super().on_message_begin()
        self._began = True
        self._head_bytes = self._head_exact = 0
        if self._timer is None:
            self._arm(self.head_s, self._head_late)

    def on_url(self, url: bytes) -> None:
        if not self._refused:
            self._head_exact += len(url)
            super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        if not self._refused:
            self._head_exact += len(name) + len(value) + 4  # ": " and the line's end
            super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._disarm()
        self._began = False
        if self._refused or self._head_exact > self.max_head_bytes:
            self._refuse_head()
            return
        super().on_headers_complete()
        self._arm(self.body_s, self._body_late)

    def on_body(self, body: bytes) -> None:
        if not self._refused:
            super().on_body(body)

    def on_message_complete(self) -> None:
        self._disarm()
        if not self._refused:
            super().on_message_complete()

    def _refuse_head(self) -> None:
        """431 for a complete head over the limit, the connection closed; the parser's later
        calls for this connection (its body, a pipelined request) are ignored."""
        if not self._refused and not self.transport.is_closing():
            log.info(
                "closed a connection from %s: request head over %d bytes",
                _peer(self),
                self.max_head_bytes,
            )
            self.transport.write(_TOO_LARGE)
            self.transport.close()
        self._refused = True

    def _handed_over(self) -> bool:
        """The connection is closing, or no longer this protocol's (a WebSocket upgrade)."""
        return self.transport.is_closing() or self.transport.get_protocol() is not self

    def _arm(self, seconds: float, late: Callable[[], None]) -> None:
        self._disarm()
        self._timer = self.loop.call_later(seconds, late)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _head_late(self) -> None:
        self._timer = None
        if self._handed_over():
            return
        if self._began and (self.cycle is None or self.cycle.response_complete):
            self.transport.write(_TIMED_OUT)
        log.info(
            "closed a connection from %s: no complete request head in %ss", _peer(self), self.head_s
        )
        self.transport.close()

    def _body_late(self) -> None:
        self._timer = None
        if self._handed_over():
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
        max_head_bytes = server.max_header_bytes

    return Configured
