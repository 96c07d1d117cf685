"""What the gateway keeps of a routed request so that it can be graded later, without its text.

At decision time the router hands out its reading of the prompt (``Decision.evidence``): only
what a ``GradedRecord`` needs, the latent vector, the base prediction of each trained model and
the prompt statistics; the gateway holds it (``Held``) while the request runs. When the request's
usage record is written, an answered request's reading is kept with noise (``router.record_noise``,
half of it fresh and half fixed per prompt by the record key: ``routing.record_noise``) and the
prompt is dropped with the request;
it becomes a ``Pending`` entry of the gateway's ``PendingStore`` (``pending_store``): in this
process's memory, or, with Redis (``server.redis_url``), in Redis, where every replica finds
it. A feedback call reads its request's entry (a second one then meets the stored grade);
nothing of an ungraded request reaches the ledger. Why not a table: docs/router.md, "Feedback
and where graded requests are kept".
"""

from __future__ import annotations

from dataclasses import dataclass

from stellwerk.backends.types import ChatRequest
from stellwerk.config.schema import ModelConfig
from stellwerk.routing.base import Decision, Router
from stellwerk.routing.graded_record import Evidence
from stellwerk.routing.learned import LearnedRouter
from stellwerk.routing.model import QualityModel
from stellwerk.routing.record_noise import RecordNoise


@dataclass(frozen=True, slots=True)
class Held:
    """A routed prompt's exact reading (the router's decision handed it out: the prompt is not
    read twice), held in this process's memory with the prompt's text while the request runs.
    Only an answered request's is kept, and with its noise (``kept``), when it is accounted:
    the noise's sensitivity reads every word of the prompt once more (0.1-1.7 ms of CPU), which
    so no longer stands before a stream's first token, nor is spent on a refused request."""

    evidence: Evidence
    model: QualityModel
    """The router's artifact that read it (its words' sensitivity scales the noise)."""
    text: str
    noise: RecordNoise

    def kept(self) -> Evidence:
        """The reading as the gateway keeps it (``router.record_noise``): half the noise drawn
        afresh from the operating system's entropy, half from the record key and the text."""
        return self.evidence.noised(self.model, self.text, self.noise.scale, key=self.noise.key)


def held(router: Router, decision: Decision, text: str, noise: RecordNoise) -> Held | None:
    """The decision's reading of ``text`` to hold for a later grade (None: the router handed
    out none: it learns nothing)."""
    if decision.evidence is None or not isinstance(router, LearnedRouter):
        return None
    return Held(decision.evidence, router.model, text, noise)


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
    """Its reading, with its noise; none (``Evidence.unread``) when its class may get no
    feedback."""
    classification: str | None = None
    """The data class it ran under (None: kept by a gateway from before it was kept, taken as
    one that may get feedback)."""
