"""The transport (``backends/transport.py``) over an ``httpx.AsyncClient``: for code that already
holds one (``router train``'s embedding calls) and for a client with a transport of its own.

httpx's exceptions become Stellwerk errors through one table:

httpx.ConnectError, ConnectTimeout, PoolTimeout -> BackendUnavailable
any other httpx.TimeoutException                -> BackendTimeout
httpx.RemoteProtocolError, ReadError (a reset)  -> ConnectionLost
any other httpx.TransportError                  -> BackendFailed
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import contextmanager

import httpx

from stellwerk.backends.lines import LineSplitter
from stellwerk.backends.transport import FailureTable, Timeouts, translate
from stellwerk.errors import BackendFailed, BackendTimeout, BackendUnavailable, ConnectionLost

_FAILURES: FailureTable = (
    (httpx.ConnectError, BackendUnavailable, "cannot connect"),
    (httpx.ConnectTimeout, BackendUnavailable, "cannot connect"),
    (httpx.PoolTimeout, BackendUnavailable, "cannot connect"),
    (httpx.TimeoutException, BackendTimeout, "no answer in time"),
    (httpx.RemoteProtocolError, ConnectionLost, "transport error"),
    (httpx.ReadError, ConnectionLost, "transport error"),
    (httpx.TransportError, BackendFailed, "transport error"),
)


@contextmanager
def _mapped(backend: str) -> Iterator[None]:
    try:
        yield
    except httpx.TransportError as exc:
        raise translate(backend, exc, _FAILURES) from exc


def _timeout(timeout: Timeouts) -> httpx.Timeout:
    return httpx.Timeout(
        connect=timeout.connect, read=timeout.read, write=timeout.connect, pool=timeout.connect
    )


class HttpxTransport:
    """Requests through ``client``'s own request and response objects; closing the transport
    closes the client."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def post(
        self, backend: str, url: str, content: bytes, headers: Mapping[str, str], timeout: Timeouts
    ) -> tuple[int, bytes]:
        with _mapped(backend):
            response = await self._client.post(
                url, content=content, headers=headers, timeout=_timeout(timeout)
            )
        return response.status_code, response.content

    async def open_stream(
        self, backend: str, url: str, content: bytes, headers: Mapping[str, str], timeout: Timeouts
    ) -> HttpxStreamed:
        request = self._client.build_request(
            "POST", url, content=content, headers=headers, timeout=_timeout(timeout)
        )
        with _mapped(backend):
            response = await self._client.send(request, stream=True)
        return HttpxStreamed(backend, response)

    async def get(
        self, backend: str, url: str, headers: Mapping[str, str], timeout: Timeouts
    ) -> tuple[int, bytes]:
        with _mapped(backend):
            response = await self._client.get(url, headers=headers, timeout=_timeout(timeout))
        return response.status_code, response.content

    async def aclose(self) -> None:
        await self._client.aclose()


class HttpxStreamed:
    """An answer whose body is read as it arrives: ``lines()`` or, for errors, ``read()``."""

    def __init__(self, backend: str, response: httpx.Response) -> None:
        self.status = response.status_code
        self._backend = backend
        self._response = response

    async def read(self) -> bytes:
        with _mapped(self._backend):
            return await self._response.aread()

    async def lines(self) -> AsyncIterator[str]:
        """UTF-8 lines cut at CR, LF or CRLF only (``backends/lines.py``), as the gateway's
        transport cuts them; httpx's ``aiter_lines`` would also cut at U+2028."""
        splitter = LineSplitter()
        with _mapped(self._backend):
            async for chunk in self._response.aiter_bytes():
                for line in splitter.feed(chunk):
                    yield line
        for line in splitter.end():
            yield line

    async def aclose(self) -> None:
        await self._response.aclose()
