"""The dashboard's page language: the ``stw_lang`` cookie (set by the switch in the page
header), else the supported language the browser's ``Accept-Language`` rates highest (``q=0``
refuses a language), else English."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Final

from stellwerk.dashboard.formats import Language

LANGUAGES: Final[tuple[Language, ...]] = ("en", "de")
COOKIE: Final = "stw_lang"

_QVALUE: Final = re.compile(r"0(\.[0-9]{0,3})?|1(\.0{0,3})?")  # not \d: no other digits


def choose(cookie: str | None, accept_language: str | None) -> Language:
    """The page language: the cookie, else the supported language the browser's
    ``Accept-Language`` rates highest (``q``, 1 when not given; ``q=0``: not acceptable), else
    English."""
    for language in LANGUAGES:
        if cookie == language:
            return language
    return preferred(accept_language or "")


def preferred(accept_language: str) -> Language:
    """The supported language ``accept_language`` (RFC 9110, 12.5.4) rates highest. A
    language's weight is that of the range naming it exactly (``de``), else the best of its
    regional ranges (``de-DE``, ``de-CH``), else that of ``*``; a range with a malformed ``q``
    is ignored. Of equal weights the range named first wins, then the order of ``LANGUAGES``;
    when no supported language is acceptable, English."""
    ranges = list(_ranges(accept_language))
    weights = {language: _weight(language, ranges) for language in LANGUAGES}
    best = max(LANGUAGES, key=weights.__getitem__)  # the first of equals
    return best if weights[best][0] > 0 else "en"


def _weight(language: Language, ranges: list[tuple[str, float]]) -> tuple[float, int]:
    """``language``'s weight in ``ranges`` and where the range that gives it stands (negated, so
    that the earlier range is the greater); nothing names it: ``(0, 0)``."""
    ways: tuple[Callable[[str], bool], ...] = (
        lambda tag: tag == language,
        lambda tag: tag.startswith(language + "-"),
        lambda tag: tag == "*",
    )
    for names in ways:
        rated = [(q, -position) for position, (tag, q) in enumerate(ranges) if names(tag)]
        if rated:
            return max(rated)
    return (0.0, 0)


def _ranges(accept_language: str) -> Iterator[tuple[str, float]]:
    """The language ranges of an ``Accept-Language`` header with their weights, in order."""
    for part in accept_language.split(","):
        tag, *parameters = (piece.strip() for piece in part.split(";"))
        q = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                if not _QVALUE.fullmatch(value.strip()):
                    break
                q = float(value)
        else:
            if tag:
                yield tag.lower(), q
