"""Which catalog ids serve the same weights.

Governance is kept per catalog id (``models[].id``): its lifecycle, its data owner's consent, its
hosting. But a request reaches weights, not an id: two ids whose backends name the same server
and whose ``upstream`` names the same model there reach the same weights. A model's weights are
known here by that pair, ``Weights``:

- the server: its backend's ``base_url``, its scheme and host in lower case, the default port
  written out, without a trailing ``/`` and (``kind: openai``, whose requests go to ``/v1`` either
  way) without a trailing ``/v1``; two backends of one address are one server;
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
weights.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from stellwerk.config.schema import BackendConfig, ModelConfig, StellwerkConfig
from stellwerk.errors import ConfigError

_OLLAMA_REGISTRY = "registry.ollama.ai/library/"
_DEFAULT_PORTS = {"http": 80, "https": 443}

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
    parts = urlsplit(backend.base_url)
    scheme = parts.scheme.lower()
    port = parts.port or _DEFAULT_PORTS.get(scheme)
    path = parts.path.rstrip("/")
    if backend.kind == "openai" and path.endswith("/v1"):
        path = path[: -len("/v1")]
    host = (parts.hostname or "").lower()
    if ":" in host:  # an IPv6 address, in brackets as in the URL
        host = f"[{host}]"
    server = f"{scheme}://{host}:{port}{path}"
    upstream = model.upstream
    if backend.kind == "ollama":
        upstream = upstream.removeprefix(_OLLAMA_REGISTRY)
        if ":" not in upstream.rsplit("/", 1)[-1]:
            upstream += ":latest"
    return Weights(server, upstream)


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
