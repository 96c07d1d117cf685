"""One problem per union: the errors of the union's member that takes the value's JSON type.

pydantic tries every member of a plain union (``str | list[str]``) and, when none takes the
value, reports every member's errors, the member's name in their locations (``input.str``,
``input.list[str].1``): one problem told as two, the first at a place (``input``) that is not
where the problem is. ``one_member`` keeps, of each such union, the errors of the member that
takes the value's JSON type (a list: the list member's, ``input.1``; a string: the string
member's; an object: the object member's, ``tool_choice.function.name``). Where no member takes
it (``input: 5``), the union's errors become one: ``must be a string or a list``. A union whose
members' names say nothing of their JSON type is left as pydantic reported it, and so is a
tagged union (it tries one member).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

Path = tuple[int | str, ...]

_WRAPPED = re.compile(r"^function-(?:after|before|wrap)\[.*?\(\), (.*)\]$")
_NULLABLE = re.compile(r"^nullable\[(.*)\]$")
_CLASS = re.compile(r"^[A-Z]\w*$")  # a model, by its class name
_WORDS = {
    "string": "a string",
    "number": "a number",
    "boolean": "true or false",
    "null": "null",
    "list": "a list",
    "object": "a JSON object",
}


def one_member(errors: Sequence[Mapping[str, Any]], document: Any) -> list[dict[str, Any]]:
    """``errors`` (pydantic's, of the JSON ``document``) with each union told once (the
    outermost union first: a member left out takes the unions inside it along), each located
    in the document: the names of the union members pydantic tried, and the tags its tagged
    unions put in a location, left out. Each error's location is walked once, so a body of many
    such unions costs no more than its errors."""
    kept = [dict(e) for e in errors]
    placed = [places(tuple(e.get("loc", ())), document, e.get("type") == "missing") for e in kept]
    tried = [_members(tuple(e.get("loc", ())), p) for e, p in zip(kept, placed, strict=True)]
    unions: dict[Path, list[int]] = {}
    for i, members in enumerate(tried):
        for prefix in members:
            unions.setdefault(prefix, []).append(i)
    dropped: set[int] = set()
    merged: dict[int, dict[str, Any]] = {}  # an error's index -> the union's one error before it
    for prefix in sorted(unions, key=len):
        alive = [i for i in unions[prefix] if i not in dropped]
        names = list(dict.fromkeys(tried[i][prefix] for i in alive))
        kinds = {name: _kinds(name) for name in names}
        if len(names) < 2 or any(k is None for k in kinds.values()):
            continue
        value = _at(document, prefix)
        wanted = {n for n in names if _json_type(value) in (kinds[n] or ())}
        if not wanted:
            said = _alternatives([(tried[i][prefix], kept[i]) for i in alive])
            merged[alive[0]] = {
                "type": "union_type",
                "loc": _located(prefix, placed[alive[0]]),
                "msg": f"must be {said}",
                "input": value,
            }
        dropped.update(i for i in alive if tried[i][prefix] not in wanted)
    told: list[dict[str, Any]] = []
    for i, error in enumerate(kept):
        if i in merged:
            told.append(merged[i])
        if i not in dropped:
            told.append({**error, "loc": _located(tuple(error.get("loc", ())), placed[i])})
    return told


def _located(loc: Path, placed: Sequence[bool]) -> Path:
    """The parts of ``loc`` that are places in the document (``placed``, of a location that
    ``loc`` begins)."""
    return tuple(part for part, is_place in zip(loc, placed, strict=False) if is_place)


def _members(loc: Path, placed: Sequence[bool]) -> dict[Path, str]:
    """The unions an error at ``loc`` is in, by the part of its location before the member's
    name: the name of the member tried (a part of the location that is no place in the
    document, ``placed``; the last part of a ``missing`` error is the key that is not there)."""
    found: dict[Path, str] = {}
    for i, is_place in enumerate(placed):
        if not is_place:
            found.setdefault(loc[:i], str(loc[i]))
    return found


def places(loc: Path, document: Any, missing: bool) -> list[bool]:
    """For each part of an error's location ``loc``, whether it is a place in ``document`` (a
    key or index walked from its top), or the name of the member of a union pydantic tried
    (``stop.list[str].0``, a tagged union's tag: ``messages.0.user.content``). The last part of
    a ``missing`` error is a place: the field that is not there."""
    out: list[bool] = []
    node = document
    for i, part in enumerate(loc):
        inner = _step(node, part)
        if inner is _NOWHERE or _is_tag(node, part, inner, loc[i + 1 : i + 2]):
            out.append(missing and i == len(loc) - 1)
            continue
        node = inner
        out.append(True)
    return out


def _is_tag(node: Any, part: int | str, inner: Any, after: Path) -> bool:
    """Whether ``part``, a key of ``node`` (``inner`` its value), is a tagged union's tag all
    the same: a text part's tag is ``text``, one of its keys. It is one when the part ``after``
    it is a key of ``node`` and not of ``inner`` (``content.0.text.cache_control`` is the
    part's ``cache_control``, not its text's) and ``part`` is one of ``node``'s values (the
    tag is what the union read of the value: its ``type``, its ``role``)."""
    if not after or _step(node, after[0]) is _NOWHERE or _step(inner, after[0]) is not _NOWHERE:
        return False
    return isinstance(node, dict) and part in node.values()


#: what ``_step`` returns for a part that is no place in its node
_NOWHERE: Any = object()


def _step(node: Any, part: int | str) -> Any:
    """``node``'s value at ``part`` (a key, an index), ``_NOWHERE`` if it has none."""
    # two branches, not one `or`: mypy narrows ``part`` to an int for the list only so
    if isinstance(node, dict) and isinstance(part, str) and part in node:
        return node[part]
    if isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
        return node[part]
    return _NOWHERE


def _at(document: Any, loc: Path) -> Any:
    node = document
    for part in loc:
        inner = _step(node, part)
        node = node if inner is _NOWHERE else inner
    return node


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    return "object" if isinstance(value, dict) else "number"


def _kinds(member: str) -> frozenset[str] | None:
    """The JSON types the member pydantic names so takes, None if its name does not say."""
    wrapped = _WRAPPED.match(member) or _NULLABLE.match(member)
    if wrapped:
        inner = _kinds(wrapped.group(1))
        if inner is None:
            return None
        return inner | {"null"} if member.startswith("nullable") else inner
    simple = {"str": "string", "int": "number", "float": "number", "bool": "boolean"}
    if member in simple:
        return frozenset({simple[member]})
    if member == "none":
        return frozenset({"null"})
    if member.startswith(("list[", "tuple[", "set[", "frozenset[")):
        return frozenset({"list"})
    if member.startswith(("dict[", "typed-dict")) or _CLASS.match(member):
        return frozenset({"object"})
    if member.startswith("literal["):
        first = member[len("literal[") : len("literal[") + 1]
        if first in "'\"":
            return frozenset({"string"})
        return frozenset({"boolean" if first in "TF" else "null" if first == "N" else "number"})
    return None


def _alternatives(tried: Sequence[tuple[str, Mapping[str, Any]]]) -> str:
    """What the union's members take, in words: ``a string or a list``; a literal by its
    values (``'none', 'auto' or 'required', or a JSON object``)."""
    said: list[str] = []
    for member, error in tried:
        expected = (error.get("ctx") or {}).get("expected")
        if error.get("type") == "literal_error" and expected:
            words = str(expected)
        elif member == "int":
            words = "an integer"
        else:
            words = " or ".join(_WORDS[k] for k in sorted(_kinds(member) or ()))
        if words not in said:
            said.append(words)
    if "a number" in said and "an integer" in said:
        said.remove("an integer")
    if len(said) == 1:
        return said[0]
    joint = ", or " if any(" or " in s for s in said) else " or "
    return ", ".join(said[:-1]) + joint + said[-1]
