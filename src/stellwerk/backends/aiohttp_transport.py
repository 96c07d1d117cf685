"""An httpx transport on aiohttp's connection pool: the backends keep httpx's API, the bytes move
through aiohttp, which costs a fraction of httpcore's CPU per request (benchmarks/, BENCHMARKS.md:
about 0.4 against 0.7 ms per request alone, 0.4 against 1.5 ms at 50 concurrent requests, where
httpcore's pool scans every connection for each request).

aiohttp's exceptions become the httpx exceptions httpcore would raise for the same failure, so
``backends/transport.py`` keeps translating them in one place:

aiohttp.ConnectionTimeoutError           -> httpx.ConnectTimeout
aiohttp.SocketTimeoutError, other
  ServerTimeoutError                     -> httpx.ReadTimeout
aiohttp.ClientConnectorError             -> httpx.ConnectError
aiohttp.ServerDisconnectedError,
  ClientPayloadError, ClientResponseError -> httpx.RemoteProtocolError
aiohttp.ClientOSError                    -> httpx.ReadError
aiohttp.InvalidURL                       -> httpx.UnsupportedProtocol
any other aiohttp.ClientError            -> httpx.TransportError
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import aiohttp
import httpx
from multidict import CIMultiDict

from stellwerk.backends.lines import LineSplitter

_MAPPING: tuple[tuple[type[Exception], type[httpx.TransportError]], ...] = (
    (aiohttp.ConnectionTimeoutError, httpx.ConnectTimeout),
    (aiohttp.ServerTimeoutError, httpx.ReadTimeout),
    (aiohttp.ClientConnectorError, httpx.ConnectError),
    (aiohttp.ServerDisconnectedError, httpx.RemoteProtocolError),
    (aiohttp.ClientPayloadError, httpx.RemoteProtocolError),
    (aiohttp.ClientResponseError, httpx.RemoteProtocolError),
    (aiohttp.ClientOSError, httpx.ReadError),
    (aiohttp.InvalidURL, httpx.UnsupportedProtocol),
    (aiohttp.ClientError, httpx.TransportError),
)


@contextmanager
def _mapped(request: httpx.Request | None) -> Iterator[None]:
    try:
        yield
    except aiohttp.ClientError as exc:
        for source, target in _MAPPING:
            if isinstance(exc, source):
                raise target(str(exc) or type(exc).__name__, request=request) from exc
        raise  # unreachable: the last entry catches every ClientError


class _ResponseStream(httpx.AsyncByteStream):
    def __init__(self, response: aiohttp.ClientResponse, request: httpx.Request) -> None:
        self._response = response
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _mapped(self._request):
            async for chunk in self._response.content.iter_any():
                yield chunk

    async def aclose(self) -> None:
        # Back to the pool when the body was read to the end, else the connection is closed.
        self._response.release()


class AiohttpTransport(httpx.AsyncBaseTransport):
    """HTTP/1.1 over one ``aiohttp.ClientSession``, created on first use (it needs the loop)."""

    def __init__(self, limits: httpx.Limits) -> None:
        self._limits = limits
        self._session: aiohttp.ClientSession | None = None
        self._timeouts: dict[tuple[float | None, ...], aiohttp.ClientTimeout] = {}

    def _timeout(self, connect: float | None, read: float | None, pool: float | None) -> Any:
        key = (connect, read, pool)
        found = self._timeouts.get(key)
        if found is None:
            found = self._timeouts[key] = aiohttp.ClientTimeout(
                total=None, connect=pool, sock_connect=connect, sock_read=read
            )
        return found

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = aiohttp.TCPConnector(
                limit=self._limits.max_connections or 0,
                limit_per_host=0,
                keepalive_timeout=self._limits.keepalive_expiry or 15.0,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                auto_decompress=False,  # httpx decodes content-encoding itself
                trust_env=False,
                skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding"),
            )
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeout = request.extensions.get("timeout", {})
        client_timeout = self._timeout(
            timeout.get("connect"), timeout.get("read"), timeout.get("pool")
        )
        body = await request.aread()
        with _mapped(request):
            response = await self._get_session().request(
                request.method,
                str(request.url),
                headers=CIMultiDict(request.headers.multi_items()),
                data=body or None,
                allow_redirects=False,
                timeout=client_timeout,
            )
        extensions = {"http_version": b"HTTP/1.1"}
        if response.reason:
            extensions["reason_phrase"] = response.reason.encode("latin-1", "replace")
        return httpx.Response(
            status_code=response.status,
            headers=list(response.raw_headers),
            stream=_ResponseStream(response, request),
            request=request,
            extensions=extensions,
        )

    async def post_bytes(
        self, url: str, content: bytes, headers: Mapping[str, str], timeout: httpx.Timeout
    ) -> tuple[int, bytes]:
        """POST and read the whole answer, without httpx's request and response objects."""
        client_timeout = self._timeout(timeout.connect, timeout.read, timeout.pool)
        with _mapped(None):
            async with self._get_session().post(
                url,
                data=content,
                headers={**headers, "accept-encoding": "identity"},
                allow_redirects=False,
                timeout=client_timeout,
            ) as response:
                return response.status, await response.read()

    async def post_streamed(
        self, url: str, content: bytes, headers: Mapping[str, str], timeout: httpx.Timeout
    ) -> StreamedAnswer:
        """POST and return once the status line and headers are in; the caller closes it."""
        client_timeout = self._timeout(timeout.connect, timeout.read, timeout.pool)
        with _mapped(None):
            response = await self._get_session().post(
                url,
                data=content,
                headers={**headers, "accept-encoding": "identity"},
                allow_redirects=False,
                timeout=client_timeout,
            )
        return StreamedAnswer(response)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class StreamedAnswer:
    """An answer whose body is read as it arrives: ``lines()`` or, for errors, ``read()``."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self.status = response.status
        self._response = response

    async def read(self) -> bytes:
        with _mapped(None):
            return await self._response.read()

    async def lines(self) -> AsyncIterator[str]:
        """UTF-8 lines cut at CR, LF or CRLF only (``backends/lines.py``)."""
        splitter = LineSplitter()
        with _mapped(None):
            async for chunk in self._response.content.iter_any():
                for line in splitter.feed(chunk):
                    yield line
        for line in splitter.end():
            yield line

    async def aclose(self) -> None:
        # Back to the pool when the body was read to the end, else the connection is closed.
        self._response.release()


class AiohttpClient(httpx.AsyncClient):
    """The gateway's one ``httpx.AsyncClient``, on the aiohttp transport, with two direct paths
    that ``backends/transport.py`` takes for its POSTs (whole answers and streams): straight
    through aiohttp, about 0.2 ms of CPU less per request than through httpx's objects
    (BENCHMARKS.md). Everything else (probes, tokenize calls, plugins) uses the httpx API."""

    def __init__(self, limits: httpx.Limits) -> None:
        self._aiohttp = AiohttpTransport(limits)
        super().__init__(transport=self._aiohttp, trust_env=False, follow_redirects=False)

    async def post_bytes(
        self, url: str, content: bytes, headers: Mapping[str, str], timeout: httpx.Timeout
    ) -> tuple[int, bytes]:
        """Status and body of one POST; failures raise the httpx exceptions httpx would."""
        return await self._aiohttp.post_bytes(url, content, headers, timeout)

    async def post_streamed(
        self, url: str, content: bytes, headers: Mapping[str, str], timeout: httpx.Timeout
    ) -> StreamedAnswer:
        """A POST whose answer is read line by line (SSE, NDJSON); close it when done."""
        return await self._aiohttp.post_streamed(url, content, headers, timeout)
