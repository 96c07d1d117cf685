"""The router seam: a small ABC and the frozen Decision it returns (the named registry of
routers is in ``routing.loader``, above the routers it names).

A router never sees models the request may not use: the policy filter runs first and hands it
the candidates. It returns a ``Decision`` holding every candidate's scores, the choice, the
ranking (the fallback order) and a human-readable reason.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from stellwerk.routing.graded_record import Evidence
from stellwerk.routing.knowledge import UNRATED, Knowledge


@dataclass(frozen=True, slots=True)
class Candidate:
    """What a router may know about one model that is allowed to serve the request."""

    model_id: str
    params_b: float
    size_class: str
    price_in_per_mtok: float
    price_out_per_mtok: float
    context_length: int
    benchmark_score: float | None = None
    answer_tokens: int | None = None
    """How long this model's answers are here: the mean completion tokens of its recent
    successful requests in the ledger (None: too few requests to tell)."""
    family: str | None = None
    """The model's family (``routing.placement.family_of``), to place it beside trained sizes of
    the same model; None: its family is unknown."""


UnfamiliarPolicy = Literal["route", "quality"]


@dataclass(frozen=True, slots=True)
class RouteRequest:
    """The routing question: this prompt, these candidates, this weight on cost."""

    prompt: str
    prompt_tokens: int
    candidates: tuple[Candidate, ...]
    cost_weight: float
    embedding: Sequence[float] | None = None
    """The prompt's embedding, asked for when the router ``needs_embedding`` (None: none)."""
    max_answer_tokens: int | None = None
    """The request's own cap on the answer (``max_tokens``, ``max_completion_tokens``,
    Ollama's ``num_predict``; None: the client set none)."""
    unfamiliar: UnfamiliarPolicy = "route"
    """What to do with a prompt the router finds unfamiliar (the route's ``unfamiliar``):
    ``route`` it as any other, or send it to the allowed model of the best overall
    ``quality``."""
    keep_evidence: bool = False
    """Whether the decision should hand out the router's text-free reading of the prompt
    (``Decision.evidence``), for a later grade (feedback, shadow grading)."""


AnswerSource = Literal["default", "measured", "cap"]


@dataclass(frozen=True, slots=True)
class CandidateScore:
    """One candidate's scores; ``answer_tokens`` is the answer length its expected cost assumes
    (None: the router estimates no cost) and ``answer_source`` where that length came from: the
    router's default, the model's measured answers, or the request's cap."""

    model_id: str
    quality: float
    expected_cost: float
    utility: float
    answer_tokens: int | None = None
    answer_source: AnswerSource | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    """The router's answer. ``ranking`` starts with ``model_id`` and is the fallback order."""

    model_id: str
    ranking: tuple[str, ...]
    scores: tuple[CandidateScore, ...]
    reason: str
    router: str
    familiarity: float | None = None
    """How familiar the prompt is to the router, in [0, 1] (``routing.familiarity``); None: the
    router does not measure it."""
    unfamiliar: bool = False
    """Whether ``familiarity`` fell below the router's threshold (the reason says so)."""
    evidence: Evidence | None = None
    """The router's text-free reading of the prompt, exact (``graded_record.Evidence``), when
    the request asked for it (``keep_evidence``) and the router learns from grades; None
    otherwise. Held in memory only: the gateway keeps it with noise, for a later grade."""


class Router(ABC):
    """Chooses one of the candidates. Must be cheap: it runs on every ``auto`` request."""

    name: str = "router"
    needs_embedding: bool = False
    """Whether ``decide`` reads ``RouteRequest.embedding``; it decides without one as well."""

    @abstractmethod
    def decide(self, request: RouteRequest) -> Decision:
        """Rank the candidates; ``request.candidates`` is never empty."""

    def knowledge(self, cand: Candidate) -> Knowledge:
        """How this router knows ``cand`` (the dashboard shows it); by default it rates no
        model at all."""
        return UNRATED


class FirstAllowedRouter(Router):
    """Picks the first allowed candidate in config order; the fallback order is config order."""

    name = "first"

    def decide(self, request: RouteRequest) -> Decision:
        ranking = tuple(c.model_id for c in request.candidates)
        scores = tuple(
            CandidateScore(c.model_id, quality=0.0, expected_cost=0.0, utility=-float(i))
            for i, c in enumerate(request.candidates)
        )
        return Decision(
            model_id=ranking[0],
            ranking=ranking,
            scores=scores,
            reason="first allowed model in config order",
            router="first",
        )
