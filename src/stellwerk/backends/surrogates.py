"""A pattern's UTF-16 surrogates (``\\uD83D\\uDE00``, ``[\\uD800-\\uDBFF][\\uDC00-\\uDFFF]``) as the
characters they write.

A JSON Schema pattern is ECMAScript, whose strings are UTF-16: a character beyond the Basic
Multilingual Plane (an emoji) is two code units, a high surrogate then a low one, and a pattern may
write it so. The rewrite reads classes as sets of whole code points (the ``u`` flag's reading, see
``stellwerk.backends.pattern_syntax``), and the grammar builders and vLLM's engines read the answer
as code points too: a surrogate sent as it is (``[\\uD83D][\\uDE00]``) stands for a character no
answer can hold, and llama.cpp answered ``""``, which the pattern does not match. So a high part
followed by a low part is the one set of characters they pair to (``\\U0001F600``, the astral
range ``[\\U00010000-\\U0010FFFF]``); a surrogate that cannot be paired so (a lone one, a class
mixing them, ``[\\uD800-\\uDFFF]``, a quantifier between the halves) is a ``PatternProblem``: no
JSON string can hold a lone surrogate as a character.
"""

from __future__ import annotations

from stellwerk.backends.char_sets import CharSet, char_set, minus
from stellwerk.backends.pattern_escapes import PatternProblem, pair

HIGH: CharSet = ((0xD800, 0xDBFF),)
LOW: CharSet = ((0xDC00, 0xDFFF),)
SURROGATES: CharSet = ((0xD800, 0xDFFF),)
#: high surrogates a partial low set is paired with one by one, at most (each gives its ranges)
MOST_HIGHS = 64


def any_surrogate(chars: CharSet) -> bool:
    return minus(chars, SURROGATES) != chars


def only(chars: CharSet, half: CharSet) -> bool:
    """Whether ``chars`` (not empty) lies wholly in ``half`` (``HIGH`` or ``LOW``)."""
    return bool(chars) and not minus(chars, half)


def paired(highs: CharSet, lows: CharSet, where: str) -> CharSet:
    """The characters any of ``highs`` followed by any of ``lows`` write."""
    if lows == LOW:
        return char_set((pair(first, 0xDC00), pair(last, 0xDFFF)) for first, last in highs)
    if sum(last - first + 1 for first, last in highs) > MOST_HIGHS:
        raise PatternProblem(
            f"{where}: more than {MOST_HIGHS} high surrogates before a part of the low ones;"
            " write the characters as \\uHHHH\\uLLLL pairs or ranges of them"
        )
    return char_set(
        (pair(high, first), pair(high, last))
        for start, end in highs
        for high in range(start, end + 1)
        for first, last in lows
    )


def lone(shown: str, at: int) -> PatternProblem:
    """The problem of the part ``shown`` at ``at`` (a raw surrogate in it shown as its escape)."""
    shown = "".join(
        f"\\u{ord(c):04X}" if only(((ord(c), ord(c)),), SURROGATES) else c for c in shown
    )
    return PatternProblem(
        f"{shown} at {at} is a UTF-16 surrogate not paired with its other half (a high one,"
        " \\uD800-\\uDBFF, right before a low one, \\uDC00-\\uDFFF); no JSON string can hold it"
        " as a character: write the character itself, or both halves (\\uD83D\\uDE00)"
    )
