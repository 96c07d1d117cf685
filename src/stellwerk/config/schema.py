"""The shape of ``stellwerk.yaml``. Every model refuses unknown keys and is frozen once loaded.

Secrets never stand in the file: a backend's API key and a department's keys are referenced by
the name of an environment variable (``api_key_env``, ``key_env``) or, for client keys, given as
the SHA-256 of the key (``key_sha256``), so that the file can be committed and shared.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

SizeClass = Literal["small", "medium", "large"]
Lifecycle = Literal["proposed", "in_review", "approved", "deprecated", "retired"]
Capability = Literal["chat", "tools", "vision", "embeddings", "json"]
Classification = Literal["public", "internal", "confidential", "secret"]
Openness = Literal["open_weights", "open_model", "open_tooling", "open_science", "closed"]
Hosting = Literal["on_prem", "eu_cloud", "non_eu_cloud"]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$")
_ENV = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_name(value: str) -> str:
    if not _NAME.match(value):
        raise ValueError(
            f"{value!r} is not a valid name: use letters, digits and . _ : / - (at most 128)"
        )
    return value


def _check_env(value: str | None) -> str | None:
    if value is not None and not _ENV.match(value):
        raise ValueError(f"{value!r} is not an environment variable name")
    return value


class Timeouts(_Strict):
    """Seconds. ``first_token`` is long by default: Ollama loads a model on first use and sends
    nothing until it generates."""

    connect: float = Field(default=5.0, gt=0)
    first_token: float = Field(default=300.0, gt=0)
    total: float = Field(default=900.0, gt=0)


class Breaker(_Strict):
    """The circuit breaker of a backend: after ``failures`` failures in a row it is skipped for
    ``cooldown_s``; a health probe every ``probe_interval_s`` closes it again once it answers."""

    failures: int = Field(default=3, ge=1)
    cooldown_s: float = Field(default=10.0, gt=0)
    probe_interval_s: float = Field(default=5.0, gt=0)
    probe_timeout_s: float = Field(default=5.0, gt=0)


class BackendConfig(_Strict):
    name: str
    kind: Literal["openai", "ollama"]
    base_url: str
    api_key_env: str | None = None
    timeouts: Timeouts = Timeouts()
    breaker: Breaker = Breaker()

    _name = field_validator("name")(_check_name)
    _env = field_validator("api_key_env")(_check_env)

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not re.match(r"^https?://[^\s/]+", value):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value.rstrip("/")


class Price(_Strict):
    """Internal price per one million tokens, in the organisation's currency unit."""

    input_per_mtok: float = Field(default=0.0, ge=0)
    output_per_mtok: float = Field(default=0.0, ge=0)


class ModelConfig(_Strict):
    id: str
    backend: str
    upstream: str
    params_b: float = Field(gt=0)
    size_class: SizeClass
    context_length: int = Field(default=4096, gt=0)
    capabilities: tuple[Capability, ...] = ("chat",)
    languages: tuple[str, ...] = ()
    licence: str | None = None
    openness: Openness = "open_weights"
    hosting: Hosting = "on_prem"
    lifecycle: Lifecycle = "approved"
    owner: str | None = None
    price: Price = Price()
    energy_wh_per_1k_tokens: float = Field(default=0.0, ge=0)
    benchmark_score: float | None = Field(default=None, ge=0, le=1)

    _id = field_validator("id")(_check_name)

    @field_validator("id")
    @classmethod
    def _not_a_route(cls, value: str) -> str:
        if value.startswith("auto"):
            raise ValueError("model ids starting with 'auto' are reserved for routes")
        return value


class KeyConfig(_Strict):
    """A client key of a department: by env var name (hashed at start-up) or by its SHA-256."""

    id: str
    key_env: str | None = None
    key_sha256: str | None = None

    _id = field_validator("id")(_check_name)
    _env = field_validator("key_env")(_check_env)

    @field_validator("key_sha256")
    @classmethod
    def _sha(cls, value: str | None) -> str | None:
        if value is not None and not _SHA256.match(value):
            raise ValueError("key_sha256 must be 64 lowercase hex digits")
        return value

    @model_validator(mode="after")
    def _one_source(self) -> KeyConfig:
        if (self.key_env is None) == (self.key_sha256 is None):
            raise ValueError(f"key {self.id!r}: give exactly one of key_env or key_sha256")
        return self


class DepartmentConfig(_Strict):
    name: str
    keys: tuple[KeyConfig, ...] = ()
    classification: Classification = "internal"
    allowed_models: tuple[str, ...] | None = None

    _name = field_validator("name")(_check_name)


class RouteConfig(_Strict):
    """A named route clients select as their model (``auto``, ``auto-economy`` ...)."""

    cost_weight: float = Field(ge=0)
    description: str = ""


class RouterConfig(_Strict):
    """Which router answers the routes; ``artifact`` null: the router shipped in the package."""

    kind: str = "learned"
    artifact: str | None = None


class Limits(_Strict):
    """Per-request limits; each refusal is a clear 4xx or 429."""

    max_messages: int = Field(default=1000, ge=1)
    max_tokens: int = Field(default=32768, ge=1)
    max_streams_per_key: int = Field(default=32, ge=1)


class ServerConfig(_Strict):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    database_url: str = "sqlite:///stellwerk.db"
    max_body_bytes: int = Field(default=4 * 1024 * 1024, gt=0)
    cors_origins: tuple[str, ...] = ()
    limits: Limits = Limits()
    shutdown_grace_s: float = Field(default=30.0, ge=0)


def _default_routes() -> dict[str, RouteConfig]:
    return {
        "auto": RouteConfig(cost_weight=0.5, description="balanced quality and cost"),
        "auto-economy": RouteConfig(cost_weight=2.0, description="cheapest adequate model"),
        "auto-quality": RouteConfig(cost_weight=0.1, description="best answer, cost secondary"),
    }


class StellwerkConfig(_Strict):
    server: ServerConfig = ServerConfig()
    backends: tuple[BackendConfig, ...]
    models: tuple[ModelConfig, ...]
    departments: tuple[DepartmentConfig, ...] = ()
    routes: dict[str, RouteConfig] = Field(default_factory=_default_routes)
    router: RouterConfig = RouterConfig()

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
        backends = {b.name for b in self.backends}
        for i, model in enumerate(self.models):
            if model.backend not in backends:
                raise ValueError(
                    f"models.{i}.backend: {model.backend!r} is not a configured backend"
                    f" (known: {', '.join(sorted(backends)) or 'none'})"
                )
        models = {m.id for m in self.models}
        for i, dept in enumerate(self.departments):
            for name in dept.allowed_models or ():
                if name not in models:
                    raise ValueError(
                        f"departments.{i}.allowed_models: {name!r} is not a configured model"
                    )
        return self


def _unique(what: str, names: list[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ValueError(f"{what}: {name!r} is defined twice")
        seen.add(name)
