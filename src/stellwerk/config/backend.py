"""The part of ``stellwerk.yaml`` that says how to reach a model server: its address and kind,
the timeouts of a call and the circuit breaker (``stellwerk.config.schema`` re-exports it)."""

from __future__ import annotations

import re
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, field_validator, model_validator

from stellwerk.config.base import Strict, check_env, check_name
from stellwerk.config.governed_params import NOT_PASSED_ON
from stellwerk.config.plain_text import plain_text

#: a request parameter's name, as ``pass_params`` lists it: a top-level one, or a key inside the
#: request's objects by its place, each list's indexes left out (``messages[].prefix``)
_PARAM = re.compile(r"(?=.{1,128}$)[A-Za-z_]\w{0,63}(\[\])*(\.[A-Za-z_]\w{0,63}(\[\])*)*", re.ASCII)


class Timeouts(Strict):
    """Seconds. ``first_token`` is long by default: Ollama loads a model on first use and sends
    nothing until it generates."""

    connect: float = Field(default=5.0, gt=0)
    first_token: float = Field(default=300.0, gt=0)
    total: float = Field(default=900.0, gt=0)


class Breaker(Strict):
    """The circuit breaker of a backend: after ``failures`` failures in a row it is skipped for
    ``cooldown_s``; a health probe every ``probe_interval_s`` closes it again once it answers."""

    failures: int = Field(default=3, ge=1)
    cooldown_s: float = Field(default=10.0, gt=0)
    probe_interval_s: float = Field(default=5.0, gt=0)
    probe_timeout_s: float = Field(default=5.0, gt=0)


class BackendConfig(Strict):
    """``dialect`` names the server behind ``kind: openai`` when it needs valid OpenAI requests
    changed (``stellwerk.backends.dialects``): ``llamacpp`` for llama.cpp servers, ``generic``
    (the default) passes requests through as they are (vLLM, LocalAI).

    ``remote_image_urls`` lets clients' http(s) image URLs through to the server, which fetches
    them itself, from where it runs (a client could make it fetch an internal address); off, a
    ``kind: openai`` backend gets images inline (``data:`` URLs) only
    (``stellwerk.backends.images``).

    ``pass_params`` names the request parameters the gateway does not know that it passes on
    to this backend (a ``kind: openai`` one) as the client sent them; any other it does not know
    is refused (``stellwerk.gateway.unknown_params``). A parameter the gateway governs itself
    (``stellwerk.config.governed_params``) cannot be listed: the config names why."""

    name: str
    kind: Literal["openai", "ollama"]
    base_url: str
    dialect: Literal["generic", "llamacpp"] = "generic"
    api_key_env: str | None = None
    timeouts: Timeouts = Timeouts()
    breaker: Breaker = Breaker()
    remote_image_urls: bool = False
    pass_params: tuple[str, ...] = ()

    _name = field_validator("name")(check_name)
    _env = field_validator("api_key_env")(check_env)

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        """An http(s) URL, its scheme in lower case (schemes are case-insensitive: ``HTTP://``
        is ``http://``), no ``/`` at its end."""
        if not re.match(r"^https?://[^\s/]+", value, re.IGNORECASE):
            raise ValueError(f"{shown_address(value)!r} is not an http(s) URL")
        plain_text(value)  # a line break or a hidden character: not one address as shown
        if re.search(r"\s", value):
            raise ValueError(f"{shown_address(value)!r} holds a space; a URL has none (%20)")
        if "\\" in value:  # urllib reads a host after it, aiohttp refuses it: no one address
            raise ValueError(
                f"{shown_address(value)!r} holds a backslash; a URL has none (%5C), and parsers"
                " disagree on the host of one that does"
            )
        scheme, sep, rest = value.partition("://")
        value = scheme.lower() + sep + rest
        if "?" in value or "#" in value:
            # the backends append their paths to base_url: a query would end up before them
            raise ValueError(
                f"base_url takes no query or fragment: {shown_address(value)!r} (give the"
                " server's address only; a token goes in api_key_env)"
            )
        return value.rstrip("/")

    @field_validator("pass_params")
    @classmethod
    def _passable(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        seen: set[str] = set()
        for name in names:
            if not _PARAM.fullmatch(name):
                raise ValueError(
                    f"{name[:64]!r} is not a request parameter's name (letters, digits and _,"
                    " starting with a letter or _, at most 64 characters; a key inside the"
                    " request's objects by its place, messages[].prefix, at most 128)"
                )
            if name in NOT_PASSED_ON:
                raise ValueError(f"{name!r} cannot be passed on: {NOT_PASSED_ON[name]}")
            if name in seen:
                raise ValueError(f"{name!r} is listed twice")
            seen.add(name)
        return names

    @model_validator(mode="after")
    def _openai_only(self) -> BackendConfig:
        if self.api_key_env and urlsplit(self.base_url).username is not None:
            raise ValueError(
                f"backend {self.name!r}: give the backend's credentials either in base_url"
                " (user:password@) or by api_key_env (a bearer token), not both: a request"
                " carries one Authorization header"
            )
        if self.dialect != "generic" and self.kind != "openai":
            raise ValueError(
                f"backend {self.name!r}: dialect {self.dialect!r} applies to kind 'openai' only"
            )
        if self.remote_image_urls and self.kind != "openai":
            raise ValueError(
                f"backend {self.name!r}: remote_image_urls applies to kind 'openai' only"
                " (Ollama's API takes images inline only)"
            )
        if self.pass_params and self.kind != "openai":
            raise ValueError(
                f"backend {self.name!r}: pass_params applies to kind 'openai' only (an Ollama"
                " server is sent the options of Ollama's API the gateway knows)"
            )
        return self


def shown_address(url: str) -> str:
    """``url`` as it may be printed or logged: a user and password in it as ``***``, the
    values of its query as ``***`` (``http://***@host:8000/v1?api_key=***``), a fragment as
    ``***``; an empty query or fragment is shown (``/v1?``, ``/v1#``), as is the scheme's
    case."""
    try:
        parts = urlsplit(url)
    except ValueError:  # not a URL urllib can read (an unclosed IPv6 bracket): nothing of it
        return "***"
    netloc = parts.netloc
    if "@" in netloc:
        netloc = "***@" + netloc.rpartition("@")[2]
    query = "&".join(
        f"{pair.partition('=')[0]}=***" if "=" in pair else pair
        for pair in parts.query.split("&")
        if pair
    )
    scheme = url[: len(parts.scheme)] + ":" if parts.scheme else ""
    shown = scheme + urlunsplit(("", netloc, parts.path, "", ""))
    if "?" in url.partition("#")[0]:  # the query's start: "?" ends a netloc and a path
        shown += "?" + query
    if "#" in url:
        shown += "#***" if parts.fragment else "#"
    return shown
