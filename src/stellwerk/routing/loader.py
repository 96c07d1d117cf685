"""Turning the config's ``router:`` section into a ``Router``, by the named registry of routers.

``kind: learned`` with ``artifact: null`` loads the router shipped in the package
(``stellwerk/routing/shipped/``); a path loads that artifact instead. A corrupt or foreign
artifact raises ``ArtifactError`` here, so the gateway refuses to start with it, and so does an
artifact trained with embeddings when ``router.embedding_model`` is not set.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from stellwerk.config.schema import RouterConfig
from stellwerk.errors import ConfigError
from stellwerk.routing.artifact import load_artifact
from stellwerk.routing.base import FirstAllowedRouter, Router
from stellwerk.routing.familiarity import DEFAULT_THRESHOLD
from stellwerk.routing.knowledge import calibrated_models
from stellwerk.routing.learned import LearnedRouter

RouterFactory = Callable[[RouterConfig], Router]
"""Builds a router from the config's ``router:`` section; refuses settings it cannot use with a
``ConfigError`` (or, for a saved router, an ``ArtifactError``)."""


def shipped_artifact() -> Path:
    """The directory of the router artifact that comes with the package."""
    return Path(__file__).resolve().parent / "shipped"


def load_learned(
    path: str | Path | None = None, *, familiarity_threshold: float = DEFAULT_THRESHOLD
) -> LearnedRouter:
    """The learned router from ``path`` (or the shipped one)."""
    artifact = load_artifact(shipped_artifact() if path is None else Path(path))
    return LearnedRouter(
        artifact.model,
        version=artifact.version,
        calibrated=calibrated_models(artifact.info),
        familiarity_threshold=familiarity_threshold,
    )


def learned_router(config: RouterConfig) -> LearnedRouter:
    """``kind: learned``: the artifact the config names (or the shipped one), refused when it
    needs prompt embeddings and the config names no model to serve them."""
    router = load_learned(config.artifact, familiarity_threshold=config.familiarity_threshold)
    head = router.model.embedding
    if router.needs_embedding and head is not None and config.embedding_model is None:
        raise ConfigError(
            f"router.embedding_model: the artifact {config.artifact} was trained with"
            f" embeddings of {head.model!r} ({head.dimensions} dimensions); name the model"
            " of this config that serves them"
        )
    return router


def first_allowed(config: RouterConfig) -> FirstAllowedRouter:
    """``kind: first``: nothing to load, so an ``artifact`` is a mistake in the config."""
    if config.artifact is not None:
        raise ConfigError(f"router.artifact: the {config.kind!r} router takes no artifact")
    return FirstAllowedRouter()


def builtin_routers() -> Mapping[str, RouterFactory]:
    """The named registry of built-in routers; third-party routers register the same way."""
    return {"first": first_allowed, "learned": learned_router}


def load_router(config: RouterConfig) -> Router:
    """Build the router the config asks for; unknown kinds are a ``ConfigError``."""
    factories = builtin_routers()
    factory = factories.get(config.kind)
    if factory is None:
        known = ", ".join(sorted(factories))
        raise ConfigError(f"router.kind: {config.kind!r} is not a router (known: {known})")
    return factory(config)
