"""Where a long word may break: after the slashes, dots and separators of a URL or an address.

A purpose or a contact may hold a URL far wider than its table column. Marked with ``<wbr>``
after each ``/ . @ ? & = #``, it wraps at those first (``https://contracts.example/`` and then
the rest), the way a URL is broken in print; only a part still too wide for its column breaks
anywhere (the stylesheet's ``overflow-wrap``). Words shorter than :data:`LONG` get no such mark,
so an address like ``legal@example.org`` never breaks at its dot when the line has room for it
on the next line.

An identifier (``it-admin``, ``tiny-medium``, ``key-30cd4ffe5017``) is one word to its reader,
but a browser breaks it after each hyphen when its column is narrow: :func:`unbroken` keeps a
word shorter than :data:`LONG` on one line; a longer one may break as any text, so that a name
of 128 characters never widens a table past its card.
"""

from __future__ import annotations

import re

from markupsafe import Markup, escape

__all__ = ["LONG", "breakable", "unbroken"]

LONG = 24
"""Characters from which a word is wider than a narrow column (about 12 rem) may hold."""

_WORD = re.compile(rf"\S{{{LONG},}}")
_AFTER = re.compile(r"(?<=[/.@?&=#])(?=[^/.@?&=#])")
_WBR = Markup("<wbr>")


def breakable(text: str) -> Markup:
    """``text`` escaped, each long word with a ``<wbr>`` after its URL separators."""
    parts: list[Markup] = []
    start = 0
    for word in _WORD.finditer(text):
        parts.append(escape(text[start : word.start()]))
        parts.append(_WBR.join(escape(piece) for piece in _AFTER.split(word.group())))
        start = word.end()
    parts.append(escape(text[start:]))
    return Markup("").join(parts)


def unbroken(text: str) -> Markup:
    """``text`` escaped, on one line if it is one word shorter than :data:`LONG` (an id)."""
    if len(text) < LONG and not any(c.isspace() for c in text):
        return Markup('<span class="nowrap">{}</span>').format(text)
    return escape(text)
