"""Reading and validating request bodies: size limit first, then pydantic from the raw bytes.

A JSON object that names a key twice is refused (``{"model": "a", "model": "b"}``): parsers
differ on which one wins (pydantic and the backends' take the last, others the first), so the
model a policy checked might not be the one a backend reads. An integer outside the 64-bit range
is refused too: no parameter takes one, and the JSON encoders on the way to a backend cannot
write one. Where an error names a part of the body, each part of the name is cut to
``SHOWN_CHARS`` (a dictionary key can be as long as the body).
"""

from __future__ import annotations

import json
import re
from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError

from stellwerk.errors import SHOWN_CHARS, InvalidRequest, shown

M = TypeVar("M", bound=BaseModel)

# how pydantic names the member of a union in an error's location
_UNION_MEMBER = re.compile(
    r"^(?:str|int|float|bool|none|(?:list|dict|literal|function-\w+)\[.*\])$"
)


def parse(model: type[M], body: bytes) -> M:
    """Validate JSON bytes; the error names the first offending field."""
    if not body.strip():
        raise InvalidRequest("request body is empty; send a JSON object")
    try:
        parsed = model.model_validate_json(body)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        first = errors[0]
        if first["type"] == "json_invalid":
            raise InvalidRequest(f"request body is not valid JSON: {first['msg']}") from exc
        where = location(first["loc"])
        if first["type"] == "model_type":  # an object was expected: the body, or a field
            what = f"{where} must be" if where else "request body must be"
            raise InvalidRequest(f"{what} a JSON object", param=where or None) from exc
        more = f" (and {len(errors) - 1} more problems)" if len(errors) > 1 else ""
        raise InvalidRequest(f"{where}: {first['msg']}{more}", param=where or None) from exc
    reject_duplicate_keys(body)
    return parsed


def location(loc: tuple[int | str, ...]) -> str:
    """Where in the body an error is (``messages.0.content``), each part cut to a sane length;
    the member of a union pydantic tried (``stop.list[str].0``) is left out."""
    return ".".join(_part(str(p)) for p in loc if not _UNION_MEMBER.match(str(p)))


def _part(name: str) -> str:
    return name if len(name) <= SHOWN_CHARS else f"{name[:SHOWN_CHARS]}..."


def reject_duplicate_keys(body: bytes) -> None:
    """Raise ``InvalidRequest`` naming the first key that a JSON object of ``body`` (valid JSON)
    has twice, or an integer no 64-bit field holds."""
    try:
        json.loads(body, object_pairs_hook=_unique)
    except (ValueError, RecursionError) as exc:  # what pydantic took, but Python's parser not
        raise InvalidRequest(f"request body is not valid JSON: {exc}") from exc


async def unique_keys(request: Request) -> None:
    """For endpoints whose body FastAPI parses (the admin API): refuse a JSON body that names
    a key twice, as ``parse`` does."""
    body = await request.body()
    if body.strip():
        reject_duplicate_keys(body)


def _past_64_bits(value: Any) -> int | None:
    """The first integer past the 64-bit range in ``value`` or the lists in it (the objects in
    it were checked by their own hook), else None."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value if not -(2**63) <= value < 2**63 else None
    if isinstance(value, list):
        for item in value:
            found = _past_64_bits(item)
            if found is not None:
                return found
    return None


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise InvalidRequest(
                    f"request body has the key {shown(key)} twice in one object; send it once",
                    param=_part(key),
                    code="duplicate_key",
                )
            seen.add(key)
    for key, value in pairs:
        big = _past_64_bits(value)
        if big is not None:
            digits = len(str(abs(big)))
            raise InvalidRequest(
                f"{shown(key)}: an integer of {digits} digits is outside the 64-bit range that "
                "every parameter is within",
                param=_part(key),
                code="integer_out_of_range",
            )
    return obj
