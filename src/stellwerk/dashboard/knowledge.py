"""How the running gateway's router knows each model: measured (trained on its outcome data,
calibrated) or placed from its catalog facts. Read from the router the gateway routes with (its
artifact loaded once at start-up), never from the artifact on disk."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import get_args

from fastapi import Request

from stellwerk.config.schema import ModelConfig
from stellwerk.dashboard.services import runtime_of
from stellwerk.routing.base import Router
from stellwerk.routing.candidate import candidate
from stellwerk.routing.knowledge import Basis, Knowledge

BASES: tuple[Basis, ...] = get_args(Basis)


@dataclass(frozen=True, slots=True)
class KnownModel:
    model_id: str
    knowledge: Knowledge


def router_of(request: Request) -> Router:
    """The router the running gateway decides with."""
    return runtime_of(request).selector.router


def model_knowledge(router: Router, model: ModelConfig) -> Knowledge:
    """How ``router`` knows ``model``, from the facts a routed request gives it; a model that
    cannot chat (an embedding model) is never a route's candidate, so it is not rated."""
    if "chat" not in model.capabilities:
        return Knowledge("not_routed")
    return router.knowledge(candidate(model))


def by_basis(router: Router, models: Iterable[ModelConfig]) -> list[tuple[Basis, list[KnownModel]]]:
    """The models grouped by how ``router`` knows them, measured first; empty groups left out."""
    known = [KnownModel(m.id, model_knowledge(router, m)) for m in models]
    groups = [(basis, [k for k in known if k.knowledge.basis == basis]) for basis in BASES]
    return [(basis, members) for basis, members in groups if members]
