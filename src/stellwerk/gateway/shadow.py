"""Shadow grading: a share of routed requests is graded against the best model their policy
permits, after the client has its answer and off its path (``router.shadow``, docs/router.md).

1. **Pick** (``ShadowGrader.wants``, at decision time): a routed, non-streamed chat request
   without tools (thinking asked for or not), of a department, route and data class the
   configuration allows, that the router can learn from. Unfamiliar prompts first: one is
   taken whenever the rate (``requests_per_minute``, a token bucket) allows; a familiar one
   with probability ``share`` and only while half a minute's rate is left after it
   (``reserve``), for the unfamiliar ones.
   The bucket holds a minute's rate, but never less than one grading and that reserve
   (``capacity``): at a rate of 1 it holds 1.5 gradings (90 s of rate), else a familiar prompt,
   needing 1.5, would never be taken. A department that was picked half a minute's rate in the
   last minute (``fair_share``) is not picked again while another department's request was
   turned away for the rate in that minute. Only a picked request keeps its messages and
   answer, in memory, until its grading ends.
2. **Reference** (``_grade``, a background task once the request's usage record is written): the
   allowed model with the router's best overall rating answers the same messages (its answer cut
   at ``reference_max_tokens``). When that is the model that answered, the grade is 1. Before it
   is asked, the judging call of step 3 must fit that model's context (``shadow_fit``): a grading
   that cannot be judged is skipped (``judge_context``) and given its rate back, as if never
   picked.
3. **Judge**: the same answer text is a grade of 1 (exact match); otherwise the reference model
   grades the routed answer against its own with a fixed rubric, answering ``{"grade": 0..10}``
   (a JSON schema, so a grammar-constrained server cannot answer anything else).
4. **Keep**: the grade of the answering model, and the reference model's grade of 1 (the grade
   is relative to its answer), go into ``graded_records`` (source ``shadow``) with the prompt's
   text-free reading; the messages and answers are dropped. Two grades of one prompt let an
   adaptation judge how a candidate routes between the two (``routing.adapt``); when the
   reference is the model that answered, the record has its one grade of 1.

Every call of steps 2 and 3 is admitted against the limits of the department ``account`` (its
monthly budget and rate limits, reserved and settled like any request's) and leaves a usage
record of its own (endpoint ``shadow``, key id ``shadow``), so reports show what grading costs.
When the account's limits refuse a call (its budget is spent), the refusal is recorded like any
other, the grading ends, and no request is picked for ``PAUSE_S``: shadow grading stops while
the budget is spent. The calls of all gradings are admitted one at a time (``_admitting``), and
a grading already running when the pause began ends before its next call (skipped ``paused``),
so a spent budget is refused once per pause and process, not once per grading in flight.
A failure of either call is logged without any text, recorded
(``shadow_failed``) and grades nothing; one because the prompt was over the model's context
teaches ``shadow_fit.JudgeLimits``, so the same size of grading is skipped from then on.
Every request skipped for a reason (``busy``, ``paused``, ``rate``, ``department_share``,
``judge_context``) is counted in ``stellwerk_shadow_skipped_total`` and in ``skipped`` (this
process's counts since its start, which the dashboard's router-learning page shows).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

from stellwerk.backends.tokens import PromptSize
from stellwerk.backends.types import ChatRequest
from stellwerk.config.governance import SHADOW_KEY_ID
from stellwerk.config.schema import ModelConfig, ShadowConfig
from stellwerk.errors import Conflict, ContextExceeded, RateLimited, StellwerkError
from stellwerk.gateway.accounting import Accounts
from stellwerk.gateway.auth import Principal
from stellwerk.gateway.budget import Budget, chat_bound
from stellwerk.gateway.calls import Call, Caller
from stellwerk.gateway.metrics import Metrics
from stellwerk.gateway.pending import Ticket
from stellwerk.gateway.selection import Selection, Selector
from stellwerk.gateway.shadow_fit import JudgeLimits, judging_request, judging_tokens
from stellwerk.ledger.graded import Graded, GradedStore
from stellwerk.ledger.in_thread import in_thread
from stellwerk.routing.base import Decision
from stellwerk.routing.candidate import candidate
from stellwerk.routing.graded_record import Evidence
from stellwerk.routing.learned import LearnedRouter


class Runtime(Protocol):
    """What grading needs of the running gateway (``gateway.runtime.Runtime`` is it; named here
    so that this module does not import the runtime that holds it)."""

    @property
    def caller(self) -> Caller: ...
    @property
    def selector(self) -> Selector: ...
    @property
    def graded(self) -> GradedStore | None: ...
    @property
    def accounts(self) -> Accounts: ...
    @property
    def budget(self) -> Budget: ...


log = logging.getLogger("stellwerk.gateway.shadow")

MAX_IN_FLIGHT = 4
PAUSE_S = 60.0
"""After the account's limits refused a grading call, no request is picked for this long."""
PAUSED = "shadow_paused"
"""The code of the ``RateLimited`` that ends a grading begun before the pause (not recorded)."""
_NOT_PASSED = (
    "stream",
    "stream_options",
    "max_tokens",
    "max_completion_tokens",
    "n",
    "logprobs",
    "top_logprobs",
    "think",  # Ollama's: the reference answers as it does unasked (its server may read none)
)


class ShadowGrader:
    def __init__(
        self,
        config: ShadowConfig,
        *,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.monotonic,
        metrics: Metrics | None = None,
    ) -> None:
        self.config = config
        self._rng = rng or random.Random()
        self._clock = clock
        self.metrics = metrics or Metrics()
        rate = config.requests_per_minute
        self.reserve = rate / 2  # left for unfamiliar prompts after a familiar one is taken
        self.capacity = max(float(rate), 1.0 + self.reserve)
        self._tokens = self.capacity
        self._at = clock()
        self._paused_until = float("-inf")
        self._admitting = asyncio.Lock()  # one admission at a time: a refusal pauses the rest
        self._tasks: set[asyncio.Task[None]] = set()
        self._picks: deque[tuple[float, str]] = deque()  # the last minute's: (when, department)
        self._waiting: dict[str, float] = {}  # department: when it was last turned away for rate
        self.limits = JudgeLimits()
        self.skipped: dict[str, int] = {}  # reason: requests skipped for it since the start

    @property
    def on(self) -> bool:
        return self.config.share > 0

    def wants(self, principal: Principal, route: str, decision: Decision, needs: set[str]) -> bool:
        """Whether to grade this routed request (step 1 of the module docstring)."""
        c = self.config
        # thinking asked for: the reference answers the same prompt as it does unasked
        if not self.on or needs - {"thinking"} != {"chat"}:
            return False
        if c.departments is not None and principal.department not in c.departments:
            return False
        if c.routes is not None and route not in c.routes:
            return False
        if principal.classification not in c.classifications:
            return False
        if not decision.unfamiliar and self._rng.random() >= c.share:
            return False  # not drawn: not a skip
        if len(self._tasks) >= MAX_IN_FLIGHT:
            return self._skip("busy")
        now = self._clock()
        if now < self._paused_until:  # the account's limits refused a call
            return self._skip("paused")
        self._refill(now)
        department = principal.department
        needed = 1.0 if decision.unfamiliar else 1.0 + self.reserve
        if self._tokens < needed:
            self._waiting[department] = now
            return self._skip("rate")
        if not self.fair_share(department, now):
            return self._skip("department_share")
        self._tokens -= 1.0
        self._picks.append((now, department))
        return True

    def fair_share(self, department: str, now: float) -> bool:
        """Whether ``department`` may be picked once more: it was picked fewer than half a
        minute's rate in the last minute, or no other department waited in that minute (was
        turned away for the rate). So a department sending prompts of its choosing (unfamiliar
        ones are taken first) gets half the rate, not all of it, while others want some."""
        while self._picks and now - self._picks[0][0] >= 60.0:
            self._picks.popleft()
        mine = sum(1 for _, d in self._picks if d == department)
        if mine < max(1, self.config.requests_per_minute // 2):
            return True
        return not any(d != department and now - t < 60.0 for d, t in self._waiting.items())

    def _skip(self, reason: str) -> bool:
        self.metrics.shadow_skipped.labels(reason).inc()
        self.skipped[reason] = self.skipped.get(reason, 0) + 1
        return False

    def _unpick(self, department: str) -> None:
        """A picked request is not graded after all (``judge_context``): its rate is given
        back, and it does not count in its department's share."""
        self._tokens = min(self.capacity, self._tokens + 1.0)
        for entry in reversed(self._picks):
            if entry[1] == department:
                self._picks.remove(entry)
                break

    def _refill(self, now: float) -> None:
        rate = self.config.requests_per_minute
        self._tokens = min(self.capacity, self._tokens + (now - self._at) * rate / 60.0)
        self._at = now

    def start(
        self, runtime: Runtime, call: Call, ticket: Ticket, evidence: Evidence, route: str
    ) -> None:
        """Grade ``call`` in the background (steps 2-4)."""
        task = asyncio.get_running_loop().create_task(
            self._grade(runtime, call, ticket, evidence, route)
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        tasks = set(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)

    async def _grade(
        self, runtime: Runtime, call: Call, ticket: Ticket, evidence: Evidence, route: str
    ) -> None:
        assert call.principal is not None and call.model is not None
        answered = call.model.id
        reference = self._reference(runtime, ticket.candidates)
        try:
            grade = await self._judge(runtime, call, ticket, reference)
        except RateLimited as exc:
            if exc.code != PAUSED:  # the refusal that began the pause, not one ended by it
                log.info("shadow grading paused for %g s: %s", PAUSE_S, exc.message)
            return
        except StellwerkError as exc:
            log.warning(
                "shadow grading of request %s failed: %s", call.request_id, type(exc).__name__
            )
            return
        if grade is None:
            return
        graded = Graded(
            request_id=call.request_id,
            source="shadow",
            time=datetime.now(UTC),
            department=call.principal.department,
            key_id=call.principal.key_id,
            route=route,
            base_version=evidence.base_version,
            model=answered,
            record=evidence.graded(answered, grade, None, reference.id),
        )
        store = runtime.graded
        if store is None:
            return
        # a request has one shadow grade: a second (a retried task) is a Conflict, dropped
        with contextlib.suppress(Conflict):
            await in_thread(lambda: store.add(graded))

    async def _judge(
        self, runtime: Runtime, call: Call, ticket: Ticket, reference: ModelConfig
    ) -> float | None:
        assert call.principal is not None and call.model is not None
        if reference.id == call.model.id:
            return 1.0
        answer = (ticket.answer or "").strip()
        backend = runtime.caller.backends[reference.backend]
        tokens = await judging_tokens(
            backend, reference, ticket.question, answer, self.config.reference_max_tokens
        )
        limit = self.limits.limit(reference)
        if tokens > limit:
            self._unpick(call.principal.department)
            self._skip("judge_context")
            log.info(
                "shadow grading of request %s skipped (judge_context): its judging call takes up"
                " to %d tokens, over the %d of %s's context (the question and the routed answer,"
                " %d characters, beside reference_max_tokens %d: a client's max_tokens bounds"
                " its answer)",
                call.request_id,
                tokens,
                limit,
                reference.id,
                len(ticket.question) + len(answer),
                self.config.reference_max_tokens,
            )
            return None
        # a parameter the gateway does not know was allowed for the routed model's backend only
        unasked = {*_NOT_PASSED, *ticket.request.unknown}
        params = {k: v for k, v in ticket.request.params.items() if k not in unasked}
        params["max_tokens"] = self.config.reference_max_tokens
        try:
            own = await self._ask(
                runtime, call, reference, ChatRequest(ticket.request.messages, params)
            )
            theirs = (own or "").strip()
            if answer and answer == theirs:
                return 1.0
            verdict = await self._ask(
                runtime, call, reference, judging_request(ticket.question, theirs, answer)
            )
        except ContextExceeded:
            self.limits.refused(reference, tokens)  # not this size of grading again
            raise
        try:
            grade = json.loads(verdict or "")["grade"]
        except (ValueError, TypeError, KeyError):
            log.warning(
                "shadow grading of request %s: the judge's verdict is not JSON", call.request_id
            )
            return None
        if not isinstance(grade, int) or isinstance(grade, bool) or not 0 <= grade <= 10:
            return None
        return grade / 10

    def _reference(self, runtime: Runtime, models: tuple[ModelConfig, ...]) -> ModelConfig:
        """The allowed model with the router's best overall rating."""
        router = runtime.selector.router
        if not isinstance(router, LearnedRouter):
            return models[0]
        return max(models, key=lambda m: router.rating(candidate(m)))

    async def _ask(
        self, runtime: Runtime, routed: Call, model: ModelConfig, request: ChatRequest
    ) -> str | None:
        """One call of ``model``, admitted against the account's limits (``RateLimited`` when
        they refuse it) and recorded as a usage record charged to the account."""
        assert routed.principal is not None and self.config.account is not None
        principal = Principal(
            key_id=SHADOW_KEY_ID,
            department=self.config.account,
            role="user",
            classification=routed.principal.classification,
            allowed_models=None,
        )
        call = Call(
            f"{routed.request_id[:16]}{random.getrandbits(32):08x}",
            "shadow",
            "shadow",
            model.id,
            stream=False,
            principal=principal,
        )
        decision = Decision(
            model_id=model.id,
            ranking=(model.id,),
            scores=(),
            reason=f"shadow grading of request {routed.request_id}",
            router="shadow",
        )
        call.selection = Selection(route=None, decision=decision, models=(model,))
        tokens, cost = chat_bound((model,), PromptSize.of(request), request.max_answer_tokens)
        async with self._admitting:
            if self._clock() < self._paused_until:  # another grading's call was refused
                self._skip("paused")
                raise RateLimited("shadow grading is paused", code=PAUSED)
            try:
                call.reservation = await runtime.budget.reserve(principal, tokens, cost)
            except RateLimited as exc:
                self._paused_until = self._clock() + PAUSE_S
                call.status, call.error_kind = exc.status_code, exc.error_kind
                await runtime.accounts.record(call)
                raise
        try:
            result = await runtime.caller.complete(call, call.selection, request)
        except StellwerkError:
            call.status, call.error_kind = 502, "shadow_failed"
            await runtime.accounts.record(call)
            raise
        call.ended = time.perf_counter()
        await runtime.accounts.record(call)
        return result.content
