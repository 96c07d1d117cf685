"""The request bodies of the admin API (``stellwerk.gateway.admin_api``): what an administrator
may send, as pydantic models that refuse unknown fields and wrong JSON types (a version is a JSON
integer, consent a JSON boolean, a budget a number or a plain decimal string), each problem named
by its field; and its whole-number query parameters (``PlainWhole``)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

from stellwerk.config.governance import (
    MAX_REQUESTS_PER_MINUTE,
    MAX_TOKENS_PER_MINUTE,
    each_model_once,
)
from stellwerk.config.plain_number import whole_problem
from stellwerk.config.schema import Classification, Lifecycle, Role
from stellwerk.errors import json_type
from stellwerk.governance.reason import MAX_REASON
from stellwerk.money import MAX_BUDGET, MICRO_PLACES, plain_amount


def _plain_whole(value: object) -> object:
    if isinstance(value, str):
        problem = whole_problem(value)
        if problem is not None:  # its text alone: no "Value error," before it
            raise PydanticCustomError("int_parsing", "{problem}", {"problem": problem})
    return value


PlainWhole = BeforeValidator(_plain_whole)
"""A whole-number query parameter's text, the digits 0 to 9 only (``config.plain_number``):
pydantic's lax integer read ``?limit=3_0`` as 30, ``?limit=%203`` and ``?limit=3.0`` as 3."""


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


def _budget(value: object) -> object:
    """A validator's step before ``monthly_budget``: a JSON number, a plain amount string
    (``plain_amount``) or null; any other JSON type is refused in plain words (pydantic's would
    name Python's ``Decimal`` type)."""
    if value is None or (
        isinstance(value, int | float | Decimal | str) and not isinstance(value, bool)
    ):
        return plain_amount(value)
    raise ValueError(
        f"{json_type(value)} is not an amount; send a decimal number (12.5), a string of ASCII"
        ' digits with an optional decimal point ("12.50"), or null to clear the budget'
    )


class LimitsChange(_Body):
    """Only the limits named change; the others keep their values. ``null`` clears a limit."""

    requests_per_minute: int | None = Field(
        default=None,
        gt=0,
        le=MAX_REQUESTS_PER_MINUTE,
        strict=True,
        description=f"1 to {MAX_REQUESTS_PER_MINUTE}; null: unlimited; absent: unchanged",
    )
    tokens_per_minute: int | None = Field(
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


class UseCaseBody(_Body):
    name: str
    department: str
    purpose: str = ""
    risk_tier: str = "minimal"
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
    risk_tier: str | None = None
    classification: Classification | None = None
    allowed_models: AllowedModels = None
    oversight_contact: str | None = None
    reason: Reason
    version: Version = None


CLEARABLE = frozenset({"allowed_models", "oversight_contact"})
"""The fields of a use case a change may set to ``null``."""
