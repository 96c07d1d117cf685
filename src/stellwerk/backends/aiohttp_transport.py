"""The gateway's transport (``backends/transport.py``) on aiohttp's connection pool: a fraction of
httpx's CPU per request (``benchmarks/client_cost.py``, BENCHMARKS.md: httpcore's pool scans every
connection for each request, and httpx's request and response objects cost about 0.2 ms more).

aiohttp's exceptions become Stellwerk errors through one table:

aiohttp.ConnectionTimeoutError            -> BackendUnavailable (no connection in time)
aiohttp.ServerTimeoutError (socket read)  -> BackendTimeout
aiohttp.ClientConnectorError              -> BackendUnavailable
aiohttp.ServerDisconnectedError,
  ClientPayloadError, ClientResponseError,
  ClientOSError (a reset)                 -> ConnectionLost
any other aiohttp.ClientError             -> BackendFailed
ValueError while sending (aiohttp refuses
  to build the request: a header it cannot
  send, credentials both in the URL and in
  an Authorization header)                -> BackendFailed, "request could not be sent"

The last row is for the sending calls only (``post``, ``open_stream``, ``get``): a request the
library cannot build is this backend's failure (a 502 naming it, a failed health probe), never an
error of the gateway's own (a 500).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import contextmanager

import aiohttp

from stellwerk.backends.lines import LineSplitter
from stellwerk.backends.transport import FailureTable, Timeouts, translate
from stellwerk.errors import BackendFailed, BackendTimeout, BackendUnavailable, ConnectionLost

_FAILURES: FailureTable = (
    (aiohttp.ConnectionTimeoutError, BackendUnavailable, "cannot connect"),
    (aiohttp.ServerTimeoutError, BackendTimeout, "no answer in time"),
    (aiohttp.ClientConnectorError, BackendUnavailable, "cannot connect"),
    (aiohttp.ServerDisconnectedError, ConnectionLost, "transport error"),
    (aiohttp.ClientPayloadError, ConnectionLost, "transport error"),
    (aiohttp.ClientResponseError, ConnectionLost, "transport error"),
    (aiohttp.ClientOSError, ConnectionLost, "transport error"),
    (aiohttp.ClientError, BackendFailed, "transport error"),
)


_UNSENDABLE: FailureTable = ((ValueError, BackendFailed, "request could not be sent"),)


@contextmanager
def _mapped(backend: str) -> Iterator[None]:
    try:
        yield
    except aiohttp.ClientError as exc:
        raise translate(backend, exc, _FAILURES) from exc


@contextmanager
def _sending(backend: str) -> Iterator[None]:
    """``_mapped``, and a request aiohttp refuses to build (a ``ValueError``) a failure too."""
    try:
        with _mapped(backend):
            yield
    except ValueError as exc:
        raise translate(backend, exc, _UNSENDABLE) from exc


class AiohttpTransport:
    """HTTP/1.1 over one ``aiohttp.ClientSession``, created on first use (it needs the loop).

    ``max_connections``: at most this many open at once (0: no limit); an idle one is closed
    after ``keepalive_s``."""

    def __init__(self, *, max_connections: int, keepalive_s: float) -> None:
        self._max_connections = max_connections
        self._keepalive_s = keepalive_s
        self._session: aiohttp.ClientSession | None = None
        self._timeouts: dict[Timeouts, aiohttp.ClientTimeout] = {}

    def _timeout(self, timeout: Timeouts) -> aiohttp.ClientTimeout:
        found = self._timeouts.get(timeout)
        if found is None:
            found = self._timeouts[timeout] = aiohttp.ClientTimeout(
                total=None,
                connect=timeout.connect,
                sock_connect=timeout.connect,
                sock_read=timeout.read,
            )
        return found

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = aiohttp.TCPConnector(
                limit=self._max_connections, limit_per_host=0, keepalive_timeout=self._keepalive_s
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                auto_decompress=False,  # every request says accept-encoding: identity
                trust_env=False,
                skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding"),
            )
        return self._session

    async def post(
        self, backend: str, url: str, content: bytes, headers: Mapping[str, str], timeout: Timeouts
    ) -> tuple[int, bytes]:
        with _sending(backend):
            async with self._get_session().post(
                url,
                data=content,
                headers={**headers, "accept-encoding": "identity"},
                allow_redirects=False,
                timeout=self._timeout(timeout),
            ) as response:
                return response.status, await response.read()

    async def open_stream(
        self, backend: str, url: str, content: bytes, headers: Mapping[str, str], timeout: Timeouts
    ) -> AiohttpStreamed:
        with _sending(backend):
            response = await self._get_session().post(
                url,
                data=content,
                headers={**headers, "accept-encoding": "identity"},
                allow_redirects=False,
                timeout=self._timeout(timeout),
            )
        return AiohttpStreamed(backend, response)

    async def get(
        self, backend: str, url: str, headers: Mapping[str, str], timeout: Timeouts
    ) -> tuple[int, bytes]:
        with _sending(backend):
            async with self._get_session().get(
                url,
                headers={**headers, "accept-encoding": "identity"},
                allow_redirects=False,
                timeout=self._timeout(timeout),
            ) as response:
                return response.status, await response.read()

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class AiohttpStreamed:
    """An answer whose body is read as it arrives: ``lines()`` or, for errors, ``read()``."""

    def __init__(self, backend: str, response: aiohttp.ClientResponse) -> None:
        self.status = response.status
        self._backend = backend
        self._response = response

    async def read(self) -> bytes:
        with _mapped(self._backend):
            return await self._response.read()

    async def lines(self) -> AsyncIterator[str]:
        """UTF-8 lines cut at CR, LF or CRLF only (``backends/lines.py``)."""
        splitter = LineSplitter()
        with _mapped(self._backend):
            async for chunk in self._response.content.iter_any():
                for line in splitter.feed(chunk):
                    yield line
        for line in splitter.end():
            yield line

    async def aclose(self) -> None:
        # Back to the pool when the body was read to the end, else the connection is closed.
        self._response.release()
