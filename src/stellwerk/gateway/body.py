"""Reading and validating request bodies: size limit first, then pydantic from the raw bytes."""

from __future__ import annotations

from typing import TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError

from stellwerk.errors import InvalidRequest, PayloadTooLarge

M = TypeVar("M", bound=BaseModel)


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"request body of {declared} bytes is over the limit of {limit}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"request body is over the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def parse(model: type[M], body: bytes) -> M:
    """Validate JSON bytes; the error names the first offending field."""
    if not body.strip():
        raise InvalidRequest("request body is empty; send a JSON object")
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        first = errors[0]
        if first["type"] == "json_invalid":
            raise InvalidRequest(f"request body is not valid JSON: {first['msg']}") from exc
        if first["type"] == "model_type":
            raise InvalidRequest("request body must be a JSON object") from exc
        where = ".".join(str(p) for p in first["loc"])
        more = f" (and {len(errors) - 1} more problems)" if len(errors) > 1 else ""
        raise InvalidRequest(f"{where}: {first['msg']}{more}", param=where or None) from exc
