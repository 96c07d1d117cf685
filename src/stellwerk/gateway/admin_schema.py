"""The request bodies of the admin API (``stellwerk.gateway.admin_api``): what an administrator
may send, as pydantic models that refuse unknown fields and wrong JSON types (a version is a JSON
integer, consent a JSON boolean, a budget a number or a plain decimal string), each problem named
by its field; and its whole-number query parameters (``PlainWhole``)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

from stellwerk.config.base import RiskTier, refuse_prohibited
from stellwerk.config.governance import (
    MAX_REQUESTS_PER_MINUTE,
    MAX_TOKENS_PER_MINUTE,
    each_model_once,
)
from stellwerk.config.plain_number import (
    above_most,
    below_least,
    not_whole,
    said_number,
    whole_problem,
)
from stellwerk.config.schema import Classification, Lifecycle, Role
from stellwerk.errors import json_type, shown
from stellwerk.governance.reason import MAX_REASON
from stellwerk.money import MAX_BUDGET, MICRO_PLACES, plain_amount


def plain_whole(least: int, most: int) -> BeforeValidator:
    """A whole-number query parameter's text, the digits 0 to 9 only (``config.plain_number``:
    pydantic's lax integer read ``?limit=3_0`` as 30, ``?limit=%203`` and ``?limit=3.0`` as 3),
    from ``least`` to ``most``, refused in the words of every refusal of a bound (``limit: 0 is
    less than 1, the least it may be``; pydantic said ``Input should be greater than or equal to
    1``); the parameter's constraints stay for the schema."""

    def check(value: object) -> object:
        if not isinstance(value, str):
            return value
        problem = whole_problem(value)
        if problem is not None:  # its text alone: no "Value error," before it
            raise PydanticCustomError("int_parsing", "{problem}", {"problem": problem})
        digits = value.lstrip("-").lstrip("0")
        if len(digits) > len(str(most)):  # past the bound: int() is not asked (4,300 digits)
            said = said_number(value)
            raise _refused(below_least(said, least) if value[0] == "-" else above_most(said, most))
        number = int(value)
        if number < least:
            raise _refused(below_least(value, least))
        if number > most:
            raise _refused(above_most(value, most))
        return value

    return BeforeValidator(check)


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


Reason = Annotated[
    str,
    Field(
        description=f"why (goes into the audit log): 1 to {MAX_REASON} characters"
        " once surrounding blank space is dropped"
    ),
]


Version = Annotated[
    int | None,
    Field(strict=True, description="the version you saw (optimistic): a JSON integer"),
]
"""A version, as a JSON integer only (``"1"`` is refused, as other fields' wrong types are)."""


class LifecycleChange(_Body):
    state: Lifecycle
    reason: Reason
    version: Version = None


class ConsentChange(_Body):
    # strict: only true and false; "no", "0", "off" or 1 must not change who may use a model
    consent: bool = Field(strict=True, description="true: granted, false: withdrawn")
    reason: Reason
    version: Version = None


class KeyRequest(_Body):
    department: str
    role: Role = "user"
    use_case: str | None = None
    classification: Classification | None = None
    reason: Reason | None = None


class Revocation(_Body):
    reason: Reason


def _refused(problem: str, kind: str = "limit_value") -> PydanticCustomError:
    """A limit's refusal in ``problem``'s words alone (the error names the field before them).
    ``kind`` ``finite_number`` (pydantic's own type for it): a ``NaN`` or ``Infinity`` the
    body's JSON text was refused for already is told once (``gateway.body.told``)."""
    return PydanticCustomError(kind, "{problem}", {"problem": problem})


def _within(said: str, number: int | Decimal, least: int | Decimal, most: int | Decimal) -> None:
    """Refuse ``number`` outside ``least`` to ``most`` in the words of every refusal of a bound
    (``config.plain_number``: ``-1 is less than 0, the least it may be``), with how to clear the
    limit instead."""
    if number < least:
        raise _refused(f"{below_least(said, least)}; or null for unlimited")
    if number > most:
        raise _refused(f"{above_most(said, most)}; or null for unlimited")


def _rate(most: int) -> BeforeValidator:
    """A validator's step before a rate limit: a JSON integer from 1 to ``most`` or null, each
    other value refused naming the bound (pydantic's words were ``Input should be greater than
    0``, ``... a valid integer``); the field's constraints stay for the schema."""

    def check(value: object) -> object:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            send = f"send a JSON integer from 1 to {most}, or null for unlimited"
            finite = not isinstance(value, float | Decimal) or Decimal(value).is_finite()
            raise _refused(not_whole(value, send), "limit_value" if finite else "finite_number")
        _within(said_number(value), value, 1, most)
        return value

    return BeforeValidator(check)


def _budget(value: object) -> object:
    """A validator's step before ``monthly_budget``: a JSON number, a plain amount string
    (``plain_amount``) or null, from 0 to ``MAX_BUDGET``; any other JSON type is refused in plain
    words (pydantic's would name Python's ``Decimal`` type), and so is a number out of bounds
    (pydantic's ``Input should be less than or equal to ...``) or not finite."""
    if value is None:
        return None
    if not isinstance(value, int | float | Decimal | str) or isinstance(value, bool):
        raise _refused(
            f"{json_type(value)} is not an amount; send a decimal number (12.5), a string of"
            ' ASCII digits with an optional decimal point ("12.50"), or null to clear the budget'
        )
    try:
        amount = plain_amount(value)
        number = amount if isinstance(amount, Decimal) else Decimal(str(amount))
    except ValueError as exc:
        raise _refused(str(exc)) from exc
    if not number.is_finite():
        raise _refused(f"{value} is not a finite number; send 0 to {MAX_BUDGET}", "finite_number")
    _within(said_number(value), number, 0, MAX_BUDGET)
    return amount


def _limit_kind(value: object) -> object:
    """A validator's step before the kind of limits in ``PUT /admin/limits/{kind}/{scope}``:
    ``department`` or ``key``, another refused saying which (pydantic said ``Input should be
    'department' or 'key'``)."""
    if value not in ("department", "key"):
        said = shown(value) if isinstance(value, str) else json_type(value)
        raise _refused(
            f"{said} is no kind of limits; PUT /admin/limits/department/NAME or"
            " /admin/limits/key/KEY_ID"
        )
    return value


LimitKind = Annotated[Literal["department", "key"], BeforeValidator(_limit_kind)]
"""The kind of a scope of limits, as a path parameter."""


class LimitsChange(_Body):
    """Only the limits named change; the others keep their values. ``null`` clears a limit."""

    requests_per_minute: Annotated[int | None, _rate(MAX_REQUESTS_PER_MINUTE)] = Field(
        default=None,
        gt=0,
        le=MAX_REQUESTS_PER_MINUTE,
        strict=True,
        description=f"1 to {MAX_REQUESTS_PER_MINUTE}; null: unlimited; absent: unchanged",
    )
    tokens_per_minute: Annotated[int | None, _rate(MAX_TOKENS_PER_MINUTE)] = Field(
        default=None,
        gt=0,
        le=MAX_TOKENS_PER_MINUTE,
        strict=True,
        description=f"1 to {MAX_TOKENS_PER_MINUTE}; null: unlimited; absent: unchanged",
    )
    monthly_budget: Annotated[Decimal | None, BeforeValidator(_budget)] = Field(
        default=None,
        ge=0,
        le=MAX_BUDGET,
        decimal_places=MICRO_PLACES,
        allow_inf_nan=False,
        description=f"0 to {MAX_BUDGET} with at most {MICRO_PLACES} decimals, as a JSON number"
        " or a plain decimal string (ASCII digits, an optional '.' and decimals: no spaces,"
        " signs, underscores or exponents); null: unlimited; absent: unchanged",
    )
    reason: Reason


AllowedModels = Annotated[list[str] | None, AfterValidator(each_model_once)]
Tier = Annotated[RiskTier, BeforeValidator(refuse_prohibited)]
"""A use case's risk tier; ``prohibited`` is refused saying why (the EU AI Act), as the config
refuses it."""


class UseCaseBody(_Body):
    name: str
    department: str
    purpose: str = ""
    risk_tier: Tier = "minimal"
    classification: Classification = "internal"
    allowed_models: AllowedModels = None
    oversight_contact: str | None = None
    reason: Reason
    version: Version = None


class UseCaseChange(_Body):
    """A change of an existing use case: only the fields named change, the others keep their
    values; ``null`` clears ``allowed_models`` (any permitted model) or ``oversight_contact``."""

    name: str | None = None
    department: str | None = None
    purpose: str | None = None
    risk_tier: Tier | None = None
    classification: Classification | None = None
    allowed_models: AllowedModels = None
    oversight_contact: str | None = None
    reason: Reason
    version: Version = None


CLEARABLE = frozenset({"allowed_models", "oversight_contact"})
"""The fields of a use case a change may set to ``null``."""
