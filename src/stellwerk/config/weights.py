"""Which catalog ids serve the same weights.

Governance is kept per catalog id (``models[].id``): its lifecycle, its data owner's consent, its
hosting. But a request reaches weights, not an id: two ids whose backends name the same server
and whose ``upstream`` names the same model there reach the same weights. A model's weights are
known here by that pair, ``Weights``:

- the server: its backend's ``base_url``, its scheme and host in lower case, the default port
  written out, without a trailing ``/`` and (``kind: openai``, whose requests go to ``/v1`` either
  way) without a trailing ``/v1``; two backends of one address are one server, however the URL
  spells it (``server_of``: ``.``/``..`` segments and repeated ``/`` resolved, a host's trailing
  dot dropped, an IP address in one form, ``localhost``, ``127.0.0.1`` and ``::1`` one host;
  an IPv4-mapped IPv6 address, ``[::ffff:127.0.0.1]``, is its IPv4 address, and the IPv4 forms
  that the resolver reads (``inet_aton``: ``0x7f.0.0.1``, ``0177.0.0.1``, ``127.1``,
  ``2130706433``) are written as dotted IPv4);
- the name: ``upstream``; for ``kind: ollama`` with Ollama's default tag (``mistral`` is
  ``mistral:latest``) and without its default registry's prefix (``registry.ollama.ai/library/``).

What follows from it: a data owner's withdrawal of consent holds for every id serving the same
weights (``stellwerk.policy.weights``); ids of the same weights must state the same ``hosting``
(one server is in one place), or the config is refused at load (``hosting_errors``, raised by
``refuse_split_hosting`` in ``parse_config`` and ``create_app``); and ``stellwerk config check``
and ``stellwerk serve`` warn of ids of the same weights whose data owner or lifecycle differ
(``weights_warnings``), which may be meant (an id retired while its weights serve on under a new
one).

A server that serves one model whatever name it is asked for (a llama.cpp ``llama-server``
started with one model file) is not seen through: its different names count as different
weights. Nor are two DNS names of one server (``gpu-1`` and ``gpu-1.corp.example``, a name and
its address): no name is resolved here (the answer could change after the start; the config is
the operator's, and its changes are audited).
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass
from urllib.parse import urlsplit

from stellwerk.config.schema import BackendConfig, ModelConfig, StellwerkConfig
from stellwerk.errors import ConfigError

_OLLAMA_REGISTRY = "registry.ollama.ai/library/"
_DEFAULT_PORTS = {"http": 80, "https": 443}
_LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}
#: what an IPv4 address in one of ``inet_aton``'s forms is written with (decimal, octal, hex parts)
_INET_ATON_FORM = re.compile(r"[0-9a-fx.]+")

#: the governance facts that ids of the same weights are warned of when they differ, as the config
#: names them (``hosting`` must agree: ``hosting_errors``)
COMPARED: tuple[str, ...] = ("data_owner", "lifecycle")


@dataclass(frozen=True, slots=True)
class Weights:
    """The weights a model id reaches: the server's address and the name it serves them by."""

    server: str
    upstream: str


def weights_of(model: ModelConfig, backend: BackendConfig) -> Weights:
    """The weights ``model`` reaches on ``backend`` (its own backend)."""
    server = server_of(backend.base_url, strip_v1=backend.kind == "openai")
    upstream = model.upstream
    if backend.kind == "ollama":
        upstream = upstream.removeprefix(_OLLAMA_REGISTRY)
        if ":" not in upstream.rsplit("/", 1)[-1]:
            upstream += ":latest"
    return Weights(server, upstream)


def server_of(base_url: str, *, strip_v1: bool) -> str:
    """The server ``base_url`` names, one spelling for each: ``http://localhost:8000/v1`` and
    ``HTTP://[::1]:8000//./v1/`` are ``http://127.0.0.1:8000/v1`` (module docstring); a
    trailing ``/v1`` dropped when ``strip_v1``."""
    parts = urlsplit(base_url)
    scheme = parts.scheme.lower()
    port = parts.port or _DEFAULT_PORTS.get(scheme)
    path = _path(parts.path)
    if strip_v1 and path.endswith("/v1"):
        path = path[: -len("/v1")]
    return f"{scheme}://{_host(parts.hostname or '')}:{port}{path}"


def _host(hostname: str) -> str:
    """A host in one form: lower case (``hostname`` is), no trailing dot, an IP address as
    ``ipaddress`` writes it (IPv6 in brackets, an IPv4-mapped one as its IPv4 address, IPv4 in
    any of ``inet_aton``'s forms dotted), the loopback names as ``127.0.0.1``."""
    host = _inet_aton(hostname.rstrip("."))
    with suppress(ValueError):  # not an address: a name, kept as it is
        address = ipaddress.ip_address(host)
        mapped = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
        host = (mapped or address).compressed
    if host in _LOOPBACK_NAMES:
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def _inet_aton(host: str) -> str:
    """``host`` as dotted IPv4 if it is an IPv4 address in a form the resolver reads
    (``inet_aton``: ``0x7f.0.0.1``, ``0177.0.0.1``, ``127.1``, ``2130706433``), else as it is.
    Only digits, ``x`` and dots are tried: a name (``gpu-1``, ``face``) is never an address."""
    if not _INET_ATON_FORM.fullmatch(host) or not host[:1].isdigit():
        return host
    try:
        return socket.inet_ntoa(socket.inet_aton(host))
    except OSError:  # not an address in any form: a name, kept as it is
        return host


def _path(path: str) -> str:
    """``path`` with repeated ``/`` as one, ``.`` and ``..`` segments resolved (as RFC 3986
    does: ``..`` above the root stays at the root) and no trailing ``/``."""
    kept: list[str] = []
    for segment in re.sub("/+", "/", path).split("/"):
        if segment == "..":
            if kept:
                kept.pop()
        elif segment not in ("", "."):
            kept.append(segment)
    return "".join(f"/{segment}" for segment in kept)


def shared_weights(config: StellwerkConfig) -> tuple[tuple[ModelConfig, ...], ...]:
    """The ids that serve the same weights as another, in groups (config order, each group in
    the order of its first id); ids of weights no other id serves are in none."""
    backends = {b.name: b for b in config.backends}
    groups: dict[Weights, list[ModelConfig]] = {}
    for model in config.models:
        groups.setdefault(weights_of(model, backends[model.backend]), []).append(model)
    return tuple(tuple(group) for group in groups.values() if len(group) > 1)


def same_weights(config: StellwerkConfig) -> Mapping[str, tuple[str, ...]]:
    """For every id that shares its weights, the other ids serving them (config order)."""
    return {
        model.id: tuple(other.id for other in group if other.id != model.id)
        for group in shared_weights(config)
        for model in group
    }


def weights_warnings(config: StellwerkConfig) -> list[str]:
    """One warning for every group of ids of the same weights whose governance facts
    (``COMPARED``) differ, naming the ids and each differing fact's values."""
    backends = {b.name: b for b in config.backends}
    warnings = []
    for group in shared_weights(config):
        facts = []
        for fact in COMPARED:
            values = [getattr(m, fact) for m in group]
            if len(set(values)) > 1:
                said = ", ".join(
                    f"{m.id}: {v or 'none'}" for m, v in zip(group, values, strict=True)
                )
                facts.append(f"{fact} ({said})")
        if not facts:
            continue
        ids = " and ".join(m.id for m in group)
        weights = weights_of(group[0], backends[group[0].backend])
        warnings.append(
            f"models {ids} serve the same weights ({weights.upstream!r} at {weights.server})"
            f" but their governance differs: {'; '.join(facts)}. A data"
            " owner's withdrawal of consent holds for all of them; a lifecycle state holds for"
            " its own id only, so the weights are reachable under the id that allows most:"
            " state the same facts on each, or serve the weights under one id"
            " (docs/config.md, Models that serve the same weights)"
        )
    return warnings


def hosting_errors(config: StellwerkConfig) -> list[str]:
    """One error for every group of ids of the same weights that do not all state the same
    ``hosting``, naming the ids' keys, the ids, each one's hosting, the weights and the fix.

    One server is in one place: with two locations stated for it, a request to the id of the
    more trusted one sends data there that the other's location forbids. An unstated hosting
    (the least trusted location) beside a stated one is a difference too: the weights' place is
    stated on one entry and left open on another, so the ids disagree on it all the same."""
    index = {m.id: i for i, m in enumerate(config.models)}
    backends = {b.name: b for b in config.backends}
    errors = []
    for group in shared_weights(config):
        if len({m.hosting for m in group}) == 1:
            continue
        keys = ", ".join(f"models.{index[m.id]}.hosting" for m in group)
        said = _listed([f"{m.id} ({m.hosting or 'not stated'})" for m in group])
        weights = weights_of(group[0], backends[group[0].backend])
        unstated = [m.id for m in group if m.hosting is None]
        lacking = ""
        if unstated:
            verb = "states" if len(unstated) == 1 else "state"
            lacking = f" ({_listed(unstated)} {verb} none: the least trusted location)"
        errors.append(
            f"{keys}: models {said} serve the same weights ({weights.upstream!r} at"
            f" {weights.server}) but state different hosting{lacking}. One server is in one"
            " place: through the id with the more trusted hosting, data that the other's"
            " hosting forbids would reach these weights. Give them the same hosting, or point"
            " them at different servers (docs/config.md, Models that serve the same weights)"
        )
    return errors


def refuse_split_hosting(config: StellwerkConfig, source: str = "<config>") -> None:
    """Raise ``ConfigError`` (``source``: where the config came from) naming every group of ids
    of the same weights that state different hosting (``hosting_errors``)."""
    errors = hosting_errors(config)
    if errors:
        raise ConfigError(f"{source}: invalid config:\n  " + "\n  ".join(errors))


def _listed(names: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
