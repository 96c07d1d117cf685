"""Sets of characters, as sorted ranges of code points, and their form as a pattern's class.

A character class of a pattern (``[\\s\\S]``, ``[^a\\d]``) is a set; ``stellwerk.backends.
pattern_syntax`` reads one into a ``CharSet`` when its written form cannot simply be copied: a
negated escape inside it (``\\S``, which has no form inside a class the grammar builders read), or
a grammar that must leave some characters out (``stellwerk.backends.json_strings``). ``written``
gives the set back as one class, in the escapes llama.cpp's grammar parser knows.
"""

from __future__ import annotations

from collections.abc import Iterable

from stellwerk.backends.pattern_escapes import literal

#: inclusive (first, last) code points, sorted, neither overlapping nor touching
CharSet = tuple[tuple[int, int], ...]

LAST = 0x10FFFF
_BMP_LAST = 0xFFFF
ALL: CharSet = ((0, LAST),)
NONE: CharSet = ()


def char_set(ranges: Iterable[tuple[int, int]]) -> CharSet:
    """The union of ``ranges``, in order, joined where they meet."""
    out: list[tuple[int, int]] = []
    for first, last in sorted(ranges):
        if out and first <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], last))
        else:
            out.append((first, last))
    return tuple(out)


def complement(chars: CharSet) -> CharSet:
    """Every character not in ``chars``."""
    out: list[tuple[int, int]] = []
    start = 0
    for first, last in chars:
        if first > start:
            out.append((start, first - 1))
        start = last + 1
    if start <= LAST:
        out.append((start, LAST))
    return tuple(out)


def minus(chars: CharSet, taken: CharSet) -> CharSet:
    """The characters of ``chars`` not in ``taken``."""
    kept = complement(taken)
    return char_set(
        (max(first, low), min(last, high))
        for first, last in chars
        for low, high in kept
        if max(first, low) <= min(last, high)
    )


def holds(chars: CharSet, code: int) -> bool:
    return any(first <= code <= last for first, last in chars)


def written(chars: CharSet) -> str:
    """A non-empty set, not every character, as one class: its ranges, or the ranges it leaves
    out after ``^`` where those are as few or fewer (``[^a]`` rather than three ranges). A set of
    astral characters alone is written as its ranges: llama.cpp answered ``[^\\x00-\\uFFFF]``
    with ``""`` on some seeds, ``[\\U00010000-\\U0010FFFF]`` with one such character every time."""
    others = complement(chars)
    if len(others) <= len(chars) and chars[0][0] <= _BMP_LAST:
        return "[^" + _ranges(others) + "]"
    return "[" + _ranges(chars) + "]"


def _ranges(chars: CharSet) -> str:
    return "".join(
        _char(first) if first == last else f"{_char(first)}-{_char(last)}" for first, last in chars
    )


def _char(code: int) -> str:
    """A letter or digit as it is, any other character as its hex escape (no class syntax)."""
    char = chr(code)
    return char if char.isascii() and char.isalnum() else literal(char)
