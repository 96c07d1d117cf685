"""Reading a request's body no further than a limit: the gateway's API bodies and the dashboard's
forms. A declared ``Content-Length`` past the limit is refused before a byte is read; a body
without one (chunked) is refused as soon as it passes the limit. A client that hangs up before
its body is complete ends its request as one that hangs up before its answer does (``ClientGone``,
499): it was not the server's error, and there is no one to answer."""

from __future__ import annotations

from starlette.requests import ClientDisconnect, Request

from stellwerk.errors import ClientGone, PayloadTooLarge


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body of ``request``, or ``PayloadTooLarge`` past ``limit`` bytes (``ClientGone``
    when the client hangs up before sending all of it)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"request body of {declared} bytes is over the limit of {limit}")
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge(f"request body is over the limit of {limit} bytes")
            chunks.append(chunk)
    except ClientDisconnect:
        raise ClientGone("the client hung up while sending its request body") from None
    return b"".join(chunks)
