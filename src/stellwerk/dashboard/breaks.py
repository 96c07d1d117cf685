"""Where a long word may break: after the slashes, dots and separators of a URL or an address.

A purpose or a contact may hold a URL far wider than its table column. Marked with ``<wbr>``
after each ``/ @ ? & = #``, and after a ``.`` that a ``/`` follows (a host's dots, not a file's
``stellwerk.yaml`` nor an address's ``example.org``), it wraps at those first
(``https://contracts.example/`` and then the rest), the way a URL is broken in print; only a part
still too wide for its column breaks anywhere (the stylesheet's ``overflow-wrap``). Words
shorter than :data:`LONG` get no such mark, so an address like ``legal@example.org`` never breaks
at its ``@`` when the line has room for it on the next line.

An identifier (``it-admin``, ``tiny-medium``, ``key-30cd4ffe5017``) is one word to its reader,
but a browser breaks it after each hyphen when its column is narrow: :func:`unbroken` keeps a
word shorter than :data:`LONG` on one line (a model's link too: ``macros.html``); a longer one
may break, after its slashes first (:func:`breakable`: a config's path
``/etc/stellwerk/stellwerk.yaml`` breaks after ``/etc/stellwerk/``, not inside a word), so that a
name of 128 characters never widens a table past its card. In a line of text (an audit entry's
detail, ``zulässige Modelle: tiny-small, tiny-medium → tiny-small``) each such word is kept so
(:func:`ids_whole`), and the line breaks between its words. An actor (:func:`actor`) breaks
only after the colon between its kind and its name.
"""

from __future__ import annotations

import re

from markupsafe import Markup, escape

__all__ = ["LONG", "actor", "breakable", "ids_whole", "narrow", "unbroken"]

LONG = 24
"""Characters from which a word is wider than a narrow column (about 12 rem) may hold."""
_NARROW = Markup('<span class="narrow">{}</span>')

_WORD = re.compile(rf"\S{{{LONG},}}")
_AFTER = re.compile(r"(?:(?<=[/@?&=#])|(?<=\.)(?=[^/]*/))(?=[^/.@?&=#])")
_WBR = Markup("<wbr>")
_ANY_WORD = re.compile(r"\S+")
_BREAKS_AT = re.compile(r"[-/]")
"""Where a browser breaks a short word it has no room for: after a hyphen or a slash."""


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
    """``text`` escaped, on one line if it is one word shorter than :data:`LONG` (an id);
    otherwise :func:`breakable`."""
    if len(text) < LONG and not any(c.isspace() for c in text):
        return Markup('<span class="nowrap">{}</span>').format(text)
    return breakable(text)


def actor(text: str) -> Markup:
    """Who did it (``cli:root``, ``schedule:<host>-<pid>-<tag>``): :func:`unbroken` when shorter
    than :data:`LONG`; else its kind and its name each unbroken, a line break allowed only
    between them, after the colon (walk24 9: a scheduler's name broke inside its words at
    390 px)."""
    kind, colon, name = text.partition(":")
    if len(text) < LONG or not colon or not name:
        return unbroken(text)
    return Markup("{}<wbr>{}").format(unbroken(kind + colon), unbroken(name))


def narrow(text: str) -> Markup:
    """``text`` for a narrow column: :func:`unbroken`, and a longer name in a
    ``<span class="narrow">``, which the stylesheet keeps within 12 rem (a use case's name of 128
    characters in the keys table, which would otherwise take its whole width from the row's
    reason field and button)."""
    shown = unbroken(text)
    return shown if len(text) < LONG else _NARROW.format(shown)


def ids_whole(text: str) -> Markup:
    """``text`` escaped, each of its words that a browser would break at a hyphen or a slash
    kept on one line when shorter than :data:`LONG` (an id: :func:`unbroken`), a longer one
    broken after its separators first (:func:`breakable`); the line breaks between words."""
    parts: list[Markup] = []
    start = 0
    for word in _ANY_WORD.finditer(text):
        found = word.group()
        if len(found) < LONG and not _BREAKS_AT.search(found):
            continue  # nothing in it to break at: left as it is
        parts.append(escape(text[start : word.start()]))
        parts.append(unbroken(found))
        start = word.end()
    parts.append(escape(text[start:]))
    return Markup("").join(parts)
