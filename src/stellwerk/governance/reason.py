"""The reason given for a governance change: every change asks for one, and it goes into the
audit log. One rule for the CLI, the admin API and the dashboard: surrounding blank space is
dropped, and what is left must be 1 to ``MAX_REASON`` characters long, on one line, without
control characters, line or paragraph separators (U+2028, U+2029), the marks that change the
direction of text (U+202E and its kin, U+061C, U+200E, U+200F), zero-width or other invisible
characters (U+200B to U+200D, U+2060, U+FEFF, U+00AD, U+034F) or a lone surrogate
(``"\\ud800"``, not valid Unicode): the audit log is read line by line on terminals and pages,
where such characters can hide, move or forge what a reason says, or (a lone surrogate) make it
unreadable (``config.plain_text``, which also guards the free text of the config and of use
cases). The same rule (``plain_line``, which also refuses a text of only blank space) guards
other labels read so, such as the ``task`` of a feedback (``gateway.feedback_api``).
"""

from __future__ import annotations

from typing import Final

from stellwerk.config.plain_text import SURROGATE, first_hidden, hidden_message
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
    """An ``InvalidRequest`` naming ``param`` when ``text`` is only blank space, a
    ``HiddenCharacter`` when it holds a character a terminal or a page does not show as itself
    (``config.plain_text``); ``what`` names it in the message (``the reason``)."""
    if not text.strip():
        raise InvalidRequest(
            f"{what} is only blank space; write it in words on one line", param=param
        )
    found = first_hidden(text)
    if found is not None:
        raise HiddenCharacter(what, *found, param=param)


class HiddenCharacter(InvalidRequest):
    """A text holds a character a terminal or a page does not show as itself: ``kind`` as
    ``config.plain_text.hidden`` says it, ``char`` the first such character (what a page needs to
    say it in its own language)."""

    def __init__(self, what: str, kind: str, char: str, *, param: str) -> None:
        super().__init__(
            f"{what} {hidden_message(kind, char)}",
            param=param,
            code="invalid_unicode" if kind == SURROGATE else None,
        )
        self.kind = kind
        self.char = char
