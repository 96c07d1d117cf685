"""What the admin API (``stellwerk.gateway.admin_api``) says of a body, query or path parameter
its schema refuses: the project's words, not pydantic's (``Input should be ...``, ``Field
required``, ``Extra inputs are not permitted``). Each problem names its field (its dotted place
for a nested one: ``allowed_models.1``), what was sent, and what is allowed:

- missing: ``reason: missing; say why (1 to 1000 characters)``
- not a field: ``colour: not a field of this request; fields: state, reason, version``
- not one of its values: ``state: 'approvd' is not a lifecycle state; one of proposed, ...``
- not a boolean: ``consent: 'yes' is not true or false``
- not an integer, in the limits' words (``config.plain_number.not_whole``): ``version: a string
  is not a whole number; send the version you read as a JSON integer, or leave it out``
- not a string: ``department: 5 is not a string; name a department``
- not a list: ``allowed_models: a list of model ids, got a string``

What was sent is cut where it is long (a string to ``SHOWN_CHARS``, a number to 24 characters);
a list or an object is named by its type; a value of a field whose name says it may be a secret
(``key``, ``secret``, ``token``, ``password`` ...), or a string that looks like an API key
(``sk-...``), is ``a value``, never echoed. A problem already in the project's words (a
validator's, a limit's, a decimal's: ``money.decimal_problem``) is left as it is: only an error
whose message is pydantic's own for its type is reworded (``_pydantics``).

``reworded`` turns FastAPI's errors (located ``body.state``, ``query.month``, ``path.kind``)
into these; ``gateway.errors`` renders them in the admin API's envelope, every problem
together, ``param`` the first one's place.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, Final, cast, get_args

from pydantic import BaseModel
from pydantic_core import PydanticKnownError
from pydantic_core.core_schema import ErrorType

from stellwerk.config.base import Classification, Lifecycle, RiskTier, Role
from stellwerk.config.plain_number import not_whole, said_number
from stellwerk.errors import json_type, shown
from stellwerk.governance.reason import MAX_REASON


def _one_of(kind: object) -> str:
    return "one of " + ", ".join(str(v) for v in get_args(kind))


_ALLOWED: Final[Mapping[str, str]] = {
    "state": _one_of(Lifecycle),
    "reason": f"say why (1 to {MAX_REASON} characters)",
    "consent": "true (granted) or false (withdrawn)",
    "version": "send the version you read as a JSON integer, or leave it out",
    "department": "name a department",
    "role": _one_of(Role),
    "use_case": "name a use case, or leave it out",
    "classification": _one_of(Classification),
    "name": "name the use case",
    "purpose": "say what the use case is for",
    "risk_tier": _one_of(RiskTier),
    "allowed_models": "a list of model ids",
    "allowed_models.*": "name a model by its id",
    "oversight_contact": "name who oversees it, or null",
    "month": "give the month as ?month=YYYY-MM",
}
"""What each field of the admin API's bodies and queries allows, as a refusal says it (a list
item's by its list's name and ``*``)."""

_KINDS: Final[Mapping[str, str]] = {
    "state": "a lifecycle state",
    "role": "a role",
    "classification": "a classification",
    "risk_tier": "a risk tier",
}
"""What a field of a fixed set of values holds, as ``'x' is not ...`` names it."""

_BY_TYPE: Final[Mapping[str, str]] = {
    "string_type": "a string",
    "list_type": "a list",
    "bool_type": "true or false",
    "int_type": "send a JSON integer",
    "int_parsing": "send a JSON integer",
    "int_from_float": "send a JSON integer",
    "missing": "this request needs it",
}
"""What a field not in ``_ALLOWED`` allows, by the kind of its problem."""

_INTEGER: Final = frozenset({"int_type", "int_parsing", "int_from_float"})
_BOOLEAN: Final = frozenset({"bool_type", "bool_parsing"})
_ONE_OF: Final = frozenset({"literal_error", "enum"})
_OWN_WORDS: Final = frozenset({"value_error", "assertion_error"})
"""pydantic's types whose message is a validator's own (told by ``gateway.body``)."""

_SECRET_PART: Final = frozenset(
    {"key", "keys", "apikey", "secret", "secrets", "token", "password", "passwd", "passphrase"}
    | {"credential", "credentials", "auth", "authorization", "bearer"}
)
"""The words of a field's name that say its value may be a secret (``tokens_per_minute`` is
not one: ``tokens`` is not among them)."""
_WORDS: Final = re.compile(r"[^a-z0-9]+")
_PLACES: Final = frozenset({("body",), ("query",), ("path",), ("header",), ("cookie",)})
"""Where FastAPI locates an error first."""


def reworded(
    errors: Sequence[Mapping[str, Any]], body: type[BaseModel] | None
) -> list[dict[str, Any]]:
    """``errors`` (FastAPI's, each located first by where it is: ``body``, ``query``, ``path``,
    ``header``), each whose message is pydantic's told in the project's words; ``body`` is the
    model of the request's body (its fields are named to a field it does not have)."""
    located = []
    for error in errors:
        loc = tuple(error.get("loc", ()))
        where = str(loc[0]) if loc[:1] in _PLACES else ""
        located.append((error, where, loc[1:] if where else loc))
    return _told(located, body)


def body_reworded(
    errors: Sequence[Mapping[str, Any]], body: type[BaseModel] | None
) -> list[dict[str, Any]]:
    """``errors`` of the body of the model ``body`` (located in it: ``state``), as
    ``reworded`` tells them."""
    return _told([(e, "body", tuple(e.get("loc", ()))) for e in errors], body)


def _told(
    located: Sequence[tuple[Mapping[str, Any], str, tuple[Any, ...]]],
    body: type[BaseModel] | None,
) -> list[dict[str, Any]]:
    """Each error, with where (``body``, ``query`` ...) and its place there; the body's fields
    are named once, to its first field it does not have."""
    said: list[dict[str, Any]] = []
    for error, where, place in located:
        if not where or not place or not _pydantics(error):
            said.append(dict(error))  # the body itself (not an object, none): gateway.body's
            continue
        said.append({**error, "msg": _said(error, where, place, body)})
        if error.get("type") == "extra_forbidden":
            body = None
    return said


def _pydantics(error: Mapping[str, Any]) -> bool:
    """Whether ``error``'s message is pydantic's own for its type (not a validator's, not a
    ``PydanticCustomError``'s words under a type of pydantic's: ``plain_whole``'s
    ``int_parsing``, a limit's ``finite_number``)."""
    kind = str(error.get("type", ""))
    if kind in _OWN_WORDS or kind.startswith("decimal_"):  # decimals: money.decimal_problem
        return False
    try:
        known = PydanticKnownError(cast("ErrorType", kind), error.get("ctx"))
        return known.message() == error.get("msg")
    except (KeyError, TypeError, ValueError):  # a type of the project's own
        return False


def _said(
    error: Mapping[str, Any], where: str, place: tuple[Any, ...], body: type[BaseModel] | None
) -> str:
    """The words of one problem (without its place, which ``gateway.body`` puts before them)."""
    kind = str(error.get("type"))
    field = ".".join("*" if isinstance(p, int) else str(p) for p in place)
    allowed = _ALLOWED.get(field) or _BY_TYPE.get(kind) or "see the API's schema"
    if kind == "missing":
        return f"missing; {allowed}"
    if kind == "extra_forbidden":
        top = where == "body" and len(place) == 1  # a nested object's fields are not the body's
        fields = list(body.model_fields) if body is not None and top else []
        known = f"; fields: {', '.join(fields)}" if fields else ""
        return f"not a field of this request{known}"
    value = error.get("input")
    secret = _secret(place, value)
    if kind in _INTEGER:
        return f"a value is not a whole number; {allowed}" if secret else not_whole(value, allowed)
    sent = "a value" if secret else _sent(value)
    if kind in _ONE_OF:
        expected = (error.get("ctx") or {}).get("expected", "")
        allowed = _ALLOWED.get(field) or f"one of {expected}"
        return f"{sent} is not {_KINDS.get(field, 'an allowed value')}; {allowed}"
    if kind in _BOOLEAN:
        return f"{sent} is not true or false"
    if kind == "list_type":
        return f"{allowed}, got {sent if secret else json_type(value)}"
    if kind == "string_type":
        return f"{sent} is not a string; {allowed}"
    return f"{sent} is not allowed here; {allowed}"


def _sent(value: object) -> str:
    """What was sent, as a refusal shows it: a string quoted and cut, a number cut, ``true``,
    ``null``, ``a list``, ``an object``."""
    if isinstance(value, str):
        return shown(value)
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return said_number(value)
    return json_type(value)


def _secret(place: tuple[Any, ...], value: object) -> bool:
    """Whether the value at ``place`` may be a secret: a part of its place names one
    (``api_key``, ``secret``, ``token``), or it is a string that looks like an API key."""
    parts = {w for p in place for w in _WORDS.split(str(p).lower())}
    return bool(parts & _SECRET_PART) or (isinstance(value, str) and value.startswith("sk-"))
