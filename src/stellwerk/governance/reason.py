"""The reason given for a governance change: every change asks for one, and it goes into the
audit log. One rule for the CLI, the admin API and the dashboard: surrounding blank space is
dropped, and what is left must be 1 to ``MAX_REASON`` characters long, on one line, without
control characters, line or paragraph separators (U+2028, U+2029), the marks that change the
direction of text (U+202E and its kin, U+061C, U+200E, U+200F), zero-width characters (U+200B
to U+200D, U+2060, U+FEFF) or a lone surrogate (``"\\ud800"``, not valid Unicode): the audit
log is read line by line on terminals and pages, where such characters can hide, move or forge
what a reason says, or (a lone surrogate) make it unreadable. The same rule (``plain_line``,
which also refuses a text of only blank space) guards other labels read so, such as the ``task``
of a feedback (``gateway.feedback_api``).
"""

from __future__ import annotations

import unicodedata
from typing import Final

from stellwerk.errors import InvalidRequest

MAX_REASON: Final = 1000
_SURROGATE: Final = "a lone surrogate"


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
    """An ``InvalidRequest`` naming ``param`` when ``text`` is only blank space or holds a
    character a terminal or a page does not show as itself (``_hidden``); ``what`` names it in
    the message (``the reason``)."""
    if not text.strip():
        raise InvalidRequest(
            f"{what} is only blank space; write it in words on one line", param=param
        )
    for char in text:
        kind = _hidden(char)
        if kind is None:
            continue
        if kind == _SURROGATE:  # named as the data plane names it (gateway.body)
            raise InvalidRequest(
                f"{what} is not valid Unicode: a lone surrogate (\\u{ord(char):04x}), which no"
                " UTF-8 can carry; write it in plain text",
                param=param,
                code="invalid_unicode",
            )
        name = unicodedata.name(char, "")
        raise InvalidRequest(
            f"{what} contains {kind} U+{ord(char):04X}{f' ({name})' if name else ''};"
            " write it on one line of plain text",
            param=param,
        )


def _hidden(char: str) -> str | None:
    """What ``char`` is if a terminal or a page does not show it as itself, else None: a
    control character (line breaks and tabs included), a line or paragraph separator, a mark
    that changes the direction of text, a zero-width character (it makes look-alike labels), or
    a lone surrogate (no UTF-8 can carry it: the text could not be stored or read back)."""
    category = unicodedata.category(char)
    if category == "Cc" or unicodedata.bidirectional(char) in _DIRECTION:
        return "the control character"
    if category == "Cs":
        return _SURROGATE
    if category in ("Zl", "Zp"):
        return "the separator"
    if char in _DIRECTION_MARKS:
        return "the direction mark"
    if char in _ZERO_WIDTH:
        return "the zero-width character"
    return None


_DIRECTION: Final = frozenset({"LRE", "RLE", "LRO", "RLO", "PDF", "LRI", "RLI", "FSI", "PDI"})
"""The bidirectional classes of the embeddings, overrides and isolates (U+202A..U+202E,
U+2066..U+2069)."""
_DIRECTION_MARKS: Final = frozenset({"\u061c", "\u200e", "\u200f"})
"""The marks that change the direction of text without a class of their own: ARABIC LETTER
MARK, LEFT-TO-RIGHT MARK, RIGHT-TO-LEFT MARK."""
_ZERO_WIDTH: Final = frozenset({"\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"})
"""ZERO WIDTH SPACE, NON-JOINER, JOINER, WORD JOINER, and ZERO WIDTH NO-BREAK SPACE (a BOM)."""
