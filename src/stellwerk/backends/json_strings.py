"""A pattern's characters as they may stand inside a JSON string, for llama.cpp's grammar builders.

llama-cpp-python's converter and llama.cpp's (``common/json-schema-to-grammar.cpp``, which
llama-server and Ollama use) put a pattern's characters into the grammar of the answer raw, between
the JSON string's quotes: a pattern allowing ``"`` (a literal one, ``.``, ``[^a]``, the any
characters around an unanchored pattern) let the model end the string early, one allowing ``\\``
write an invalid escape, one allowing a control character (``\\s`` holds a tab and a newline) write
it raw, which JSON forbids. The answer was no JSON, or JSON whose string is not what the model was
held to.

So for those servers each character the pattern allows is written the way JSON writes it in a
string: the others as they are, ``"`` as ``\\"``, ``\\`` as ``\\\\``, a control character as its
short escape (``\\n``, ``\\t``, ``\\r``, ``\\b``, ``\\f``) or else ``\\u00XX`` (lower-case hex).
These are the forms Python's ``json.dumps(..., ensure_ascii=False)`` writes, so the answer is valid
JSON and its decoded string matches the client's pattern, the same strings as before bar one: NUL
is left out (``\\u0000`` would be valid JSON, but text with NUL is refused throughout, see
``pattern_syntax``). One form per character keeps the grammar unambiguous.

A set of characters becomes ``[safe]`` alone when it holds none of those, ``[\\u005C][\\u0022]``
(in a group) for a literal ``"``, and ``([safe]|[\\u005C](...))`` for a set holding both kinds,
``.`` say.
"""

from __future__ import annotations

from stellwerk.backends.char_sets import CharSet, char_set, holds, minus, written

QUOTE, BACKSLASH = 0x22, 0x5C
#: characters a JSON string cannot hold as they are
UNSAFE: CharSet = char_set([(0x00, 0x1F), (QUOTE, QUOTE), (BACKSLASH, BACKSLASH)])
#: escapes of one letter after the backslash (the quote and the backslash as hex: no class syntax)
_SHORT = {
    QUOTE: "\\u0022",
    BACKSLASH: "\\u005C",
    0x08: "b",
    0x09: "t",
    0x0A: "n",
    0x0C: "f",
    0x0D: "r",
}


def json_safe(chars: CharSet) -> str | None:
    """One character of ``chars`` as the pattern of its form inside a JSON string; ``None`` when
    no character of it can be written (NUL alone)."""
    raw = minus(chars, UNSAFE)
    escaped = [code for code in range(1, 0x20) if holds(chars, code)]
    escaped += [code for code in (QUOTE, BACKSLASH) if holds(chars, code)]
    options = ([written(raw)] if raw else []) + (
        ["[\\u005C]" + _escapes(escaped)] if escaped else []
    )
    if not options:
        return None
    if len(options) == 1 and not escaped:
        return options[0]
    return "(" + "|".join(options) + ")"


def _escapes(codes: list[int]) -> str:
    """What may follow the backslash to write one of ``codes``."""
    short = [_SHORT[code] for code in codes if code in _SHORT]
    options = ["[" + "".join(short) + "]"] if short else []
    by_high: dict[int, str] = {}
    for code in codes:
        if code not in _SHORT:
            by_high[code >> 4] = by_high.get(code >> 4, "") + f"{code & 0xF:x}"
    if by_high:
        hex_ = [f"{high}" + (low if len(low) == 1 else f"[{low}]") for high, low in by_high.items()]
        options.append("u00" + (hex_[0] if len(hex_) == 1 else "(" + "|".join(hex_) + ")"))
    return options[0] if len(options) == 1 else "(" + "|".join(options) + ")"
