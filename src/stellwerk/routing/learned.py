"""The learned router: predicted quality minus the route's cost weight x normalised cost.

For each candidate: quality in [0, 1] from the ``QualityModel`` (a trained model by its id, any
other model placed from its catalog facts), expected cost = price x (prompt tokens + expected
answer tokens), normalised by the dearest candidate's expected cost. The utility is
``quality - cost_weight x normalised cost``; the ranking (and fallback order) is by utility, the
cheaper model first on ties. The expected answer is the model's measured answer length
(``Candidate.answer_tokens``) or the router's default, at most the request's own cap.

A router trained with embeddings reads ``RouteRequest.embedding``; without a usable one it
decides on the text features alone and its reason says so.

Every decision carries the prompt's familiarity (``familiarity``); below the router's threshold
the reason says the prompt is unfamiliar, and a route with ``unfamiliar: quality`` then ranks the
candidates by their overall rating instead (the mean predicted quality over the training
prompts' ease: a per-prompt prediction is least to be trusted where the prompt is unfamiliar).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt

from stellwerk.routing.base import (
    AnswerSource,
    Candidate,
    CandidateScore,
    Decision,
    Router,
    RouteRequest,
)
from stellwerk.routing.familiarity import DEFAULT_THRESHOLD
from stellwerk.routing.graded_record import Evidence
from stellwerk.routing.knowledge import Basis, Knowledge
from stellwerk.routing.model import QualityModel, Reading
from stellwerk.routing.placement import offset_from_benchmark

F64 = npt.NDArray[np.float64]


def normalised_costs(costs: F64) -> F64:
    """Costs divided by the dearest one, per row (all zero when everything is free)."""
    top = costs.max(axis=-1, keepdims=True)
    out: F64 = np.divide(costs, top, out=np.zeros_like(costs), where=top > 0)
    return out


def choose(quality: F64, costs: F64, cost_weight: float) -> npt.NDArray[np.int64]:
    """Index of the chosen model per row of (rows, models) arrays, the cheaper one on ties:
    the vectorised twin of ``LearnedRouter.decide``."""
    utility = quality - cost_weight * normalised_costs(costs)
    best = utility.max(axis=1, keepdims=True)
    masked = np.where(utility >= best - 1e-12, costs, np.inf)
    out: npt.NDArray[np.int64] = masked.argmin(axis=1)
    return out


def expected_answer(cand: Candidate, cap: int | None, default: int) -> tuple[int, AnswerSource]:
    """The answer length a candidate's cost assumes, and where it came from: the model's
    measured length (else ``default``), at most the request's ``cap``."""
    source: AnswerSource = "default" if cand.answer_tokens is None else "measured"
    typical = default if cand.answer_tokens is None else cand.answer_tokens
    if cap is not None and cap < typical:
        return max(cap, 0), "cap"
    return typical, source


_PLACED_BY: dict[Basis, str] = {
    "trained": "trained",
    "calibrated": "calibrated",
    "benchmark": "benchmark score",
    "size": "size, family unknown: the mean over the known families",
    "average": "no size to go by: the mean over the trained models",
    "unrated": "not rated",
    "not_routed": "not routed",
}


class LearnedRouter(Router):
    """Routes with a trained ``QualityModel``; ``version`` names the artifact it came from,
    ``calibrated`` the models of it a calibration run placed, each with its number of prompts."""

    name = "learned"

    def __init__(
        self,
        model: QualityModel,
        *,
        version: str,
        answer_tokens: int = 128,
        calibrated: Mapping[str, int | None] | None = None,
        familiarity_threshold: float = DEFAULT_THRESHOLD,
    ) -> None:
        self.model = model
        self.version = version
        self.adapted = 0
        """The promoted router version (``learning.online``) whose correction ``model`` carries,
        also when a rollback restored it; 0: none (the base alone)."""
        self.familiarity_threshold = familiarity_threshold
        self.answer_tokens = answer_tokens
        self.calibrated = dict(calibrated or {})
        self._index = {m: i for i, m in enumerate(model.models)}
        self.needs_embedding = model.embedding is not None and model.embedding.needed
        # offsets of models placed from their facts, by (benchmark score, size, family): the
        # bisection behind a benchmark score costs ~0.4 ms, too much to repeat on every request
        self._offsets: dict[tuple[float | None, float, str | None], F64] = {}

    def _placed_offsets(self, cand: Candidate) -> F64:
        """The offsets a placed candidate's quality is the mean over (``placement``)."""
        key = (cand.benchmark_score, cand.params_b, cand.family)
        offsets = self._offsets.get(key)
        if offsets is None:
            basis = self.knowledge(cand).basis  # one rule for what is placed how
            if basis == "benchmark" and cand.benchmark_score is not None:
                offsets = np.array(
                    [offset_from_benchmark(cand.benchmark_score, self.model.ease_quantiles)]
                )
            elif basis == "average":  # any of the models the router knows, equally likely
                offsets = np.array(self.model.offsets, dtype=np.float64)
            else:  # by size: beside its family, or over the known families
                offsets = self.model.placement.offsets(cand.params_b, cand.family)
            offsets.flags.writeable = False  # shared by every later decision
            if len(self._offsets) < 4096:
                self._offsets[key] = offsets
        return offsets

    def qualities(
        self,
        prompt: str,
        candidates: tuple[Candidate, ...],
        embedding: Sequence[float] | None = None,
    ) -> F64:
        """Predicted quality of each candidate, in candidate order (``embedding``: a usable
        embedding of the prompt, or None)."""
        return self._qualities(prompt, candidates, embedding)[0]

    def familiarity(self, prompt: str, embedding: Sequence[float] | None = None) -> float | None:
        """How familiar ``prompt`` is to the router, in [0, 1] (``familiarity``)."""
        return self.model.read(prompt, embedding).familiarity

    def knowledge(self, cand: Candidate) -> Knowledge:
        """How the router knows ``cand``: measured (a model of the artifact, trained or placed
        by calibration) or placed from its facts, as ``_placed_offsets`` places it."""
        if cand.model_id in self._index:
            if cand.model_id in self.calibrated:
                return Knowledge("calibrated", prompts=self.calibrated[cand.model_id])
            return Knowledge("trained")
        if cand.benchmark_score is not None:
            return Knowledge("benchmark")
        if cand.params_b <= 0 or not self.model.placement.knows_sizes:
            return Knowledge("average")
        if cand.family is not None and cand.family in self.model.placement.families:
            return Knowledge("family", family=cand.family)
        return Knowledge("size")

    def placed_by(self, cand: Candidate) -> str:
        """``knowledge`` in words, as ``stellwerk router eval`` prints it."""
        known = self.knowledge(cand)
        if known.basis == "family":
            return f"size and family ({known.family})"
        return _PLACED_BY[known.basis]

    def _qualities(
        self,
        prompt: str,
        candidates: tuple[Candidate, ...],
        embedding: Sequence[float] | None,
    ) -> tuple[F64, Reading]:
        """The qualities, and the model's reading of the prompt they come from (how many
        measured outcomes of this very prompt they include, its familiarity, its base reading)."""
        reading = self.model.read(prompt, embedding)
        known, ease = reading.quality, reading.ease
        out = np.empty(len(candidates))
        placed: list[int] = []
        offsets: list[F64] = []
        for i, cand in enumerate(candidates):
            j = self._index.get(cand.model_id)
            if j is None:
                placed.append(i)
                offsets.append(self._placed_offsets(cand))
            else:
                out[i] = known[j]
        if placed:
            # every placed candidate's mean over its offsets, in one pass over all of them
            counts = np.fromiter((len(o) for o in offsets), dtype=np.int64, count=len(offsets))
            quality = 1.0 / (1.0 + np.exp(-(ease + np.concatenate(offsets))))
            starts = np.concatenate(([0], np.cumsum(counts[:-1])))
            out[placed] = np.add.reduceat(quality, starts) / counts
        return out, reading

    def rating(self, cand: Candidate) -> float:
        """``cand``'s overall rating: its mean predicted quality over the ease of the training
        prompts (its own offset when trained, its placement's otherwise)."""
        j = self._index.get(cand.model_id)
        offsets = self.model.offsets[j : j + 1] if j is not None else self._placed_offsets(cand)
        ease = self.model.ease_quantiles[:, None]
        return float(np.mean(1.0 / (1.0 + np.exp(-(ease + offsets[None, :])))))

    def decide(self, request: RouteRequest) -> Decision:
        cands = request.candidates
        embedding, missing = self._embedding(request.embedding)
        quality, reading = self._qualities(request.prompt, cands, embedding)
        seen, familiarity = reading.seen, reading.familiarity
        unfamiliar = familiarity is not None and familiarity < self.familiarity_threshold
        by_rating = unfamiliar and request.unfamiliar == "quality" and len(cands) > 1
        tokens = max(request.prompt_tokens, 0)
        answers = [expected_answer(c, request.max_answer_tokens, self.answer_tokens) for c in cands]
        costs = np.array(
            [
                (tokens * c.price_in_per_mtok + answer * c.price_out_per_mtok) / 1e6
                for c, (answer, _) in zip(cands, answers, strict=True)
            ]
        )
        utility = quality - request.cost_weight * normalised_costs(costs)
        if by_rating:
            ratings = [self.rating(c) for c in cands]
            order = sorted(range(len(cands)), key=lambda i: (-ratings[i], costs[i], i))
        else:
            order = sorted(range(len(cands)), key=lambda i: (-utility[i], costs[i], i))
        scores = tuple(
            CandidateScore(
                cands[i].model_id,
                quality=round(float(quality[i]), 4),
                expected_cost=float(costs[i]),
                utility=round(float(utility[i]), 4),
                answer_tokens=answers[i][0],
                answer_source=answers[i][1],
            )
            for i in order
        )
        ranking = tuple(cands[i].model_id for i in order)
        if by_rating:
            reason = (
                f"{ranking[0]}: the best overall rating of the allowed models"
                f" ({ratings[order[0]]:.2f}), as the route asks for unfamiliar prompts"
            )
        else:
            reason = _reason(scores, request.cost_weight, seen)
        if unfamiliar:
            reason += f"; unfamiliar prompt (familiarity {familiarity:.2f})"
        return Decision(
            model_id=ranking[0],
            ranking=ranking,
            scores=scores,
            reason=reason
            + _answer_note(scores[0])
            + ("" if missing is None else f"; {missing}: decided on the text alone"),
            router=f"learned:{self.version}" + (f"+{self.adapted}" if self.adapted else ""),
            familiarity=None if familiarity is None else round(familiarity, 4),
            unfamiliar=unfamiliar,
            evidence=(
                Evidence.of(self.model, reading, self.version) if request.keep_evidence else None
            ),
        )

    def _embedding(
        self, given: Sequence[float] | None
    ) -> tuple[Sequence[float] | None, str | None]:
        """The embedding to read (or None) and why it could not be read, if it was needed."""
        head = self.model.embedding
        if head is None or not self.needs_embedding:
            return None, None
        problem = head.problem(given)
        return (given, None) if problem is None else (None, problem)


def _reason(scores: tuple[CandidateScore, ...], cost_weight: float, seen: int = 0) -> str:
    """One short sentence: the choice, its predicted quality, and what it beat; and whether the
    qualities lean on measured outcomes of this very prompt."""
    text = _choice(scores, cost_weight)
    if seen:
        text += (
            f"; qualities include {seen} measured outcome{'s' if seen > 1 else ''} of this prompt"
        )
    return text


def _answer_note(chosen: CandidateScore) -> str:
    """Where the chosen model's expected answer length came from, unless it is the default."""
    tokens = f"{chosen.answer_tokens} token{'' if chosen.answer_tokens == 1 else 's'}"
    if chosen.answer_source == "measured":
        return f"; its answers here average {tokens}"
    if chosen.answer_source == "cap":
        return f"; answer capped at {tokens} by the request"
    return ""


def _choice(scores: tuple[CandidateScore, ...], cost_weight: float) -> str:
    first = scores[0]
    if len(scores) == 1:
        return f"{first.model_id} is the only allowed model"
    best_q = max(scores, key=lambda s: (s.quality, -s.expected_cost))
    if best_q.model_id == first.model_id:
        return (
            f"{first.model_id}: highest predicted quality {first.quality:.2f}"
            f" (cost weight {cost_weight:g})"
        )
    share = first.expected_cost / best_q.expected_cost if best_q.expected_cost > 0 else 0.0
    return (
        f"{first.model_id}: predicted quality {first.quality:.2f} at {share:.0%} of the cost of"
        f" {best_q.model_id} ({best_q.quality:.2f}), cost weight {cost_weight:g}"
    )
