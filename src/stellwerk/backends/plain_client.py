"""``AiohttpClient``'s two direct calls, ``post_bytes`` and ``post_streamed``, over any other
``httpx.AsyncClient``.

A backend may be handed a plain httpx client (``router train``'s embedding calls, a third
party's code, a test with its own transport); ``backends/transport.py`` serves it with the same
code as the gateway's client through this adapter. Failures are httpx's own exceptions, the ones
the direct path raises too; lines are cut by the same ``LineSplitter``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping

import httpx

from stellwerk.backends.lines import LineSplitter


class PlainAnswer:
    """An answer whose body is read as it arrives: ``lines()`` or, for errors, ``read()``."""

    def __init__(self, response: httpx.Response) -> None:
        self.status = response.status_code
        self._response = response

    async def read(self) -> bytes:
        return await self._response.aread()

    async def lines(self) -> AsyncIterator[str]:
        splitter = LineSplitter()
        async for chunk in self._response.aiter_bytes():
            for line in splitter.feed(chunk):
                yield line
        for line in splitter.end():
            yield line

    async def aclose(self) -> None:
        await self._response.aclose()


class PlainPoster:
    """The direct calls through httpx's own request and response objects."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def post_bytes(
        self, url: str, content: bytes, headers: Mapping[str, str], timeout: httpx.Timeout
    ) -> tuple[int, bytes]:
        response = await self._client.post(url, content=content, headers=headers, timeout=timeout)
        return response.status_code, response.content

    async def post_streamed(
        self, url: str, content: bytes, headers: Mapping[str, str], timeout: httpx.Timeout
    ) -> PlainAnswer:
        request = self._client.build_request(
            "POST", url, content=content, headers=headers, timeout=timeout
        )
        return PlainAnswer(await self._client.send(request, stream=True))
