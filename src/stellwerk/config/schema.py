"""The shape of ``stellwerk.yaml``. Every model refuses unknown keys and is frozen once loaded.

Secrets never stand in the file: a backend's API key and a department's keys are referenced by
the name of an environment variable (``api_key_env``, ``key_env``) or, for client keys, given as
the SHA-256 of the key (``key_sha256``), so that the file can be committed and shared.
"""

from __future__ import annotations

import re
from typing import Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, PrivateAttr, field_validator, model_validator

from stellwerk.config.backend import BackendConfig, Breaker, Timeouts
from stellwerk.config.base import (
    Capability,
    Classification,
    Hosting,
    Lifecycle,
    ModelFact,
    MofClass,
    Openness,
    RiskTier,
    Role,
    SizeClass,
    Strict,
    UseCaseFact,
    check_env,
    check_name,
    each_once,
    refuse_prohibited,
    same_origin,
)
from stellwerk.config.governance import (
    MIN_HIGH_RISK_RETENTION_DAYS,
    DepartmentConfig,
    GovernanceConfig,
    KeyConfig,
    UsageLimits,
    UseCaseConfig,
    new_use_case_name,
)
from stellwerk.config.key_class import lowered_class
from stellwerk.config.plain_text import plain_text
from stellwerk.config.router import RouterConfig, ShadowConfig
from stellwerk.money import MAX_PRICE, cost_micro

# the backends, the governance part and the shared types live in their own modules; this module
# stays the one place to import the config's shape from
__all__ = [
    "MIN_HIGH_RISK_RETENTION_DAYS",
    "BackendConfig",
    "Breaker",
    "Capability",
    "Classification",
    "DashboardConfig",
    "DepartmentConfig",
    "GovernanceConfig",
    "Hosting",
    "KeyConfig",
    "Lifecycle",
    "Limits",
    "ModelConfig",
    "ModelFact",
    "MofClass",
    "Openness",
    "Price",
    "RiskTier",
    "Role",
    "RouteConfig",
    "RouterConfig",
    "ServerConfig",
    "ShadowConfig",
    "SizeClass",
    "StellwerkConfig",
    "Timeouts",
    "UsageLimits",
    "UseCaseConfig",
    "UseCaseFact",
]


class Price(Strict):
    """Internal price per one million tokens, in the organisation's currency unit."""

    input_per_mtok: float = Field(default=0.0, ge=0, le=MAX_PRICE, allow_inf_nan=False)
    output_per_mtok: float = Field(default=0.0, ge=0, le=MAX_PRICE, allow_inf_nan=False)

    def cost(self, prompt_tokens: float, completion_tokens: float) -> float:
        """What a request of these token counts costs at this price, as a float: for estimates
        (routing, reservations); what is charged is :meth:`cost_micro`."""
        return (
            prompt_tokens * self.input_per_mtok + completion_tokens * self.output_per_mtok
        ) / 1e6

    def cost_micro(self, prompt_tokens: int, completion_tokens: int) -> int:
        """What a request of these token counts is charged, exactly, in micro-units (rounded up
        to a whole micro-unit once)."""
        return cost_micro(
            prompt_tokens, completion_tokens, self.input_per_mtok, self.output_per_mtok
        )


class ModelConfig(Strict):
    id: str
    backend: str
    upstream: str
    params_b: float = Field(gt=0)
    size_class: SizeClass
    context_length: int = Field(default=4096, gt=0)
    capabilities: tuple[Capability, ...] = ("chat",)
    thinking_switch: str | None = None
    """The chat template's variable that turns a thinking model's thinking on and off
    (``enable_thinking`` of Qwen3's template), for a model on a ``kind: openai`` backend: its
    server (llama.cpp, vLLM) is sent ``chat_template_kwargs`` setting it for Ollama's ``think``
    and OpenAI's ``reasoning_effort`` (``stellwerk.backends.thinking``)."""
    languages: tuple[str, ...] = ()
    licence: str | None = None
    openness: Openness = "open_weights"
    hosting: Hosting | None = None
    """Where the model runs; None when the config does not say, which the compliance check lists
    as missing and the policy counts as the least trusted location (``policy.classification``)."""
    lifecycle: Lifecycle = "approved"
    """Seeds the catalog the first time the model is seen; when not stated, ``stellwerk config
    check`` warns (``config.unstated``) that the model is served without review."""
    owner: str | None = None
    price: Price = Price()
    energy_wh_per_1k_tokens: float = Field(default=0.0, ge=0)
    benchmark_score: float | None = Field(default=None, ge=0, le=1)
    family: str | None = Field(default=None, min_length=1, max_length=200, pattern=r"\S")
    """The router places an uncalibrated model beside trained sizes of the same family; by
    default the family is the ``upstream`` name without its size label."""
    # governance facts (all optional; which ones are required depends on the risk tier)
    risk_tier: RiskTier = "minimal"
    model_card_url: str | None = None
    evaluation_url: str | None = None
    oversight_contact: str | None = None
    data_owner: str | None = None
    mof_class: MofClass | None = None
    osi_osaid: bool | None = None

    _id = field_validator("id")(check_name)
    _capabilities = field_validator("capabilities")(each_once("capability"))
    _languages = field_validator("languages")(each_once("language", str.casefold))
    _tier = field_validator("risk_tier", mode="before")(refuse_prohibited)
    # the facts the dashboard, the admin API and the CLI show (config.plain_text)
    _text = field_validator(
        "licence",
        "owner",
        "family",
        "model_card_url",
        "evaluation_url",
        "oversight_contact",
        "data_owner",
    )(plain_text)

    @field_validator("thinking_switch")
    @classmethod
    def _a_variable(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,63}", value):
            raise ValueError(
                f"{value[:64]!r} is not a chat template variable's name (up to 64 letters,"
                " digits and _, not starting with a digit), such as enable_thinking"
            )
        return value

    @model_validator(mode="after")
    def _switch_of_a_thinker(self) -> ModelConfig:
        if self.thinking_switch is not None and "thinking" not in self.capabilities:
            raise ValueError(
                "thinking_switch: the model has no 'thinking' capability; add it to"
                " capabilities, or leave thinking_switch out"
            )
        return self

    @field_validator("id")
    @classmethod
    def _not_a_route(cls, value: str) -> str:
        if value.startswith("auto"):
            raise ValueError("model ids starting with 'auto' are reserved for routes")
        return value

    def energy_wh(self, tokens: float) -> float:
        """The energy estimate, in Wh, of a request of ``tokens`` (prompt and answer alike)."""
        return tokens / 1000 * self.energy_wh_per_1k_tokens


class RouteConfig(Strict):
    """A named route clients select as their model (``auto``, ``auto-economy`` ...).

    ``unfamiliar``: what the route does with a prompt the router finds unfamiliar (familiarity
    below ``router.familiarity_threshold``): ``route`` it like any other, or send it to the
    allowed model of the best overall ``quality``.
    """

    cost_weight: float = Field(ge=0)
    description: str = ""
    unfamiliar: Literal["route", "quality"] = "route"


class DashboardConfig(Strict):
    """The governance dashboard at ``/dashboard``, for keys with the ``admin`` role.

    Session cookies are signed with the secret in the environment variable
    ``session_secret_env`` (at least 32 characters; give every replica the same one). Without it a
    random secret is made at start-up, so sessions end when the process does.
    """

    enabled: bool = True
    session_secret_env: str | None = None
    session_minutes: int = Field(default=480, gt=0, le=7 * 24 * 60)
    # the IANA time zone the pages show times in (e.g. Europe/Berlin); none: the server's own
    timezone: str | None = None

    _env = field_validator("session_secret_env")(check_env)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(
                    f"unknown time zone {value!r}; give an IANA name such as Europe/Berlin"
                ) from None
        return value


class Limits(Strict):
    """Per-request limits; each refusal is a clear 4xx or 429."""

    max_messages: int = Field(default=1000, ge=1)
    max_tokens: int = Field(default=32768, ge=1)
    # texts in one embeddings request (OpenAI's API takes at most 2048)
    max_embedding_inputs: int = Field(default=2048, ge=1)
    max_streams_per_key: int = Field(default=32, ge=1)
    # requests of one key in flight at once, of every kind; a key or department may set its own
    max_in_flight_per_key: int = Field(default=32, ge=1)


class ServerConfig(Strict):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    database_url: str = "sqlite:///stellwerk.db"
    max_body_bytes: int = Field(default=4 * 1024 * 1024, gt=0)
    cors_origins: tuple[str, ...] = ()
    limits: Limits = Limits()
    shutdown_grace_s: float = Field(default=30.0, ge=0)
    # Longer than clients' own idle limits (httpx, and so the openai SDK, keep 5 s): the server
    # must not close an idle connection at the moment a client reuses it.
    keep_alive_s: float = Field(default=75.0, gt=0)
    redis_url: str | None = None
    redis_password_env: str | None = None
    redis_prefix: str = Field(default="stellwerk:", min_length=1, max_length=64)
    # A client's request head (line and headers) must arrive within header_timeout_s of its first
    # byte (or of the connection's opening), its body within body_timeout_s of the head.
    header_timeout_s: float = Field(default=20.0, gt=0, le=3600)
    body_timeout_s: float = Field(default=120.0, gt=0, le=3600)
    # a longer request line and headers get 431 (the parser holds an unfinished head in memory)
    max_header_bytes: int = Field(default=64 * 1024, ge=4096)
    # /metrics and the per-backend detail of /readyz need a key of the role metrics or admin
    ops_require_key: bool = True
    # /docs and /redoc load Swagger UI and ReDoc from api_docs_assets_url (a CDN by default):
    # off unless enabled; /openapi.json is always served
    api_docs: bool = False
    api_docs_assets_url: str = "https://cdn.jsdelivr.net/npm"

    _redis_env = field_validator("redis_password_env")(check_env)
    _origins = field_validator("cors_origins")(each_once("origin", same_origin))

    @field_validator("database_url")
    @classmethod
    def _database(cls, value: str) -> str:
        """Read as the ledger will read it, as far as that is possible without its driver: a
        scheme, and a port that is a number (the URL itself is not echoed: it may hold a
        password)."""
        parts = urlsplit(value)
        if not re.fullmatch(r"[a-z][a-z0-9+.-]*", parts.scheme) or "://" not in value:
            raise ValueError(
                "not a database URL; give sqlite:///path/to/stellwerk.db or"
                " postgresql+psycopg://user@host/database"
            )
        database = parts.scheme.split("+", 1)[0]
        if database not in ("sqlite", "postgresql"):
            raise ValueError(
                f"the ledger keeps its records in SQLite or PostgreSQL, not {database!r}; give"
                " sqlite:///path/to/stellwerk.db or postgresql+psycopg://user@host/database"
            )
        try:
            parts.port  # noqa: B018 - reading it checks it
        except ValueError as exc:
            raise ValueError("the database URL's port is not a number from 0 to 65535") from exc
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis(cls, value: str | None) -> str | None:
        if value is None:
            return None
        match = re.match(r"^(rediss?|unix)://(?:([^@/]*)@)?", value)
        if match is None:
            raise ValueError(f"{value!r} is not a redis://, rediss:// or unix:// URL")
        if match.group(2) and ":" in match.group(2):
            raise ValueError(
                "the Redis URL holds a password; give the URL without it and name the"
                " environment variable that holds it in server.redis_password_env"
            )
        return value


def _default_routes() -> dict[str, RouteConfig]:
    return {
        "auto": RouteConfig(cost_weight=0.5, description="balanced quality and cost"),
        "auto-economy": RouteConfig(cost_weight=2.0, description="cheapest adequate model"),
        "auto-quality": RouteConfig(cost_weight=0.1, description="best answer, cost secondary"),
    }


class StellwerkConfig(Strict):
    server: ServerConfig = ServerConfig()
    backends: tuple[BackendConfig, ...]
    models: tuple[ModelConfig, ...]
    departments: tuple[DepartmentConfig, ...] = ()
    routes: dict[str, RouteConfig] = Field(default_factory=_default_routes)
    router: RouterConfig = RouterConfig()
    dashboard: DashboardConfig = DashboardConfig()
    governance: GovernanceConfig = GovernanceConfig()
    use_cases: tuple[UseCaseConfig, ...] = ()
    # not a key of the file: where it was read from (``load_config``), for the audit log
    _source: str | None = PrivateAttr(default=None)

    @property
    def source(self) -> str | None:
        """The path of the file this config was read from; ``None`` for one built in code."""
        return self._source

    def read_from(self, path: str) -> StellwerkConfig:
        """This config, marked as read from ``path`` (copies keep the mark)."""
        copy = self.model_copy()
        copy._source = path
        return copy

    @field_validator("routes")
    @classmethod
    def _route_names(cls, value: dict[str, RouteConfig]) -> dict[str, RouteConfig]:
        for name in value:
            if not name.startswith("auto"):
                raise ValueError(f"route {name!r}: route names start with 'auto'")
        return value

    @model_validator(mode="after")
    def _references(self) -> StellwerkConfig:
        _unique("backends", [b.name for b in self.backends])
        _unique("models", [m.id for m in self.models])
        _unique("departments", [d.name for d in self.departments])
        _unique("keys", [k.id for d in self.departments for k in d.keys])
        backends = {b.name: b for b in self.backends}
        for i, model in enumerate(self.models):
            if model.backend not in backends:
                raise ValueError(
                    f"models.{i}.backend: {model.backend!r} is not a configured backend"
                    f" (known: {', '.join(sorted(backends)) or 'none'})"
                )
            if model.thinking_switch is not None and backends[model.backend].kind != "openai":
                raise ValueError(
                    f"models.{i}.thinking_switch: backend {model.backend!r} is an Ollama"
                    " server, which is sent think itself; leave thinking_switch out"
                )
        models = {m.id for m in self.models}
        for i, dept in enumerate(self.departments):
            for name in dept.allowed_models or ():
                if name not in models:
                    raise ValueError(
                        f"departments.{i}.allowed_models: {name!r} is not a configured model"
                    )
        self._governance_references(models)
        self._router_references()
        return self

    def _router_references(self) -> None:
        self._shadow_references()
        name = self.router.embedding_model
        if name is None:
            return
        model = next((m for m in self.models if m.id == name), None)
        if model is None:
            raise ValueError(
                f"router.embedding_model: {name!r} is not a configured model"
                f" (known: {', '.join(m.id for m in self.models)})"
            )
        if "embeddings" not in model.capabilities:
            raise ValueError(
                f"router.embedding_model: model {name!r} has no 'embeddings' capability"
            )

    def _shadow_references(self) -> None:
        shadow = self.router.shadow
        departments = {d.name for d in self.departments}
        if shadow.share > 0 and shadow.account is None:
            raise ValueError(
                "router.shadow.account: name the department shadow grading is charged to"
            )
        if shadow.account is not None and shadow.account not in departments:
            raise ValueError(
                f"router.shadow.account: {shadow.account!r} is not a configured department"
            )
        for name in shadow.departments or ():
            if name not in departments:
                raise ValueError(
                    f"router.shadow.departments: {name!r} is not a configured department"
                )
        for name in shadow.routes or ():
            if name not in self.routes:
                raise ValueError(f"router.shadow.routes: {name!r} is not a configured route")

    def _governance_references(self, models: set[str]) -> None:
        _unique("use_cases", [u.name for u in self.use_cases])
        departments = {d.name for d in self.departments}
        use_cases = {u.name: u for u in self.use_cases}
        for i, case in enumerate(self.use_cases):
            try:
                new_use_case_name(case.name)
            except ValueError as exc:
                raise ValueError(f"use_cases.{i}.name: {exc}") from None
            if case.department not in departments:
                raise ValueError(
                    f"use_cases.{i}.department: {case.department!r} is not a configured department"
                )
            for name in case.allowed_models or ():
                if name not in models:
                    raise ValueError(
                        f"use_cases.{i}.allowed_models: {name!r} is not a configured model"
                    )
        for i, model in enumerate(self.models):
            if model.data_owner is not None and model.data_owner not in departments:
                raise ValueError(
                    f"models.{i}.data_owner: {model.data_owner!r} is not a configured department"
                    " (the data owner's owner keys manage the model's consent)"
                )
        for i, dept in enumerate(self.departments):
            for j, key in enumerate(dept.keys):
                if key.use_case is None:
                    _key_class(key, None, dept, f"departments.{i}.keys.{j}")
                    continue
                bound = use_cases.get(key.use_case)
                if bound is None:
                    raise ValueError(
                        f"departments.{i}.keys.{j}.use_case: {key.use_case!r} is not a configured"
                        " use case"
                    )
                if bound.department != dept.name:
                    raise ValueError(
                        f"departments.{i}.keys.{j}.use_case: use case {bound.name!r} belongs to"
                        f" department {bound.department!r}, not {dept.name!r}"
                    )
                _key_class(key, bound, dept, f"departments.{i}.keys.{j}")


def _key_class(
    key: KeyConfig, use_case: UseCaseConfig | None, department: DepartmentConfig, where: str
) -> None:
    """A config key's own class below its use case's or department's is refused at load, as
    ``stellwerk keys create`` and ``POST /admin/keys`` refuse it."""
    problem = lowered_class(key.classification, use_case, department)
    if problem is not None:
        raise ValueError(f"{where}.classification: key {key.id!r}: {problem}")


def _unique(what: str, names: list[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ValueError(f"{what}: {name!r} is defined twice")
        seen.add(name)
