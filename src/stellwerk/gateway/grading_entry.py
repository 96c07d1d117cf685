"""What an answered routed request leaves for its grading, once its usage record is written: its
entry for feedback (``pending.Pending``), and its shadow grading started if it was picked.

Both take only the data classes the config allows: shadow grading picks by
``router.shadow.classifications`` at decision time (``shadow.ShadowGrader.wants``), feedback by
``router.feedback_classifications`` here. A request of a class feedback is not taken for keeps
no reading (``Evidence.unread``), only its id, key, class and the artifact that answered, so that
its feedback is told why it is refused (``feedback_api``, a 403) rather than that it is unknown.
"""

from __future__ import annotations

from stellwerk.gateway.calls import Call
from stellwerk.gateway.pending import Pending
from stellwerk.gateway.runtime import Runtime


def keep_for_grading(runtime: Runtime, call: Call) -> Pending | None:
    """Its entry for feedback, if it may get one (shadow grading started, if it was picked)."""
    found, call.evidence = call.evidence, None
    ticket, call.shadow = call.shadow, None
    selection, principal = call.selection, call.principal
    if found is None or call.status != 200 or call.model is None:
        return None
    if selection is None or selection.route is None or principal is None:
        return None
    shadow = ticket if ticket is not None and ticket.answer else None  # picked, answered
    takes_feedback = principal.classification in runtime.config.router.feedback_classifications
    # with its noise, after the answer (``pending.Held``); drawn only where it is kept
    kept = found.kept() if shadow is not None or takes_feedback else found.evidence.unread
    if shadow is not None:
        runtime.shadow.start(runtime, call, shadow, kept, selection.route)
    return Pending(
        call.request_id,
        principal.key_id,
        principal.department,
        selection.route,
        call.model.id,
        kept if takes_feedback else kept.unread,
        principal.classification,
    )
