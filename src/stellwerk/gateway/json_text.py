"""What Python's JSON parser finds in a request body's text that pydantic's parser does not
tell, each named by its place in the body (``metadata.a``, ``messages.1.content``: the
notation of every error's ``param``).

``read`` parses a body as Python does and names its first problem, in this order:

1. a JSON object that names a key twice (``{"model": "a", "model": "b"}``): parsers differ on
   which one wins (pydantic and the backends' take the last, others the first), so the model a
   policy checked might not be the one a backend reads (``code: duplicate_key``; the ``param``
   is the key's place, ``metadata.a``);
2. an integer outside the 64-bit range, or too long for Python to convert (past 4,300
   digits): no parameter takes one, and the JSON encoders on the way to a backend cannot write
   one (``code: integer_out_of_range``);
3. ``NaN``, ``Infinity``, ``-Infinity``, or a number past a double's range (``1e999``: read as
   infinity, it would reach a backend as ``null``): not JSON, and a backend cannot read them.

The parser's hooks only note that a body has one of them; the body is walked for its place
only then (so a body without one costs no walk), and walked without recursion (so a deep one
cannot exhaust Python's stack). What ``read`` returns is then looked at for a string with a
lone surrogate (``not_unicode``: pydantic's parser refuses one, Python's takes it) and for
nesting deeper than ``MAX_DEPTH`` (``deeper``). Each part of a place is cut to ``SHOWN_CHARS``
(a key can be as long as the body).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

from stellwerk.config.plain_text import character_name, lone_surrogate
from stellwerk.errors import SHOWN_CHARS, InvalidRequest, shown

Path = tuple[int | str, ...]  # a place in a JSON document: keys and list indexes

#: how deep a body may nest: containers inside its top-level value (pydantic's parser, jiter,
#: refuses deeper; no parameter nests anywhere near it)
MAX_DEPTH = 200
_INT64 = range(-(2**63), 2**63)


def part(name: str) -> str:
    """One part of a place, cut to ``SHOWN_CHARS``."""
    return name if len(name) <= SHOWN_CHARS else f"{name[:SHOWN_CHARS]}..."


def place(path: Path) -> str:
    """Where ``path`` is in the body, its parts joined by dots (``messages.1.content``)."""
    return ".".join(part(str(p)) for p in path)


class LongInteger:
    """An integer of the body too long for Python to convert (over 4,300 digits by default),
    by its number of digits: valid JSON, but no parameter's."""

    def __init__(self, digits: int) -> None:
        self.digits = digits


def integer(text: str) -> int | LongInteger:
    """``parse_int`` for Python's parser: the integer, or a ``LongInteger`` for one too long."""
    try:
        return int(text)
    except ValueError:  # "Exceeds the limit (4300 digits) for integer string conversion"
        return LongInteger(len(text.lstrip("-")))


class _Twice(dict[str, Any]):
    """A JSON object that names ``key`` twice (its last value kept, as pydantic keeps it)."""

    def __init__(self, pairs: dict[str, Any], key: str) -> None:
        super().__init__(pairs)
        self.key = key


class _Noted:
    """What the parser's hooks saw while ``read`` parsed a body."""

    def __init__(self) -> None:
        self.twice = False
        self.wide = False  # an integer past 64 bits (or too long to convert)
        self.odd: list[str] = []  # why each non-finite number is none, in the body's order


def read(body: bytes) -> tuple[Any, InvalidRequest | None]:
    """``body`` as Python's parser reads it (which keeps a lone surrogate), and the error of
    its first problem (module docstring), if it has one. ``InvalidRequest`` if Python's parser
    cannot read it."""
    noted = _Noted()

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        obj = dict(items)
        if len(obj) == len(items):
            return obj
        noted.twice = True
        seen: set[str] = set()
        for key, _ in items:
            if key in seen:
                return _Twice(obj, key)
            seen.add(key)
        raise AssertionError("a shorter dict has a repeated key")

    def whole(text: str) -> int | LongInteger:
        value = integer(text)
        noted.wide = noted.wide or not isinstance(value, int) or value not in _INT64
        return value

    def constant(name: str) -> float:
        noted.odd.append(
            f"{name} is not a finite number (NaN and Infinity are not JSON; a backend cannot"
            " read them)"
        )
        return float(name)

    def number(text: str) -> float:
        value = float(text)
        if not math.isfinite(value):  # 1e999: past a double's range, read as infinity
            noted.odd.append(
                f"{part(text)} is not a finite number (past the range of a double, ±1.8e308:"
                " a backend would read it as infinity, or null)"
            )
        return value

    try:
        parsed = json.loads(
            body,
            object_pairs_hook=pairs,
            parse_constant=constant,
            parse_float=number,
            parse_int=whole,
        )
    except (ValueError, RecursionError) as exc:  # what pydantic took, but Python's parser not
        raise InvalidRequest(f"request body is not valid JSON: {exc}") from exc
    return parsed, _problem(parsed, noted)


def _problem(parsed: Any, noted: _Noted) -> InvalidRequest | None:
    if noted.twice:
        found = first(parsed, (), _repeated)
        if found is not None:
            return _named_twice(*found)
    if noted.wide:
        wide = out_of_range(parsed)
        if wide is not None:
            return wide
    if noted.odd:
        found = first(parsed, (), _not_finite)
        where = place(found[0]) if found is not None else ""
        return InvalidRequest(f"{where or 'request body'}: {noted.odd[0]}", param=where or None)
    return None


def _repeated(value: Any) -> str | None:
    return value.key if isinstance(value, _Twice) else None


def _named_twice(at: Path, key: str) -> InvalidRequest:
    where = place(at)
    return InvalidRequest(
        f"request body has the key {shown(key)} twice in"
        f" {'the object at ' + where if where else 'one object'}; send it once",
        param=place((*at, key)),
        code="duplicate_key",
    )


def out_of_range(parsed: Any) -> InvalidRequest | None:
    """The error of the first integer of ``parsed`` past 64 bits (or too long to convert),
    naming its place, else None."""
    found = first(parsed, (), _wide)
    if found is None:
        return None
    where = place(found[0])
    return InvalidRequest(
        f"{where or 'request body'}: {found[1]}",
        param=where or None,
        code="integer_out_of_range",
    )


def _wide(value: Any) -> str | None:
    if isinstance(value, LongInteger):
        return (
            f"an integer of {value.digits} digits is too long: every parameter is within the"
            " 64-bit range"
        )
    if isinstance(value, int) and not isinstance(value, bool) and value not in _INT64:
        return (
            f"an integer of {len(str(abs(value)))} digits is outside the 64-bit range that"
            " every parameter is within"
        )
    return None


def _not_finite(value: Any) -> str | None:
    return "not finite" if isinstance(value, float) and not math.isfinite(value) else None


def too_deep(*, near: str | None = None, param: str | None = None) -> InvalidRequest:
    return InvalidRequest(
        f"request body is nested deeper than {MAX_DEPTH} levels"
        f"{' at ' + near if near else ''}; no parameter nests so deep",
        param=param,
    )


def deeper(value: Any) -> bool:
    """Whether the parsed JSON ``value`` nests deeper than ``MAX_DEPTH`` levels (walked level
    by level)."""
    layer = [value]
    for _ in range(MAX_DEPTH + 1):
        layer = [
            child
            for item in layer
            if isinstance(item, dict | list)
            for child in (item.values() if isinstance(item, dict) else item)
        ]
        if not layer:
            return False
    return any(isinstance(item, dict | list) for item in layer)


def not_unicode(parsed: Any, *, near: str | None = None) -> InvalidRequest | None:
    """The error of the first string of ``parsed`` (a key's: the place of its object) with a
    lone surrogate, else None."""
    found = first(parsed, (), _surrogate_in)
    if found is None:
        return None
    where = place(found[0])
    return InvalidRequest(
        f"{where or 'request body'}: not valid Unicode: {found[1]}"
        f"{' near ' + near if near else ''}; a character outside the Basic Multilingual"
        " Plane is escaped as a pair (\\ud83d\\ude00), or sent as UTF-8",
        param=where or None,
        code="invalid_unicode",
    )


def _surrogate_in(value: Any) -> str | None:
    return lone_surrogate(value) if isinstance(value, str) else None


def with_nul(parsed: Any) -> InvalidRequest | None:
    """The error of the first string of ``parsed`` (a key's: the place of its object) with a
    NUL character (U+0000), else None: the admin API keeps or looks up what its body names in
    the ledger, whose text cannot hold one on PostgreSQL (a 500 there, where SQLite stored or
    found nothing). Said as a text with a control character is (``config.plain_text``)."""
    found = first(parsed, (), _nul_in)
    if found is None:
        return None
    where = place(found[0])
    return InvalidRequest(
        f"{where or 'request body'}: {found[1]}; write it on one line of plain text",
        param=where or None,
    )


def _nul_in(value: Any) -> str | None:
    if isinstance(value, str) and "\x00" in value:
        return f"contains {NUL}"
    return None


NUL = f"the control character {character_name(chr(0))}"


def first(value: Any, path: Path, problem: Callable[[Any], str | None]) -> tuple[Path, str] | None:
    """The path to the first value (or key: the path to its object, the problem said to be in
    a key) of the parsed JSON ``value``, in the body's order, that ``problem`` finds fault
    with, and the fault; None if none."""
    stack: list[tuple[Path, Any]] = [(path, value)]
    while stack:
        at, item = stack.pop()
        found = problem(item)
        if found is not None:
            return at, found
        inside: list[tuple[Path, Any]] = []
        if isinstance(item, dict):
            for key in item:
                in_key = problem(key)
                if in_key is not None:
                    return at, f"{in_key} in a key"
            inside = [((*at, key), child) for key, child in item.items()]
        elif isinstance(item, list):
            inside = [((*at, index), child) for index, child in enumerate(item)]
        stack.extend(reversed(inside))
    return None
