"""How a router knows a model: measured (trained on its outcome data, or placed by a calibration
run) or only guessed from its catalog facts (its benchmark score, else its size and family).

The dashboard shows it on every model's page, so that an operator sees which models the router
rates from measurements and which from a guess; ``Router.knowledge`` answers it per candidate.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

Basis = Literal[
    "trained", "calibrated", "benchmark", "family", "size", "average", "unrated", "not_routed"
]
"""``trained``: the router was trained on the model's outcome data; ``calibrated``: a
calibration run measured it and placed it into the artifact; ``benchmark``: placed by its
benchmark score; ``family``: by its size beside the trained sizes of its family; ``size``: by its
size, its family unknown to the router; ``average``: as the trained models do on average (no size
to place it by); ``unrated``: the router does not rate models (``kind: first``); ``not_routed``:
the model cannot serve a chat request (embeddings only), so no route chooses it."""

MEASURED: Final[frozenset[Basis]] = frozenset({"trained", "calibrated"})

PLACED: Final = "placed"
"""Manifest key of a calibrated artifact: {model: {offset, slope, prior_offset, prompts,
mean_score, data_sha256}}."""


@dataclass(frozen=True, slots=True)
class Knowledge:
    """How a router knows one model."""

    basis: Basis
    prompts: int | None = None
    """``calibrated``: how many prompts the calibration measured it on (None: not recorded)."""
    family: str | None = None
    """``family``: the family it is placed beside."""

    @property
    def measured(self) -> bool:
        """Whether the router rates the model from measured outcomes rather than a guess."""
        return self.basis in MEASURED


UNRATED: Final = Knowledge("unrated")


def calibrated_models(info: Mapping[str, Any]) -> dict[str, int | None]:
    """The models a calibration run placed into an artifact (its manifest's ``placed``), each
    with the number of prompts it was measured on (None when the manifest does not say)."""
    placed = info.get(PLACED)
    if not isinstance(placed, Mapping):
        return {}
    out: dict[str, int | None] = {}
    for name, entry in placed.items():
        prompts = entry.get("prompts") if isinstance(entry, Mapping) else None
        ok = isinstance(prompts, int) and not isinstance(prompts, bool) and prompts >= 0
        out[str(name)] = prompts if ok else None
    return out
