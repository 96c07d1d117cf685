"""The reason a dashboard form gives for a change: the one rule of
:mod:`stellwerk.governance.reason`, with a refused character named for the page. The rule's
English message says what is wrong; the page says it in its own language, so the error carries
what the page needs: the kind of character (``kind``, a label's suffix: ``hidden_<kind>``) and
the character itself (``U+202E (RIGHT-TO-LEFT OVERRIDE)``), both as the rule found them
(``HiddenCharacter``). A reason the rule refuses for something else (none, or one longer than
``MAX_REASON``, checked first) is said as that, whatever characters it holds.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from stellwerk.config.plain_text import SURROGATE, character_name
from stellwerk.errors import InvalidRequest
from stellwerk.governance.reason import HiddenCharacter, audit_reason

KINDS: Final = {
    "the control character": "control",
    SURROGATE: "surrogate",
    "the separator": "separator",
    "the direction mark": "direction",
    "the zero-width character": "zero_width",
    "the invisible character": "invisible",
}
"""``config.plain_text.hidden``'s kinds -> the suffix of their labels (``hidden_control``)."""


class HiddenInReason(InvalidRequest):
    """The reason holds a character a page or a terminal does not show as itself."""

    def __init__(self, message: str, kind: str, char: str) -> None:
        super().__init__(message, param="reason", code="reason_hidden")
        self.kind = KINDS.get(kind, "control")
        self.character = character_name(char)


def form_reason(form: Mapping[str, str]) -> str:
    """The form's reason as the audit log keeps it, else an ``InvalidRequest`` (a
    ``HiddenInReason`` when a character is what the rule refused)."""
    try:
        return audit_reason(form.get("reason", ""))
    except HiddenCharacter as exc:
        raise HiddenInReason(exc.message, exc.kind, exc.char) from exc
