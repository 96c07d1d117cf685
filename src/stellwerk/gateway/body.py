"""Reading and validating request bodies: size limit first, then pydantic from the raw bytes.

A JSON object that names a key twice is refused (``{"model": "a", "model": "b"}``): parsers
differ on which one wins (pydantic and the backends' take the last, others the first), so the
model a policy checked might not be the one a backend reads. An integer outside the 64-bit range
is refused too: no parameter takes one, and the JSON encoders on the way to a backend cannot
write one. ``NaN``, ``Infinity`` and ``-Infinity`` are refused wherever they are, unknown
parameters included (they are not JSON: a backend's parser refuses them, and JSON encoders write
``null`` or fail), and so is a number past a double's range (``1e999``: read as infinity, it
would reach a backend as ``null``), and so is a string with a lone surrogate (``"\ud800"``: no
UTF-8 can carry it), each by the parameter it is in. A body no parser can read is told why
where the parser's words would only point at its first byte: it starts with a byte order mark,
it is UTF-16 or UTF-32, or gzip-compressed (JSON between systems is UTF-8 without a byte order
mark, RFC 8259 8.1; the gateway reads no ``content-encoding``); and one nested deeper than
``MAX_DEPTH`` levels is told so, on the admin API too (whose parser, Python's, would go deeper).
Where an error names a part of the body,
each part of the name is cut to ``SHOWN_CHARS`` (a dictionary key can be as long as the body). A
body with several problems is told all of them, the first ``SHOWN_PROBLEMS`` in full, then their
number; one of its JSON text (a key named twice ...) comes first, and the error's ``param`` and
``code`` are that one's, as when it is the only problem. A validator's own complaint is told
in its words (without pydantic's "Value error, "); one about a parameter the validator's model
holds raises ``ParamProblem``, which names it.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError

from stellwerk.config.plain_text import lone_surrogate
from stellwerk.errors import SHOWN_CHARS, InvalidRequest, shown
from stellwerk.gateway.unions import one_member, places
from stellwerk.money import decimal_problem

M = TypeVar("M", bound=BaseModel)
Path = tuple[int | str, ...]  # a place in a JSON document: keys and list indexes

# how pydantic names the member of a union in an error's location
_UNION_MEMBER = re.compile(
    r"^(?:str|int|float|bool|none|(?:list|dict|literal|function-\w+)\[.*\])$"
)
_POSITION = re.compile(r"line \d+ column \d+")
#: how many of a body's problems its error tells in full
SHOWN_PROBLEMS = 5
#: how deep a body may nest: containers inside its top-level value (pydantic's parser, jiter,
#: refuses deeper; no parameter nests anywhere near it)
MAX_DEPTH = 200
_TOO_DEEP = "recursion limit exceeded"  # jiter's words for it
_GZIP = b"\x1f\x8b"


class ParamProblem(ValueError):
    """What a model's validator raises about one of its parameters (``tool_choice`` naming no
    tool): ``message`` is told as written (it names the parameter), after where the model is in
    the body if it is nested; the error's ``param`` is that place and ``param``."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(message)
        self.param = param


def parse(model: type[M], body: bytes) -> M:
    """Validate JSON bytes; the error names every offending field (the first one in ``param``)."""
    if not body.strip():
        raise InvalidRequest("request body is empty; send a JSON object")
    try:
        parsed = model.model_validate_json(body)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        first = errors[0]
        if first["type"] == "json_invalid":
            raise _not_json(body, first["msg"]) from exc
        located = in_document(errors, body)
        unread = _unreadable(body)
        if unread is not None:  # told first, as when it is the only problem
            text = problems(located, before=(unread.message,))
            raise InvalidRequest(text, param=unread.param, code=unread.code) from exc
        where = param_of(located[0])
        raise InvalidRequest(problems(located), param=where or None) from exc
    reject_duplicate_keys(body)
    return parsed


def _unreadable(body: bytes) -> InvalidRequest | None:
    """What ``reject_duplicate_keys`` refuses in ``body`` (a key named twice ...), else None."""
    try:
        reject_duplicate_keys(body)
    except InvalidRequest as exc:
        return exc
    return None


def in_document(errors: Sequence[Mapping[str, Any]], body: bytes) -> list[dict[str, Any]]:
    """pydantic's errors located by the places of the body (JSON) they are at: of a union's
    members only the one that takes the value's JSON type (``unions.one_member``), and the
    tags its unions put in a location left out (``_in_document``)."""
    try:
        document = json.loads(body, parse_int=_integer)
    except (ValueError, RecursionError):  # not JSON to Python: the locations as they are
        return [dict(e) for e in errors]
    return [
        {**e, "loc": _in_document(tuple(e.get("loc", ())), document, e.get("type") == "missing")}
        for e in one_member(errors, document)
    ]


def _in_document(loc: Path, document: Any, missing: bool) -> Path:
    """The parts of ``loc`` that are places in ``document`` (``unions.places``): a union's
    member pydantic names in a location is no place in the body."""
    return tuple(
        part for part, placed in zip(loc, places(loc, document, missing), strict=True) if placed
    )


def in_request(errors: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """FastAPI's errors (the admin API: located ``body.state``, ``query.limit``) located as the
    data plane's are: in the body, or by the query or path parameter's name."""
    return [
        {**e, "loc": tuple(e.get("loc", ()))[1:]}
        if tuple(e.get("loc", ()))[:1] in (("body",), ("query",), ("path",))
        else dict(e)
        for e in errors
    ]


def problems(errors: Sequence[Mapping[str, Any]], before: Sequence[str] = ()) -> str:
    """Every problem pydantic found, each once, as ``where: what`` joined by ``; ``, after the
    problems ``before`` (found in the JSON text): the first ``SHOWN_PROBLEMS`` in full, then
    how many more (so the message stays short)."""
    said: list[str] = list(before)
    for error in errors:
        text = _problem(error)
        if text not in said:
            said.append(text)
    text = "; ".join(said[:SHOWN_PROBLEMS])
    rest = len(said) - SHOWN_PROBLEMS
    if rest > 0:
        text += f"; and {rest} more problem{'s' if rest > 1 else ''}"
    return text


def _problem(error: Mapping[str, Any]) -> str:
    where = location(tuple(error.get("loc", ())))
    kind = error.get("type")
    if kind in _OBJECT_EXPECTED or (kind == "missing" and not where):  # the body null, too
        return f"{where} must be a JSON object" if where else "request body must be a JSON object"
    cause = _validator_error(error)
    plain = decimal_problem(str(kind), error.get("ctx") or {})
    what = str(cause) if cause is not None else plain or error.get("msg", "invalid")
    return f"{where}: {what}" if where else str(what)


_OBJECT_EXPECTED = frozenset({"model_type", "model_attributes_type", "dict_type"})
"""pydantic's error types for a value that is not a JSON object where one is expected (the
data plane's models, FastAPI's body models, a dict field)."""


def _validator_error(error: Mapping[str, Any]) -> ValueError | None:
    """The ``ValueError`` a validator raised for ``error``, if it was one."""
    cause = (error.get("ctx") or {}).get("error") if error.get("type") == "value_error" else None
    return cause if isinstance(cause, ValueError) else None


def param_of(error: Mapping[str, Any]) -> str:
    """The place an error names as its ``param``: the location, and the parameter a
    ``ParamProblem`` names in the model there."""
    where = location(tuple(error.get("loc", ())))
    cause = _validator_error(error)
    if isinstance(cause, ParamProblem):
        return f"{where}.{cause.param}" if where else cause.param
    return where


def undecodable(body: bytes) -> str | None:
    """Why ``body`` cannot be JSON text before a character of it is read, else None: it is
    gzip-compressed, or starts with a byte order mark, or is UTF-16 or UTF-32 (which Python's
    parser reads, pydantic's not). A parser tells each as an unexpected first character."""
    if body.startswith(_GZIP):
        return (
            "it is gzip-compressed, and the gateway reads no content-encoding; send it uncompressed"
        )
    encoding = json.detect_encoding(body)
    if encoding == "utf-8-sig":
        return "it starts with a byte order mark (U+FEFF); send UTF-8 without one"
    if encoding != "utf-8" and _decodes(body, encoding):
        return f"it is {encoding[:6].upper()}; send UTF-8"
    return None


def _decodes(body: bytes, encoding: str) -> bool:
    try:
        body.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


def not_json(body: bytes) -> InvalidRequest:
    """The error of a body Python's JSON parser refuses (the admin API's, which FastAPI
    parses): why, with the position where the parser gives one."""
    why = undecodable(body)
    if why is not None:
        return InvalidRequest(f"request body is not valid JSON: {why}", param="body")
    try:
        parsed = json.loads(body, parse_int=_integer)
    except RecursionError:
        return _too_deep(param="body")
    except ValueError as exc:
        return InvalidRequest(f"request body is not valid JSON: {exc}", param="body")
    # what Python's parser reads only with a hook: an integer too long to convert
    return _too_long(parsed) or InvalidRequest("request body is not valid JSON", param="body")


class _LongInteger:
    """An integer of the body too long for Python to convert (over 4,300 digits by default),
    by its number of digits: valid JSON, but no parameter's."""

    def __init__(self, digits: int) -> None:
        self.digits = digits


def _integer(text: str) -> int | _LongInteger:
    try:
        return int(text)
    except ValueError:  # "Exceeds the limit (4300 digits) for integer string conversion"
        return _LongInteger(len(text.lstrip("-")))


def _too_long(parsed: Any) -> InvalidRequest | None:
    """The error of the first ``_LongInteger`` in ``parsed``, naming its place, else None."""
    found = _first(parsed, (), _long_integer)
    if found is None:
        return None
    where = location(found[0])
    return InvalidRequest(
        f"{where or 'request body'}: {found[1]}",
        param=where or None,
        code="integer_out_of_range",
    )


def _long_integer(value: Any) -> str | None:
    if not isinstance(value, _LongInteger):
        return None
    return (
        f"an integer of {value.digits} digits is too long: every parameter is within the"
        " 64-bit range"
    )


def _too_deep(*, near: str | None = None, param: str | None = None) -> InvalidRequest:
    return InvalidRequest(
        f"request body is nested deeper than {MAX_DEPTH} levels"
        f"{' at ' + near if near else ''}; no parameter nests so deep",
        param=param,
    )


def _deeper(value: Any) -> bool:
    """Whether the parsed JSON ``value`` nests deeper than ``MAX_DEPTH`` levels (walked level
    by level, so a deep one cannot exhaust Python's stack)."""
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


def _not_json(body: bytes, problem: str) -> InvalidRequest:
    """The error of a body pydantic's parser refused: why, where its words would not say
    (``undecodable``, too deep); an integer too long to read and a lone surrogate, which
    Python's parser takes, are named by where they are in the body."""
    at = _POSITION.search(problem)
    why = undecodable(body)
    if why is not None:
        return InvalidRequest(f"request body is not valid JSON: {why}")
    if _TOO_DEEP in problem:
        return _too_deep(near=at.group(0) if at else None)
    try:
        parsed = json.loads(body, parse_int=_integer)
    except (ValueError, RecursionError):
        return InvalidRequest(f"request body is not valid JSON: {problem}")
    too_long = _too_long(parsed)  # pydantic's "number out of range", without the place
    if too_long is not None:
        return too_long
    found = _lone_surrogate(parsed, ())
    if found is None:
        return InvalidRequest(f"request body is not valid JSON: {problem}")
    return _not_unicode(*found, near=at.group(0) if at else None)


def _not_unicode(path: Path, what: str, *, near: str | None = None) -> InvalidRequest:
    """The error of a string with a lone surrogate at ``path`` (``what`` says which)."""
    where = location(path)
    return InvalidRequest(
        f"{where or 'request body'}: not valid Unicode: {what}"
        f"{' near ' + near if near else ''}; a character outside the Basic Multilingual"
        " Plane is escaped as a pair (\\ud83d\\ude00), or sent as UTF-8",
        param=where or None,
        code="invalid_unicode",
    )


def _lone_surrogate(value: Any, path: Path) -> tuple[Path, str] | None:
    """Where in ``value`` (parsed by Python, which keeps a lone surrogate) the first string with
    a lone surrogate is (a key's: the path to it), and what it says of it; None if nowhere."""
    return _first(value, path, _surrogate_in)


def _surrogate_in(value: Any) -> str | None:
    return lone_surrogate(value) if isinstance(value, str) else None


def _first(value: Any, path: Path, problem: Callable[[Any], str | None]) -> tuple[Path, str] | None:
    """The path to the first value (or key: the path to its object, the problem said to be in
    a key) of the parsed JSON ``value`` that ``problem`` finds fault with, and the fault."""
    found = problem(value)
    if found is not None:
        return path, found
    items: Any = ()
    if isinstance(value, dict):
        for key in value:
            in_key = problem(key)
            if in_key is not None:
                return path, f"{in_key} in a key"
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    for key, item in items:
        deeper = _first(item, (*path, key), problem)
        if deeper is not None:
            return deeper
    return None


def location(loc: tuple[int | str, ...]) -> str:
    """Where in the body an error is (``messages.0.content``), each part cut to a sane length;
    the member of a union pydantic tried (``stop.list[str].0``) is left out where its name says
    so (a data plane body's error is located in the body first: ``in_document``)."""
    return ".".join(_part(str(p)) for p in loc if not _UNION_MEMBER.match(str(p)))


def _part(name: str) -> str:
    return name if len(name) <= SHOWN_CHARS else f"{name[:SHOWN_CHARS]}..."


def reject_duplicate_keys(body: bytes) -> Any:
    """Raise ``InvalidRequest`` naming the first key that a JSON object of ``body`` (valid JSON)
    has twice, an integer no 64-bit field holds, or the place of a ``NaN``, ``Infinity`` or a
    number past a double's range; else return the body as Python's parser reads it (which keeps
    a lone surrogate: pydantic's parser refuses one, ``refuse_unreadable`` looks for it)."""
    odd: list[str] = []  # the non-finite numbers, in the order of the body

    def constant(name: str) -> float:
        odd.append(
            f"{name} is not a finite number (NaN and Infinity are not JSON; a backend cannot"
            " read them)"
        )
        return float(name)

    def number(text: str) -> float:
        value = float(text)
        if not math.isfinite(value):  # 1e999: past a double's range, read as infinity
            odd.append(
                f"{_part(text)} is not a finite number (past the range of a double, ±1.8e308:"
                " a backend would read it as infinity, or null)"
            )
        return value

    try:
        parsed = json.loads(
            body,
            object_pairs_hook=_unique,
            parse_constant=constant,
            parse_float=number,
            parse_int=_integer,
        )
    except (ValueError, RecursionError) as exc:  # what pydantic took, but Python's parser not
        raise InvalidRequest(f"request body is not valid JSON: {exc}") from exc
    too_long = _too_long(parsed)
    if too_long is not None:
        raise too_long
    if odd:
        where = location(_non_finite(parsed, ()) or ())
        raise InvalidRequest(
            f"{where or 'request body'}: {odd[0]}",
            param=where or None,
        )
    return parsed


def _non_finite(value: Any, path: Path) -> Path | None:
    """Where in ``value`` the first NaN or infinity is, else None."""
    found = _first(value, path, _not_finite)
    return None if found is None else found[0]


def _not_finite(value: Any) -> str | None:
    return "not finite" if isinstance(value, float) and not math.isfinite(value) else None


async def refuse_unreadable(request: Request) -> None:
    """For endpoints whose body FastAPI parses (the admin API): refuse what ``parse`` refuses
    and Python's JSON parser takes: a byte order mark, UTF-16 or UTF-32, nesting past
    ``MAX_DEPTH``, a key named twice, an integer past 64 bits, ``NaN`` or ``Infinity``, a lone
    surrogate."""
    body = await request.body()
    if body.strip():
        why = undecodable(body)
        if why is not None:
            raise InvalidRequest(f"request body is not valid JSON: {why}", param="body")
        parsed = reject_duplicate_keys(body)
        if _deeper(parsed):
            raise _too_deep(param="body")
        found = _lone_surrogate(parsed, ())
        if found is not None:
            raise _not_unicode(*found)


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
