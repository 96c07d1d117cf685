"""Free text an administrator writes that the audit log, the dashboard and the CLI show (a
use case's ``purpose``, a model's ``licence`` ...): the characters it may not hold, because a
terminal or a page does not show them as themselves. A control character (line breaks and tabs
included), a line or paragraph separator (U+2028, U+2029), a mark that changes the direction of
text (U+202E and its kin, U+061C, U+200E, U+200F), an invisible character (U+200B to U+200D,
U+2060, U+FEFF, the soft hyphen U+00AD, the combining grapheme joiner U+034F) or a lone
surrogate (not valid Unicode) can hide, move or forge what a line says, or make look-alike texts.

``hidden_problem`` says what is wrong, without the field's name (``hidden_message`` for a
character ``first_hidden`` found): the config's validators (``plain_text``) and the audit
reason's rule (``governance.reason.plain_line``) name it.

A lone surrogate is found and named here for every part that refuses or shows one (the config,
the data plane and the admin API in ``gateway.body``, the audit log): ``lone_surrogate`` names
the first in a text (``a lone surrogate (\\ud800)``), ``escape_surrogates`` writes each as its
escape.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

SURROGATE: Final = "a lone surrogate"
_SURROGATES: Final = re.compile("[\ud800-\udfff]")


def lone_surrogate(text: str) -> str | None:
    """The first lone surrogate of ``text`` named with its escape (``a lone surrogate
    (\\ud800)``), else None. Python's strings hold one (its JSON parser reads ``"\\ud800"`` so);
    it is not valid Unicode: no UTF-8 can carry it, PostgreSQL cannot store it."""
    found = _SURROGATES.search(text)
    return None if found is None else f"{SURROGATE} ({_escape(found)})"


def escape_surrogates(text: str) -> str:
    """``text`` with each lone surrogate written as its escape (the six characters ``\\ud800``)."""
    return _SURROGATES.sub(_escape, text)


def _escape(found: re.Match[str]) -> str:
    return _escape_char(found.group(0))


def _escape_char(char: str) -> str:
    return f"\\u{ord(char):04x}"


def first_hidden(text: str) -> tuple[str, str] | None:
    """``(kind, char)`` for the first character of ``text`` a terminal or a page does not show
    as itself (``kind`` as :func:`hidden` says it), else None."""
    for char in text:
        kind = hidden(char)
        if kind is not None:
            return kind, char
    return None


def character_name(char: str) -> str:
    """``U+202E (RIGHT-TO-LEFT OVERRIDE)``, or a lone surrogate's escape (``\\ud800``)."""
    if hidden(char) == SURROGATE:
        return _escape_char(char)
    name = unicodedata.name(char, "")
    return f"U+{ord(char):04X}{f' ({name})' if name else ''}"


def hidden_problem(text: str) -> tuple[str, str] | None:
    """``(kind, message)`` for the first character of ``text`` a terminal or a page does not
    show as itself, else None; ``kind`` is ``SURROGATE`` for a lone surrogate."""
    found = first_hidden(text)
    if found is None:
        return None
    kind, char = found
    return kind, hidden_message(kind, char)


def hidden_message(kind: str, char: str) -> str:
    """What is wrong with a text holding ``char`` (of ``kind``, as :func:`hidden` says it),
    without the text's name: ``contains the control character U+202E (...); write it ...``."""
    if kind == SURROGATE:
        return (
            f"is not valid Unicode: {lone_surrogate(char)}, which no UTF-8 can carry;"
            " write it in plain text"
        )
    return f"contains {kind} {character_name(char)}; write it on one line of plain text"


def plain_text(value: str | None) -> str | None:
    """A pydantic validator: ``value`` unchanged, or a ``ValueError`` saying which character a
    terminal or a page would not show as itself (the field's name is added by whoever reports
    the error: ``purpose: contains the control character U+202E ...``)."""
    if value is not None:
        problem = hidden_problem(value)
        if problem is not None:
            raise ValueError(problem[1])
    return value


def hidden(char: str) -> str | None:
    """What ``char`` is if a terminal or a page does not show it as itself, else None."""
    category = unicodedata.category(char)
    if category == "Cc" or unicodedata.bidirectional(char) in _DIRECTION:
        return "the control character"
    if category == "Cs":
        return SURROGATE
    if category in ("Zl", "Zp"):
        return "the separator"
    if char in _DIRECTION_MARKS:
        return "the direction mark"
    if char in _ZERO_WIDTH:
        return "the zero-width character"
    if char in _INVISIBLE:
        return "the invisible character"
    return None


_DIRECTION: Final = frozenset({"LRE", "RLE", "LRO", "RLO", "PDF", "LRI", "RLI", "FSI", "PDI"})
"""The bidirectional classes of the embeddings, overrides and isolates (U+202A..U+202E,
U+2066..U+2069)."""
_DIRECTION_MARKS: Final = frozenset({"\u061c", "\u200e", "\u200f"})
"""The marks that change the direction of text without a class of their own: ARABIC LETTER
MARK, LEFT-TO-RIGHT MARK, RIGHT-TO-LEFT MARK."""
_ZERO_WIDTH: Final = frozenset({"\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"})
"""ZERO WIDTH SPACE, NON-JOINER, JOINER, WORD JOINER, and ZERO WIDTH NO-BREAK SPACE (a BOM)."""
_INVISIBLE: Final = frozenset({"\u00ad", "\u034f"})
"""SOFT HYPHEN and COMBINING GRAPHEME JOINER: shown as nothing (``p\\u00adq`` reads ``pq``), so
they make look-alike texts as the zero-width characters do."""


def escaped(text: str) -> str:
    """``text`` with every character a terminal does not show as itself (line breaks, U+2028
    and U+0085, which YAML also reads as line breaks, direction marks ...) written as its escape
    (``\\u000a``): one line that says what the text holds, safe in a YAML comment."""
    return "".join(f"\\u{ord(char):04x}" if hidden(char) is not None else char for char in text)
