"""What the gateway keeps of a routed request so that it can be graded later, without its text.

At decision time (``evidence``) the router's base model reads the prompt once more and the
gateway keeps only what a ``GradedRecord`` needs: the latent vector, the base prediction of each
trained model and the prompt statistics, with fresh noise (``router.record_noise``,
``routing.record_noise``). The prompt itself is dropped with the request.

When the request's usage record is written, its evidence becomes a ``Pending`` entry of the
gateway's ``PendingStore`` (``pending_store``): in this process's memory, or, with Redis
(``server.redis_url``), in Redis, where every replica finds it. A feedback call reads its
request's entry (a second one then meets the stored grade); nothing of an ungraded request
reaches the ledger. Why not a table: docs/router.md, "Feedback and where graded requests are
kept".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from stellwerk.backends.types import ChatRequest
from stellwerk.config.schema import ModelConfig
from stellwerk.routing.base import Router
from stellwerk.routing.graded_record import GradedRecord
from stellwerk.routing.learned import LearnedRouter


@dataclass(frozen=True, slots=True)
class Evidence:
    """The text-free reading of a prompt by a router's base artifact."""

    base_version: str
    latent: tuple[float, ...]
    base: Mapping[str, float]
    stats: tuple[float, ...]

    @property
    def readable(self) -> bool:
        """The router could place the prompt in its latent space (it has a word the router
        knows). A grade of a prompt without a place teaches it nothing: the correction learns
        and applies by latent neighbours (``routing.correction``), and ``routing.adapt`` leaves
        such records out. Such a request is still kept, so that its feedback is told why."""
        return bool(self.latent)

    def graded(
        self, model: str, grade: float, task: str | None, reference: str | None = None
    ) -> GradedRecord:
        """The record of ``model``'s answer graded ``grade``; with ``reference`` (the model the
        grade is relative to, another one), that model's answer is graded too, at 1: it is the
        yardstick. Two grades of one prompt are what lets an adaptation judge how a router
        *routes* (``routing.adapt``: records with one grade only teach the fit)."""
        grades = {model: grade}
        if reference is not None and reference != model:
            grades[reference] = 1.0
        return GradedRecord(
            latent=self.latent, base=self.base, grades=grades, stats=self.stats, task=task
        )


def evidence(
    router: Router, prompt: str, embedding: Sequence[float] | None = None, noise: float = 0.0
) -> Evidence | None:
    """``prompt`` as the router's base artifact reads it (None: the router learns nothing; an
    evidence that is not ``readable``: it cannot learn from this prompt), with ``noise``
    (``router.record_noise``) drawn afresh from the operating system's entropy."""
    if not isinstance(router, LearnedRouter):
        return None
    record = GradedRecord.of(router.model, prompt, {}, embedding=embedding, noise=noise)
    return Evidence(router.version, record.latent, record.base, record.stats)


@dataclass(slots=True)
class Ticket:
    """What a request picked for shadow grading (``shadow``) keeps, in memory only, until it is
    graded: its messages, its prompt text, the models it was allowed, and the answer."""

    request: ChatRequest
    question: str
    candidates: tuple[ModelConfig, ...]
    answer: str | None = None


@dataclass(frozen=True, slots=True)
class Pending:
    """A routed, answered request that may still get feedback."""

    request_id: str
    key_id: str
    department: str
    route: str
    model: str
    """The model that answered."""
    evidence: Evidence
