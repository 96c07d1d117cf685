"""``POST /v1/feedback``: an application grades the answer to one of its routed requests.

The body is ``{"request_id": ..., "score": 0..1, "task": optional label}``; ``request_id`` is
the ``x-stellwerk-request-id`` header of the answer (or the answer's ``id``, ``chatcmpl-...``).
The rules, in the order they are checked:

1. the caller's key authenticates it (401), the body is small (``MAX_BODY``, 413) and valid (400;
   a ``task`` on one line of plain text, without control characters or direction marks, as an
   audit reason: ``governance.reason.plain_line``);
2. the request was routed (a route such as ``auto``, not a named model), answered, made with the
   same key and is within ``router.feedback_window_s``, kept by this gateway (with a shared
   Redis, by any replica: ``pending_store``): otherwise 404, which says the same whether the id
   is unknown or another key's. For the caller's own request, it says why where the gateway
   knows: pushed out for room (``router.feedback_max_pending``); a stream that has not ended
   yet is a 409 ``not_finished``, to be sent again after its answer ends (one whose last events
   are going out is waited for, up to ``FINISH_WAIT_S``);
3. the request ran under a data class ``router.feedback_classifications`` lists (by default
   public and internal, as shadow grading's): otherwise a 403 ``classification_not_graded``
   naming its class (nothing of its prompt's reading was kept: ``grading_entry``);
4. the router could read the prompt (it has a word the router knows; not ``Hallo``, which no
   training prompt had): otherwise a grade cannot teach it anything, a 409 ``not_gradable``
   (docs/router.md, "Feedback and where graded requests are kept");
5. a request is graded once: a second feedback within the window is a 409.

A ledger whose database cannot be reached is a 503 naming the ledger (``Retry-After``): the
feedback may be sent again, its request is kept until the window ends.

The grade is stored as a graded record of the model that answered (``ledger.graded``), without
the prompt or the answer, under the bare request id; the answer, and every refusal, names the
``request_id`` as it was sent. A feedback call is not a model call: it is not billed, leaves no
usage record and counts against no budget.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request

from stellwerk.errors import Conflict, NotFound, PermissionDenied
from stellwerk.gateway.body import parse
from stellwerk.gateway.deps import RuntimeDep
from stellwerk.gateway.pending_store import State
from stellwerk.gateway.runtime import Runtime
from stellwerk.governance.reason import plain_line
from stellwerk.ledger.graded import Graded
from stellwerk.ledger.in_thread import in_thread
from stellwerk.request_body import read_body

MAX_BODY = 4096
_PREFIX = re.compile(r"^(?:chatcmpl-|cmpl-|resp_)")


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    request_id: str = Field(min_length=1, max_length=128)
    score: float = Field(ge=0, le=1, allow_inf_nan=False)
    task: str | None = Field(default=None, min_length=1, max_length=64)


async def feedback(request: Request, runtime: RuntimeDep) -> dict[str, Any]:
    """Grade the answer to one of the caller's routed requests (score in [0, 1])."""
    principal = runtime.authenticate(request.headers)
    body = parse(FeedbackRequest, await read_body(request, MAX_BODY))
    if body.task is not None:
        plain_line(body.task, param="task", what="task")
    request_id = _PREFIX.sub("", body.request_id)
    found = await runtime.pending.find(request_id, principal.key_id)
    if found.state in (State.RUNNING, State.FINISHING):
        raise Conflict(
            f"request {body.request_id!r} has not finished yet; send feedback after its answer"
            " ends",
            param="request_id",
            code="not_finished",
        )
    pending = found.entry
    if pending is None:
        raise NotFound(
            _not_found(runtime, body.request_id, found.state),
            param="request_id",
            code="request_not_found",
        )
    classes = runtime.config.router.feedback_classifications
    if pending.classification is not None and pending.classification not in classes:
        raise PermissionDenied(
            f"request {body.request_id!r} cannot get feedback: it ran under the data class"
            f" {pending.classification!r}, and feedback is taken only for requests of the"
            f" classes router.feedback_classifications lists ({', '.join(classes) or 'none'})",
            param="request_id",
            code="classification_not_graded",
        )
    if not pending.evidence.readable:
        raise Conflict(
            f"request {body.request_id!r} cannot be graded: the router could not read its prompt"
            " (no word of it is one the router knows), so a grade cannot teach it anything",
            param="request_id",
            code="not_gradable",
        )
    graded = Graded(
        request_id=request_id,
        source="feedback",
        time=datetime.now(UTC),
        department=pending.department,
        key_id=pending.key_id,
        route=pending.route,
        base_version=pending.evidence.base_version,
        model=pending.model,
        record=pending.evidence.graded(pending.model, body.score, body.task),
    )
    store = runtime.graded
    assert store is not None  # set at start-up
    # the entry stays until it expires: a second feedback meets the stored one, a Conflict (409),
    # and one refused for the ledger's outage (503, ``errors.bug``) may be sent again
    try:
        await in_thread(lambda: store.add(graded))
    except Conflict as exc:  # the ledger names the bare id; the caller sent it perhaps prefixed
        raise Conflict(
            f"request {body.request_id!r} has already been graded (feedback)",
            param="request_id",
            code=exc.code,
        ) from exc
    return {
        "object": "feedback",
        "request_id": body.request_id,  # as it was sent, as every refusal names it
        "model": pending.model,
        "score": body.score,
        "task": body.task,
    }


def _not_found(runtime: Runtime, request_id: str, state: State) -> str:
    """Why ``request_id`` cannot get feedback, as far as this gateway can tell its caller; the id
    is named whole, as the caller sent it (at most 128 characters), so that it reads as the id
    the caller has."""
    router, shown = runtime.config.router, repr(request_id)
    if not runtime.pending.on:
        return (
            f"no routed request {shown} can get feedback: this gateway keeps none"
            " (router.feedback_window_s or router.feedback_max_pending is 0)"
        )
    if state is State.EVICTED:
        return (
            f"routed request {shown} of this key can no longer get feedback: it was pushed out"
            f" to make room (more than {router.feedback_max_pending} routed requests waited for"
            " feedback, and this key had the most of them: router.feedback_max_pending)"
        )
    why = f"unknown, not routed, or older than {router.feedback_window_s:g} s"
    if not runtime.pending.shared:
        why += (
            "; or answered by another gateway replica, or before this gateway restarted: without"
            " a shared Redis (server.redis_url) each gateway process keeps its own"
        )
    return f"no routed request {shown} of this key can get feedback: {why}"
