"""Whether every ``$ref`` of a JSON schema points at a part of it, and none leads back to itself.

llama.cpp's grammar builders resolve a ``$ref`` inside the schema (``#/$defs/node``) by writing
the part it points at into the grammar. A reference cycle (``A -> B -> A``, ``$ref: "#"``, every
pydantic model that holds itself) killed llama-cpp-python's server (a segfault) or had the whole
schema dropped silently; a reference to a part that is not there was dropped silently (the answer
held to nothing). So both are refused, naming the ``$ref``: recursive schemas are not supported
by the model servers. References are JSON pointers into the schema (``#``, ``#/$defs/a``, with
``~0``, ``~1`` and percent escapes); others (``#name``, an ``$anchor``) are not resolved by the
servers and are refused as pointing at nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import unquote

from stellwerk.backends.schema_keywords import ITEMS, NAMED, ONE, SOME
from stellwerk.errors import shown

_MISSING = object()


def ref_problem(schema: object, at: str = "") -> tuple[str, str] | None:
    """The place (after ``at``) and the reason of the first ``$ref`` in ``schema`` that points at
    nothing or leads back to itself, or ``None``."""
    refs = list(_refs(schema, at))
    for place, ref in refs:
        if _target(schema, ref) is _MISSING:
            return place, f"{shown(ref)} points at no part of the schema"
    acyclic: set[str] = set()
    for place, ref in refs:
        if _cycles(schema, ref, acyclic):
            return place, (
                f"{shown(ref)} leads into a reference cycle (a recursive schema); recursive"
                " schemas are not supported by the model servers"
            )
    return None


def _cycles(schema: object, start: str, acyclic: set[str]) -> bool:
    """Whether following ``start``'s references comes back to one on the way (``acyclic``: the
    references known not to; a walk without recursion, as a chain of them can be long)."""
    if start in acyclic:
        return False
    path = [start]
    stack = [iter(_next(schema, start))]
    while stack:
        ref = next(stack[-1], None)
        if ref is None:
            stack.pop()
            acyclic.add(path.pop())
        elif ref in path:
            return True
        elif ref not in acyclic:
            path.append(ref)
            stack.append(iter(_next(schema, ref)))
    return False


def _next(schema: object, ref: str) -> list[str]:
    """The references in the part ``ref`` points at."""
    return [inner for _, inner in _refs(_target(schema, ref), "")]


def _refs(schema: object, at: str) -> Iterator[tuple[str, str]]:
    """Each ``$ref`` in ``schema`` (a string) with its place, at every depth."""
    if not isinstance(schema, dict):
        return
    for key, value in schema.items():
        place = _join(at, key)
        if key == "$ref" and isinstance(value, str):
            yield place, value
        elif key in NAMED and isinstance(value, dict):
            for name, inner in value.items():
                yield from _refs(inner, _join(place, name))
        elif (key in SOME or key == ITEMS) and isinstance(value, list):
            for index, inner in enumerate(value):
                yield from _refs(inner, f"{place}.{index}")
        elif key in ONE or key == ITEMS:
            yield from _refs(value, place)


def _target(schema: object, ref: str) -> object:
    """The part of ``schema`` the pointer ``ref`` names, or ``_MISSING``."""
    if ref == "#":
        return schema
    if not ref.startswith("#/"):
        return _MISSING
    found = schema
    for step in ref[2:].split("/"):
        name = unquote(step).replace("~1", "/").replace("~0", "~")
        if isinstance(found, dict) and name in found:
            found = found[name]
        elif isinstance(found, list) and name.isdigit() and int(name) < len(found):
            found = found[int(name)]
        else:
            return _MISSING
    return found


def _join(at: str, key: str) -> str:
    """As ``stellwerk.gateway.schema_shape`` names a place (a long or odd name quoted)."""
    name = key if len(key) <= 40 and key.isprintable() else shown(key)
    return f"{at}.{name}" if at else name
