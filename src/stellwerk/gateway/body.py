"""Reading and validating request bodies: size limit first, then pydantic from the raw bytes.

What Python's parser finds in a body's JSON text and pydantic's does not tell (a key named
twice, an integer past 64 bits, ``NaN`` or ``Infinity``, a lone surrogate, nesting past
``MAX_DEPTH``) is refused by its place in the body (:mod:`stellwerk.gateway.json_text`), on the
data plane and on the admin API alike. A body no parser can read is told why where the
parser's words would only point at its first byte: it starts with a byte order mark, it is
UTF-16 or UTF-32, or gzip- or zstd-compressed (JSON between systems is UTF-8 without a byte
order mark, RFC 8259 8.1; a request that says it is compressed, ``content-encoding``, is
refused before its body is read: ``gateway.gate``). Where an error names a part of the body,
each part of the name is cut to ``SHOWN_CHARS`` (a dictionary key can be as long as the body).
A body with several problems is told all of them, the first ``SHOWN_PROBLEMS`` in full, then
their number; one of its JSON text (a key named twice ...) comes first, and the error's
``param`` and ``code`` are that one's, as when it is the only problem (``told``). A
validator's own complaint is told in its words (without pydantic's "Value error, "); one about
a parameter the validator's model holds raises ``ParamProblem``, which names it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError

from stellwerk.errors import InvalidRequest, placed_text
from stellwerk.gateway.json_text import (
    deeper,
    integer,
    not_unicode,
    out_of_range,
    part,
    read,
    too_deep,
    with_nul,
)
from stellwerk.gateway.unions import one_member
from stellwerk.money import decimal_problem

M = TypeVar("M", bound=BaseModel)

# how pydantic names the member of a union in an error's location
_UNION_MEMBER = re.compile(
    r"^(?:str|int|float|bool|none|(?:list|dict|literal|function-\w+)\[.*\])$"
)
_POSITION = re.compile(r"line \d+ column \d+")
#: how many of a body's problems its error tells in full
SHOWN_PROBLEMS = 5
_TOO_DEEP = "recursion limit exceeded"  # jiter's words for it
#: the magic numbers of compressed data, by the content-encoding that names it
_COMPRESSED = {b"\x1f\x8b": "gzip", b"\x28\xb5\x2f\xfd": "zstd"}


class ParamProblem(ValueError):
    """What a model's validator raises about one of its parameters (``tool_choice`` naming no
    tool): ``message`` is told as written (it names the parameter), after where the model is in
    the body if it is nested; the error's ``param`` is that place and ``param``."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(message)
        self.param = param


def parse(model: type[M], body: bytes, *, rename: Callable[[str], str] | None = None) -> M:
    """Validate JSON bytes; the error names every offending field (the first one in ``param``).
    ``rename``: ``body`` was made of another body (``/v1/responses``' chat request), whose
    place of a part of ``body`` it gives: the error names that place (``relocated``)."""
    if not body.strip():
        raise InvalidRequest("request body is empty; send a JSON object")
    try:
        parsed = model.model_validate_json(body)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        first = errors[0]
        if first["type"] == "json_invalid":
            raise _not_json(body, first["msg"]) from exc
        try:  # parsed once more, by Python: the places of the errors, its text's problems
            document, unread = read(body)
        except InvalidRequest as unreadable:  # what pydantic took, but Python's parser not
            raise told([dict(e) for e in errors], unreadable) from exc
        located = one_member(errors, document)
        raise told(relocated(located, rename) if rename else located, unread) from exc
    reject_duplicate_keys(body)
    return parsed


def told(errors: Sequence[Mapping[str, Any]], unread: InvalidRequest | None) -> InvalidRequest:
    """The error of a body with the problems ``errors`` (pydantic's, located in the body) and
    ``unread``, a problem of its JSON text (a key named twice ...), if any: told first, and
    then the error's ``param`` and ``code`` are its, as when it is the only problem. A number
    that is not finite is told once, in the text's words (pydantic's "Input should be a finite
    number" at the same place says it again)."""
    if unread is not None:
        errors = [e for e in errors if not _said_by(unread, e)]
        text = problems(errors, before=(unread.message,))
        return InvalidRequest(text, param=unread.param, code=unread.code)
    where = param_of(errors[0]) if errors else ""
    return InvalidRequest(problems(errors), param=where or None)


def relocated(
    errors: Sequence[Mapping[str, Any]], rename: Callable[[str], str]
) -> list[dict[str, Any]]:
    """``errors``, located in ``body``, each at its place in the body ``body`` was made of
    (``rename``). A validator's ``ParamProblem`` is named by its whole place there (its
    message's start too, where it named the place here)."""
    moved: list[dict[str, Any]] = []
    for error in errors:
        here = ".".join(str(p) for p in error.get("loc", ()))
        cause = _validator_error(error)
        if isinstance(cause, ParamProblem):
            whole = f"{here}.{cause.param}" if here else cause.param
            there = rename(whole)
            if there != whole:  # told as before, every place in it renamed
                said = placed_text(str(cause), whole, there)
                said = f"{rename(here)}: {said}" if here else said
                ctx = {**(error.get("ctx") or {}), "error": ParamProblem(there, said)}
                moved.append({**error, "loc": (), "ctx": ctx})
                continue
        there = rename(here) if here else here
        moved.append({**error, "loc": tuple(there.split(".")) if there else ()})
    return moved


def _said_by(unread: InvalidRequest, error: Mapping[str, Any]) -> bool:
    """Whether ``error`` is pydantic's word for the non-finite number ``unread`` told."""
    return error.get("type") == "finite_number" and (
        location(tuple(error.get("loc", ()))) == unread.param
    )


def reject_duplicate_keys(body: bytes) -> Any:
    """Raise ``InvalidRequest`` naming the first problem of the JSON text of ``body`` (a key
    named twice, an integer past 64 bits, ``NaN`` ...: ``json_text.read``) by its place; else
    return the body as Python's parser reads it."""
    parsed, problem = read(body)
    if problem is not None:
        raise problem
    return parsed


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
    gzip- or zstd-compressed, or starts with a byte order mark, or is UTF-16 or UTF-32 (which
    Python's parser reads, pydantic's not). A parser tells each as an unexpected first
    character."""
    for magic, coding in _COMPRESSED.items():
        if body.startswith(magic):
            return (
                f"it is {coding}-compressed, and the gateway reads no content-encoding; send it"
                " uncompressed"
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
        parsed = json.loads(body, parse_int=integer)
    except RecursionError:
        return too_deep(param="body")
    except ValueError as exc:
        return InvalidRequest(f"request body is not valid JSON: {exc}", param="body")
    # what Python's parser reads only with a hook: an integer too long to convert
    return out_of_range(parsed) or InvalidRequest("request body is not valid JSON", param="body")


def _not_json(body: bytes, problem: str) -> InvalidRequest:
    """The error of a body pydantic's parser refused: why, where its words would not say
    (``undecodable``, too deep); an integer too long to read and a lone surrogate, which
    Python's parser takes, are named by where they are in the body."""
    at = _POSITION.search(problem)
    near = at.group(0) if at else None
    why = undecodable(body)
    if why is not None:
        return InvalidRequest(f"request body is not valid JSON: {why}")
    if _TOO_DEEP in problem:
        return too_deep(near=near)
    try:
        parsed = json.loads(body, parse_int=integer)
    except (ValueError, RecursionError):
        return InvalidRequest(f"request body is not valid JSON: {problem}")
    return (
        out_of_range(parsed)  # pydantic's "number out of range", without the place
        or not_unicode(parsed, near=near)
        or InvalidRequest(f"request body is not valid JSON: {problem}")
    )


def location(loc: tuple[int | str, ...]) -> str:
    """Where in the body an error is (``messages.0.content``), each part cut to a sane length;
    the member of a union pydantic tried (``stop.list[str].0``) is left out where its name says
    so (a data plane body's error is located in the body first: ``unions.one_member``)."""
    return ".".join(part(str(p)) for p in loc if not _UNION_MEMBER.match(str(p)))


async def refuse_unreadable(
    request: Request,
    model: type[BaseModel] | None = None,
    words: Callable[[list[dict[str, Any]]], list[dict[str, Any]]] | None = None,
) -> None:
    """For endpoints whose body FastAPI parses (the admin API, its body of ``model``): refuse
    what ``parse`` refuses and Python's JSON parser takes: a byte order mark, UTF-16 or UTF-32,
    nesting past ``MAX_DEPTH``, a lone surrogate (each told alone, as pydantic's parser refuses
    them), a string with a NUL character (``json_text.with_nul``: the ledger cannot hold one
    on PostgreSQL; told alone), and a key named twice, an integer past 64 bits, ``NaN`` or
    ``Infinity``, told with every problem ``model`` finds in the body, as ``parse`` tells
    them (in ``words``, where given: the admin API's, ``gateway.admin_words``)."""
    body = await request.body()
    if not body.strip():
        return
    why = undecodable(body)
    if why is not None:
        raise InvalidRequest(f"request body is not valid JSON: {why}", param="body")
    parsed, unread = read(body)
    if deeper(parsed):
        raise too_deep(param="body")
    surrogate = not_unicode(parsed) or with_nul(parsed)
    if surrogate is not None:
        raise surrogate
    if unread is not None:
        found = _invalid(model, parsed)
        raise told(words(found) if words is not None else found, unread)


def _invalid(model: type[BaseModel] | None, parsed: Any) -> list[dict[str, Any]]:
    """What ``model`` finds wrong in ``parsed``, as FastAPI validates a body (Python's values),
    located in the body."""
    if model is None:
        return []
    try:
        model.model_validate(parsed)
    except ValidationError as exc:
        return [dict(e) for e in exc.errors(include_url=False)]
    return []
