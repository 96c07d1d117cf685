"""The lifecycle of a model in the catalog and who may be routed to it.

    proposed -> in_review -> approved -> deprecated -> retired

A review may send a model back (``in_review -> proposed``), a deprecation may be withdrawn
(``deprecated -> approved``), and a model may be retired from any state but ``retired``. Every
other move is illegal; ``retired`` is final.
"""

from __future__ import annotations

from typing import Final, get_args

from stellwerk.config.choice import parse_choice
from stellwerk.config.schema import Lifecycle
from stellwerk.errors import Conflict

STATES: Final[tuple[Lifecycle, ...]] = get_args(Lifecycle)

TRANSITIONS: Final[dict[Lifecycle, frozenset[Lifecycle]]] = {
    "proposed": frozenset({"in_review", "retired"}),
    "in_review": frozenset({"approved", "proposed", "retired"}),
    "approved": frozenset({"deprecated", "retired"}),
    "deprecated": frozenset({"approved", "retired"}),
    "retired": frozenset(),
}


def parse_state(value: str) -> Lifecycle:
    """A lifecycle state from user input; anything else is an ``InvalidRequest`` naming it."""
    return parse_choice(
        value, STATES, unknown="unknown lifecycle state", known="known states:", param="state"
    )


def check_transition(model_id: str, current: Lifecycle, target: Lifecycle) -> None:
    """Raise ``Conflict`` unless ``current -> target`` is an allowed move."""
    if target in TRANSITIONS[current]:
        return
    allowed = sorted(TRANSITIONS[current])
    hint = f"allowed from {current}: {', '.join(allowed)}" if allowed else f"{current} is final"
    raise Conflict(
        f"model {model_id!r}: illegal lifecycle transition {current} -> {target} ({hint})",
        code="illegal_transition",
    )


def is_routable(state: Lifecycle, *, pilot: bool) -> bool:
    """Approved models serve everyone; models in review serve only pilot departments."""
    return state == "approved" or (state == "in_review" and pilot)


def why_not_routable(state: Lifecycle, *, department: str) -> str:
    """The reason a model in ``state`` may not serve ``department`` (for 403 messages)."""
    if state == "in_review":
        return f"in_review, and department {department!r} is not a pilot"
    return f"lifecycle state is {state}"
