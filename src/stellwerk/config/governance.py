"""The governance part of ``stellwerk.yaml``: departments and their keys, use cases, usage limits,
and the rules enforced at request time (``governance:``)."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from stellwerk.config.base import (
    SHA256,
    Classification,
    Hosting,
    ModelFact,
    RiskTier,
    Role,
    Strict,
    UseCaseFact,
    check_env,
    check_name,
    check_use_case_name,
    each_once,
    refuse_prohibited,
)
from stellwerk.config.plain_text import plain_text
from stellwerk.errors import shown
from stellwerk.money import MAX_BUDGET, MICRO_PLACES, exact, share_spent

# Upper bounds of the limits (docs/governance.md): far above any real use, and small enough
# that every counter and column holding them stays an exact integer.
MAX_REQUESTS_PER_MINUTE = 1_000_000_000
MAX_TOKENS_PER_MINUTE = 1_000_000_000


class UsageLimits(Strict):
    """Rate limits and budget of a department or a key; null means unlimited. ``monthly_budget``
    is in internal prices (the unit of ``Price``), counted per calendar month (UTC), exact to the
    micro-unit (six decimals)."""

    requests_per_minute: int | None = Field(
        default=None, gt=0, le=MAX_REQUESTS_PER_MINUTE, strict=True
    )
    tokens_per_minute: int | None = Field(default=None, gt=0, le=MAX_TOKENS_PER_MINUTE, strict=True)
    monthly_budget: Decimal | None = Field(
        default=None, ge=0, le=MAX_BUDGET, decimal_places=MICRO_PLACES, allow_inf_nan=False
    )

    @field_validator("monthly_budget", mode="before")
    @classmethod
    def _written_decimal(cls, value: object) -> object:
        # a float is read as the decimal it was written as (0.1, not 0.1000000000000000055...)
        if isinstance(value, float):
            return exact(value) if math.isfinite(value) else value
        return value

    def budget_used(self, spent: Decimal) -> float | None:
        """The share of the monthly budget ``spent`` is (``money.share_spent``)."""
        return share_spent(spent, self.monthly_budget)


SHADOW_KEY_ID = "shadow"
"""The key id shadow grading's own calls are recorded under (the reference and judge calls,
charged to ``router.shadow.account``); no configured key may take it, or its requests would be
counted as shadow calls (the dashboard's Routing mix, the router-learning page)."""


def _not_reserved(value: str) -> str:
    if value == SHADOW_KEY_ID:
        raise ValueError(
            f"key id {SHADOW_KEY_ID!r} is reserved for shadow grading's own calls; name the key"
            " otherwise"
        )
    return value


class KeyConfig(Strict):
    """A client key of a department: by env var name (hashed at start-up) or by its SHA-256."""

    id: str
    key_env: str | None = None
    key_sha256: str | None = None
    role: Role = "user"
    use_case: str | None = None
    classification: Classification | None = None
    limits: UsageLimits | None = None
    max_in_flight: int | None = Field(default=None, ge=1)

    _id = field_validator("id")(check_name)
    _reserved = field_validator("id")(_not_reserved)
    _env = field_validator("key_env")(check_env)

    @field_validator("key_sha256")
    @classmethod
    def _sha(cls, value: str | None) -> str | None:
        if value is not None and not SHA256.match(value):
            raise ValueError("key_sha256 must be 64 lowercase hex digits")
        return value

    @model_validator(mode="after")
    def _one_source(self) -> KeyConfig:
        if (self.key_env is None) == (self.key_sha256 is None):
            raise ValueError(f"key {self.id!r}: give exactly one of key_env or key_sha256")
        return self


class DepartmentConfig(Strict):
    name: str
    keys: tuple[KeyConfig, ...] = ()
    classification: Classification = "internal"
    allowed_models: tuple[str, ...] | None = None
    limits: UsageLimits = UsageLimits()
    max_in_flight: int | None = Field(default=None, ge=1)
    pilot: bool = False

    _name = field_validator("name")(check_name)
    _once = field_validator("allowed_models")(each_once("model"))


def each_model_once(
    models: list[str] | tuple[str, ...] | None,
) -> list[str] | tuple[str, ...] | None:
    """A use case's ``allowed_models`` as given, refused if it names a model twice (kept so, the
    audit and the dashboard would show the list with the duplicate); the config and the admin
    API read the list by this one rule, in the same words (``base.each_once``), as the config
    reads a department's."""
    return each_once("model")(models)


def new_use_case_name(name: str) -> str:
    """A new use case's name (the config's, ``POST /admin/use-cases``) without ``:``: the audit
    log prints a target as ``kind:name``, so ``model:x`` named a model and a use case alike. A
    use case stored before this rule keeps its name (read, shown and changed as before)."""
    if ":" in name:
        raise ValueError(
            f"{shown(name)} holds ':', which the audit log reads as kind:name (model:x); name the"
            " use case with ASCII letters, digits and . _ / -"
        )
    return name


class UseCaseConfig(Strict):
    """A use case: what a department does with the models (EU AI Act risk tier, data class)."""

    name: str
    department: str
    purpose: str = ""
    risk_tier: RiskTier = "minimal"
    classification: Classification = "internal"
    allowed_models: tuple[str, ...] | None = None
    oversight_contact: str | None = None

    _name = field_validator("name")(check_use_case_name)
    _tier = field_validator("risk_tier", mode="before")(refuse_prohibited)
    _once = field_validator("allowed_models")(each_model_once)
    # shown in the audit log, on the dashboard and by the CLI (config.plain_text)
    _text = field_validator("purpose", "oversight_contact")(plain_text)


def _default_hosting() -> dict[Classification, tuple[Hosting, ...]]:
    return {
        "public": ("on_prem", "eu_cloud", "non_eu_cloud"),
        "internal": ("on_prem", "eu_cloud"),
        "confidential": ("on_prem",),
        "secret": ("on_prem",),
    }


def _default_model_facts() -> dict[RiskTier, tuple[ModelFact, ...]]:
    return {
        "minimal": ("licence", "hosting"),
        "limited": ("licence", "hosting", "owner", "model_card_url"),
        "high": (
            "licence",
            "hosting",
            "owner",
            "model_card_url",
            "evaluation_url",
            "oversight_contact",
        ),
    }


def _default_use_case_facts() -> dict[RiskTier, tuple[UseCaseFact, ...]]:
    return {
        "minimal": (),
        "limited": ("purpose",),
        "high": ("purpose", "oversight_contact", "allowed_models"),
    }


# Deployers of high-risk AI systems keep the logs at least six months (EU AI Act, Art. 26(6)).
MIN_HIGH_RISK_RETENTION_DAYS = 183


def _default_retention() -> dict[RiskTier, int]:
    return {"minimal": 90, "limited": 180, "high": 365}


HostingList = Annotated[tuple[Hosting, ...], AfterValidator(each_once("hosting"))]
ModelFacts = Annotated[tuple[ModelFact, ...], AfterValidator(each_once("fact"))]
UseCaseFacts = Annotated[tuple[UseCaseFact, ...], AfterValidator(each_once("fact"))]


class GovernanceConfig(Strict):
    """Rules enforced at request time: where each data class may go, which facts each risk tier
    requires, whether a non-compliant model is blocked or only flagged, how long records stay."""

    classification_hosting: dict[Classification, HostingList] = Field(
        default_factory=_default_hosting
    )
    compliance_mode: Literal["block", "flag"] = "flag"
    required_model_facts: dict[RiskTier, ModelFacts] = Field(default_factory=_default_model_facts)
    required_use_case_facts: dict[RiskTier, UseCaseFacts] = Field(
        default_factory=_default_use_case_facts
    )
    retention_days: dict[RiskTier, int] = Field(default_factory=_default_retention)
    # how often a gateway reloads keys, catalog state and limits changed by other processes
    refresh_seconds: float = Field(default=1.0, gt=0, le=300)
    # the currency of internal prices, costs and budgets (ISO 4217 code), shown with every amount
    currency: str = Field(default="EUR", pattern=r"^[A-Z]{3}$")

    @field_validator("classification_hosting")
    @classmethod
    def _all_classes(
        cls, value: dict[Classification, tuple[Hosting, ...]]
    ) -> dict[Classification, tuple[Hosting, ...]]:
        merged = {**_default_hosting(), **value}
        return merged

    @field_validator("required_model_facts")
    @classmethod
    def _model_tiers(
        cls, value: dict[RiskTier, tuple[ModelFact, ...]]
    ) -> dict[RiskTier, tuple[ModelFact, ...]]:
        return {**_default_model_facts(), **value}

    @field_validator("required_use_case_facts")
    @classmethod
    def _use_case_tiers(
        cls, value: dict[RiskTier, tuple[UseCaseFact, ...]]
    ) -> dict[RiskTier, tuple[UseCaseFact, ...]]:
        return {**_default_use_case_facts(), **value}

    @field_validator("retention_days")
    @classmethod
    def _retention(cls, value: dict[RiskTier, int]) -> dict[RiskTier, int]:
        merged = {**_default_retention(), **value}
        for tier, days in merged.items():
            if days < 1:
                raise ValueError(f"retention_days.{tier}: must be at least 1 day, got {days}")
        if merged["high"] < MIN_HIGH_RISK_RETENTION_DAYS:
            raise ValueError(
                f"retention_days.high: {merged['high']} days is too short; records of high-risk"
                f" use cases are kept at least {MIN_HIGH_RISK_RETENTION_DAYS} days (six months,"
                " EU AI Act Art. 26(6))"
            )
        return merged
