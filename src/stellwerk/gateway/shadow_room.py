"""Whether shadow grading's judging call has room in a judge's context, as ``stellwerk config
check`` judges it before anything runs (docs/router.md, "Shadow grading").

The judging call (``shadow_fit.judging_request``) holds the rubric, the question, the reference
answer (up to ``router.shadow.reference_max_tokens``) and the routed answer, and leaves room for
the judge's verdict. Without a tokenizer the rubric is estimated (``CHARS_PER_TOKEN``, about what
English text takes), not bounded: the check warns about a setting that cannot work, and the
gateway counts each grading exactly before it pays for it (``shadow_fit``). A setting is
questioned when the reference answer takes more than a third of what the judge's context leaves
beside the rubric: the question and the routed answer, of about the same length, then rarely fit
beside it, and most gradings are skipped (``judge_context``).
"""

from __future__ import annotations

import math

from stellwerk.backends.tokens import PER_MESSAGE_BOUND, PER_REQUEST_BOUND
from stellwerk.config.schema import StellwerkConfig
from stellwerk.gateway.shadow_fit import JUDGE_MAX_TOKENS, judging_request

CHARS_PER_TOKEN = 4


def rubric_tokens() -> int:
    """About what the judging call takes beside the question and both answers."""
    request = judging_request("", "", "")
    text = sum(len(str(m.get("content") or "")) for m in request.messages)
    return math.ceil(text / CHARS_PER_TOKEN) + PER_REQUEST_BOUND + 2 * PER_MESSAGE_BOUND


def shadow_room_warnings(config: StellwerkConfig) -> list[str]:
    """A warning when ``reference_max_tokens`` leaves no room (or too little) in the context of
    every chat model, the possible references; none while shadow grading is off."""
    shadow = config.router.shadow
    judges = [m for m in config.models if "chat" in m.capabilities]
    if shadow.share <= 0 or not judges:
        return []
    widest = max(judges, key=lambda m: m.context_length)
    rubric = rubric_tokens() + JUDGE_MAX_TOKENS
    room = widest.context_length - rubric
    at_most = max(room // 3, 0)
    asked = shadow.reference_max_tokens
    if asked <= at_most:
        return []
    names = ", ".join(m.id for m in judges if m.context_length == widest.context_length)
    where = f"{widest.context_length} tokens, the largest context of the chat models ({names})"
    if asked >= room:
        what = (
            f"router.shadow.reference_max_tokens ({asked}) and the judge's rubric (about"
            f" {rubric} tokens) do not fit in {where}: every grading would be skipped"
            " (judge_context)"
        )
    else:
        what = (
            f"router.shadow.reference_max_tokens ({asked}) leaves the question and the routed"
            f" answer {room - asked} tokens of {where}, beside the judge's rubric (about {rubric}):"
            " most gradings would be skipped (judge_context)"
        )
    return [
        f"{what}; set it to {at_most} or less (a third of what the rubric leaves, the question and"
        " the routed answer keeping the rest: long ones are still skipped, so bound the answers"
        " with max_tokens)"
    ]
