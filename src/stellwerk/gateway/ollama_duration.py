"""Ollama's ``keep_alive``, read as Ollama reads it (``api.Duration`` in its Go API types).

A number is seconds; a string is a duration of Go's ``time.ParseDuration``: an optional sign,
then one or more parts, each a decimal number (``5``, ``1.5``, ``.5``) and a unit (``ns``, ``us``,
``µs``, ``μs``, ``ms``, ``s``, ``m``, ``h``), with nothing between them (``"1h30m"``, ``"-1m"``);
``"0"`` alone needs no unit. A negative duration keeps the model loaded, zero unloads it. What Go
refuses (``"forever"``, ``"300"``, ``"1d"``, ``"5 m"``, a duration past 2^63 - 1 nanoseconds, about
292 years) Ollama answers with a 400, and so does the gateway, saying why.
"""

from __future__ import annotations

import re

from stellwerk.errors import shown

#: nanoseconds in each unit Go's ``time.ParseDuration`` reads
UNITS = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,  # U+00B5 MICRO SIGN
    "μs": 1_000,  # U+03BC GREEK SMALL LETTER MU
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}
_LONGEST = 2**63 - 1  # Go's time.Duration, in nanoseconds
# one part: digits, a fraction or both, then the unit (everything up to the next number)
_PART = re.compile(r"(\d*)(?:\.(\d*))?([^\d.]*)")
_SAID = "a number of seconds, or a duration such as '5m', '1h30m' or '300ms'"


def duration_ns(text: str) -> int:
    """The duration ``text`` stands for, in nanoseconds, as Go's ``time.ParseDuration`` reads
    it; ``ValueError`` saying why when Go refuses it."""
    rest = text[1:] if text[:1] in ("+", "-") else text
    negative = text[:1] == "-"
    if rest == "0":
        return 0
    if not rest:
        raise ValueError(_refused(text, "it is empty"))
    total = 0
    at = 0
    while at < len(rest):
        part = _PART.match(rest, at)
        assert part is not None  # every group may be empty: it always matches
        whole, fraction, unit = part.group(1), part.group(2), part.group(3)
        if not whole and not fraction:
            raise ValueError(_refused(text, f"{shown(rest[at:])} does not begin with a number"))
        if not unit:
            raise ValueError(_refused(text, "a number has no unit (ns, us, ms, s, m, h)"))
        if unit not in UNITS:
            raise ValueError(_refused(text, f"{shown(unit)} is not a unit (ns, us, ms, s, m, h)"))
        scale = UNITS[unit]
        total += int(whole or "0") * scale
        if fraction:
            total += int(fraction) * scale // 10 ** len(fraction)
        at = part.end()
    if total > _LONGEST + (1 if negative else 0):
        raise ValueError(_refused(text, "it is longer than Go's longest duration, about 292 years"))
    return -total if negative else total


def keep_alive(value: object) -> str | int | float:
    """``value`` if it is a ``keep_alive`` Ollama takes (a number, or a duration string);
    ``ValueError`` saying why not."""
    if isinstance(value, str):
        duration_ns(value)
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"must be {_SAID}")
    return value  # a number past a double's range is refused where the body is read


def is_zero(value: str | int | float | None) -> bool:
    """``keep_alive`` is zero (Ollama's "unload now"): ``0``, ``"0"``, ``"0s"``, ``"0m0s"`` ...
    (a negative one is Ollama's "keep it loaded"). A checked value (``keep_alive``)."""
    if value is None:
        return False
    if isinstance(value, str):
        return duration_ns(value) == 0
    return value == 0


def _refused(text: str, why: str) -> str:
    return (
        f"{shown(text)} is not a duration Ollama reads: {why}; send {_SAID}"
        " (negative: keep the model loaded; 0: unload it)"
    )
