"""The reason given for a governance change: every change asks for one, and it goes into the
audit log. One rule for the CLI, the admin API and the dashboard: surrounding blank space is
dropped, and what is left must be 1 to ``MAX_REASON`` characters long, on one line, without
control characters or the marks that change the direction of text (U+202E and its kin): the
audit log is read line by line on terminals and pages, where such characters can hide, move or
forge what a reason says. The same rule (``plain_line``) guards other labels read so, such as the
``task`` of a feedback (``gateway.feedback_api``).
"""

from __future__ import annotations

import unicodedata
from typing import Final

from stellwerk.errors import InvalidRequest

MAX_REASON: Final = 1000


def audit_reason(reason: str) -> str:
    """``reason`` without surrounding blank space; an ``InvalidRequest`` when that leaves
    nothing or more than ``MAX_REASON`` characters."""
    cleaned = reason.strip()
    if not cleaned:
        raise InvalidRequest("give a reason: it goes into the audit log", param="reason")
    if len(cleaned) > MAX_REASON:
        raise InvalidRequest(f"the reason is longer than {MAX_REASON} characters", param="reason")
    plain_line(cleaned, param="reason", what="the reason")
    return cleaned


def plain_line(text: str, *, param: str, what: str) -> None:
    """An ``InvalidRequest`` naming ``param`` when ``text`` holds a control character or a mark
    that changes the direction of text; ``what`` names it in the message (``the reason``)."""
    for char in text:
        if _hidden(char):
            raise InvalidRequest(
                f"{what} contains the control character U+{ord(char):04X}"
                f" ({unicodedata.name(char, 'unnamed')}); write it on one line of plain text",
                param=param,
            )


def _hidden(char: str) -> bool:
    """A control character (line breaks and tabs included) or a mark that changes the direction
    of text, which a terminal or a page does not show as itself."""
    return unicodedata.category(char) == "Cc" or unicodedata.bidirectional(char) in _DIRECTION


_DIRECTION: Final = frozenset({"LRE", "RLE", "LRO", "RLO", "PDF", "LRI", "RLI", "FSI", "PDI"})
