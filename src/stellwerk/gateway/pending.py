"""What the gateway keeps of a routed request so that it can be graded later, without its text.

At decision time (``evidence``) the router's base model reads the prompt once more and the
gateway keeps only what a ``GradedRecord`` needs: the latent vector, the base prediction of each
trained model and the prompt statistics, with fresh noise (``router.record_noise``,
``routing.record_noise``). The prompt itself is dropped with the request.

When the request's usage record is written, its evidence goes into ``PendingGrades``: a map by
request id, in this process's memory only, bounded in size (the oldest entries go first) and in
time (an entry older than the window is gone). A feedback call reads its request's entry (a
second one then meets the stored grade); nothing of an ungraded request reaches the ledger.
A routed request not yet accounted (a stream still running) is known as ``running``, by id and
key only, so that its feedback is told to wait, not that the request is unknown.
Why memory and not a table: docs/router.md, "Feedback and where graded requests are kept".
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
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
    request_id: str
    key_id: str
    department: str
    route: str
    model: str
    """The model that answered."""
    evidence: Evidence
    at: float


class PendingGrades:
    """Routed requests that may still be graded, by request id (see the module docstring)."""

    def __init__(
        self,
        window_s: float,
        max_entries: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.window_s = window_s
        self.max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[str, Pending] = OrderedDict()
        self._running: OrderedDict[str, tuple[str, float]] = OrderedDict()  # id: (key, since)

    def __len__(self) -> int:
        return len(self._entries)

    def put(
        self,
        request_id: str,
        *,
        key_id: str,
        department: str,
        route: str,
        model: str,
        evidence: Evidence,
    ) -> None:
        if self.window_s <= 0 or self.max_entries <= 0:
            return
        now = self._clock()
        self._expire(now)
        self._entries[request_id] = Pending(
            request_id, key_id, department, route, model, evidence, now
        )
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def started(self, request_id: str, key_id: str) -> None:
        """A routed request that may be graded once it ends is under way (bounded as the
        entries are: the oldest go first, none is older than the window)."""
        if self.window_s <= 0 or self.max_entries <= 0:
            return
        self._running[request_id] = (key_id, self._clock())
        while len(self._running) > self.max_entries:
            self._running.popitem(last=False)

    def ended(self, request_id: str) -> None:
        """The request was accounted: graded from now on, if at all, through its entry."""
        self._running.pop(request_id, None)

    def running(self, request_id: str, key_id: str) -> bool:
        """``key_id``'s routed request ``request_id`` is under way (not accounted yet)."""
        now = self._clock()
        while self._running:
            _, since = next(iter(self._running.values()))
            if now - since < self.window_s:
                break
            self._running.popitem(last=False)
        found = self._running.get(request_id)
        return found is not None and found[0] == key_id

    def get(self, request_id: str, key_id: str) -> Pending | None:
        """The entry of ``request_id`` if ``key_id`` made it and it is within the window; None
        otherwise (whose request it is, if anyone's, is not told)."""
        self._expire(self._clock())
        entry = self._entries.get(request_id)
        return entry if entry is not None and entry.key_id == key_id else None

    def _expire(self, now: float) -> None:
        while self._entries:
            first = next(iter(self._entries.values()))
            if now - first.at < self.window_s:
                break
            self._entries.popitem(last=False)
