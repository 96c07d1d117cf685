"""A pattern's escapes as ECMAScript reads them, in the forms llama.cpp's grammar parser knows.

JSON Schema patterns are ECMAScript regular expressions (without the ``u`` flag), where ``\\d`` is
exactly ``[0-9]``, ``\\w`` exactly ``[A-Za-z0-9_]``, ``\\s`` a fixed list of white space, and an
escaped punctuation mark (``\\.``, ``\\/``) the mark itself. llama.cpp's grammar parser knows only
``\\x``, ``\\u``, ``\\U``, ``\\t``, ``\\n``, ``\\r``, ``\\\\``, ``\\"``, ``\\[`` and ``\\]``; on any
other the llama-cpp-python server process dies. So every escape is written as the same characters
in those forms (``\\d`` as ``0-9``, ``\\.`` as ``\\u002E``), or is a ``PatternProblem`` when it has
no such form (``\\b``, a word boundary; a back reference ``\\1``; ``\\p{L}``, which needs the ``u``
flag). ``stellwerk.backends.pattern_syntax`` reads the rest of a pattern.

A character is written ``\\u`` and four hex digits (``\\U`` and eight beyond the Basic
Multilingual Plane), never ``\\x`` and two, a client's own ``\\x41`` included: xgrammar (vLLM's
default engine) reads every hex digit after ``\\x``, so ``[\\x2Da]`` was U+02DA to it; the fixed
widths of ``\\u`` and ``\\U`` are read alike by it, llama.cpp's grammar parser, Python's ``re``,
JavaScript and Rust's ``regex``.
"""

from __future__ import annotations

DIGIT = "0-9"
WORD = "A-Za-z0-9_"
#: ECMAScript's WhiteSpace and LineTerminator, in the escapes the grammar parsers know
SPACE = (
    "\\t\\n\\u000B\\u000C\\r\\u0020\\u00A0\\u1680\\u2000-\\u200A"
    "\\u2028\\u2029\\u202F\\u205F\\u3000\\uFEFF"
)
CLASSES = {"d": DIGIT, "w": WORD, "s": SPACE}
#: the same sets as ranges of code points (``stellwerk.backends.char_sets``)
RANGES = {
    DIGIT: ((0x30, 0x39),),
    WORD: ((0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A)),
    SPACE: (
        (0x09, 0x0D),
        (0x20, 0x20),
        (0xA0, 0xA0),
        (0x1680, 0x1680),
        (0x2000, 0x200A),
        (0x2028, 0x2029),
        (0x202F, 0x202F),
        (0x205F, 0x205F),
        (0x3000, 0x3000),
        (0xFEFF, 0xFEFF),
    ),
}
_KEPT = {"t": 0x09, "n": 0x0A, "r": 0x0D}  # read alike by ECMAScript and the grammar parsers
_CONTROLS = {"v": "\\u000B", "f": "\\u000C"}
_HEX = frozenset("0123456789abcdefABCDEF")


class PatternProblem(ValueError):
    """A pattern with a part no model server here can be given exactly."""


def escape(pattern: str, index: int, in_class: bool) -> tuple[str, bool, int]:
    """The escape whose letter is at ``index`` as the inside of a class, whether that class is
    negated (``\\D``: ``0-9``, negated), and how many characters the escape took after its
    backslash."""
    letter = pattern[index]
    ahead = pattern[index + 1 : index + 2]
    if letter in CLASSES:
        return CLASSES[letter], False, 1
    if letter in "DWS":  # inside a class: the class is written from its set (char_sets)
        return CLASSES[letter.lower()], True, 1
    if letter in _KEPT:
        return "\\" + letter, False, 1
    if letter in _CONTROLS:
        return _CONTROLS[letter], False, 1
    if letter == "b" and in_class:
        return "\\u0008", False, 1  # [\b] is a backspace
    if letter in "bB" and not in_class:
        raise PatternProblem(f"\\{letter} (a word boundary) is not supported by the model servers")
    if letter == "x" and _hex(pattern, index + 1, 2):
        return "\\u00" + pattern[index + 1 : index + 3], False, 3
    if letter == "u" and _hex(pattern, index + 1, 4):
        low = _low_half(pattern, index)
        if low is not None:  # \uD83D\uDE00: the one character the pair writes
            return literal(chr(pair(int(pattern[index + 1 : index + 5], 16), low))), False, 11
        return "\\u" + pattern[index + 1 : index + 5], False, 5
    if letter == "c" and ahead.isascii() and ahead.isalpha():
        return f"\\u{ord(ahead) % 32:04X}", False, 2
    if letter == "0" and not ahead.isdigit():
        return "\\u0000", False, 1
    if letter.isdigit():
        raise PatternProblem(f"\\{letter} (a back reference) is not supported by the model servers")
    if letter in "pP":
        raise PatternProblem(
            f"\\{letter}{{...}} (a Unicode property) needs the u flag, which a JSON Schema"
            " pattern does not have; write the characters out"
        )
    if letter in "kcux":  # a named back reference, or an escape cut short
        raise PatternProblem(f"\\{letter} here is not supported by the model servers")
    return literal(letter), False, 1


def ranges_of(written: str) -> tuple[tuple[int, int], ...]:
    """The code points an escape was written as (``0-9``: 0x30 to 0x39)."""
    if written in RANGES:
        return RANGES[written]
    code = code_point(written)
    assert code is not None, written  # every other escape is one character
    return ((code, code),)


def code_point(written: str) -> int | None:
    """The one character an escape was written as (``\\u002E``: 0x2E), ``None`` for a set
    (``0-9``)."""
    if written[:2] in ("\\u", "\\U"):
        return int(written[2:], 16)
    if len(written) == 2 and written[0] == "\\" and written[1] in _KEPT:
        return _KEPT[written[1]]
    return None


def pair(high: int, low: int) -> int:
    """The character a high and a low UTF-16 surrogate write."""
    return 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)


def _low_half(pattern: str, index: int) -> int | None:
    """The low surrogate escaped right after the high one escaped at ``index`` (``u``), if any."""
    if not 0xD800 <= int(pattern[index + 1 : index + 5], 16) <= 0xDBFF:
        return None
    if pattern[index + 5 : index + 7] != "\\u" or not _hex(pattern, index + 7, 4):
        return None
    low = int(pattern[index + 7 : index + 11], 16)
    return low if 0xDC00 <= low <= 0xDFFF else None


def _hex(pattern: str, index: int, count: int) -> bool:
    digits = pattern[index : index + count]
    return len(digits) == count and all(d in _HEX for d in digits)


def literal(char: str) -> str:
    """A character (``.``, ``/``, ``é``) as its hex escape, of fixed width (``\\u002E``)."""
    code = ord(char)
    return f"\\u{code:04X}" if code < 0x10000 else f"\\U{code:08X}"
