"""The rewritten pattern matches exactly the strings the client's ECMAScript pattern matches
(compared with Python's ``re`` in ASCII mode, where ``\\d`` and ``\\w`` mean what ECMAScript's
do), and holds only escapes llama.cpp's grammar parser knows."""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys

import pytest

from stellwerk.backends.portable_patterns import PatternProblem, portable_pattern, portable_schema
from tests.fixtures.llama import require_llama

SAMPLES = ["12345", "1234", "a.b", "a_b", "x/y", "-", ".", "é", "ab-9", "A-Z", "_", " ", "a\tb", ""]
#: the escapes llama.cpp's grammar parser takes; any other stops the llama-cpp-python server
_KNOWN = re.compile(r"\\(u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|[tnr\\\"\[\]])")


@pytest.mark.parametrize(
    "pattern",
    [
        r"^\d{5}$",
        r"^\D+$",
        r"^\w\.\w$",
        r"^[\w-]+$",
        r"^[\w.-]+$",
        r"^[\d\-]+$",
        r"^[^\d]+$",
        r"^\W$",
        r"^x\/y$",
        r"^\x41-[\u005a]$",
        r"^\.{1,3}$",
    ],
)
def test_the_rewrite_matches_what_the_pattern_matches(pattern: str) -> None:
    written = portable_pattern(pattern)
    assert not _KNOWN.sub("", written).count("\\"), written
    for sample in SAMPLES:
        expected = re.search(pattern, sample, re.ASCII) is not None
        assert (re.search(written, sample, re.ASCII) is not None) == expected, (pattern, sample)


@pytest.mark.parametrize("pattern", [r"\bword", r"^(a)\1$", r"^\p{L}$", r"^[a-\d]$", "a\\"])
def test_an_escape_without_an_exact_form_is_refused(pattern: str) -> None:
    with pytest.raises(PatternProblem):
        portable_pattern(pattern)


def test_pattern_property_names_written_alike_keep_both_schemas() -> None:
    """Two names of ``patternProperties`` that the rewrite writes the same match the same names:
    a server is sent both their schemas (``allOf``), as the client's schema applies both."""
    digit, short = {"type": "string"}, {"maxLength": 3}
    schema = {"type": "object", "patternProperties": {r"^\d$": digit, "^[0-9]$": short}}
    assert portable_schema(schema, "schema") == {
        "type": "object",
        "patternProperties": {"^[0-9]$": {"allOf": [digit, short]}},
    }


_DOT = r"[^\n\r\u2028\u2029]"  # ECMAScript's ., which leaves out four line terminators
_ANY = rf"({_DOT}|[\n\r\u2028\u2029])*"  # any characters, around an unanchored pattern
#: ECMAScript's syntax beyond escapes: each pattern, as it is sent, strings it matches and strings
#: it does not (as node's RegExp answers), which what is sent must match and not match alike
SYNTAX = [
    ("^(?:ab)+$", "^(ab)+$", ["ab", "abab"], ["", "a", "aba", "ba"]),
    ("^(?<pair>ab|cd){2}$", "^(ab|cd){2}$", ["abcd", "cdcd"], ["ab", "abc", "abcdab"]),
    ("^x(?:a|)y$", "^x((a)?)y$", ["xay", "xy"], ["xaay", "x"]),
    ("abc", f"^{_ANY}abc{_ANY}$", ["abc", "xabcx", "x\nabc\u2028"], ["ab", "acb", ""]),
    ("^ab", f"^ab{_ANY}$", ["ab", "abx\n"], ["xab"]),
    ("ab$", f"^{_ANY}ab$", ["ab", "\nxab"], ["abx", "ab\n"]),
    ("", f"^{_ANY}$", ["", "anything\n"], []),
    ("^a$|^b$", "^(a|b)$", ["a", "b"], ["a$", "^b", "ab", ""]),
    ("^a|b$", f"^(a{_ANY}|{_ANY}b)$", ["a", "ax", "xb", "b"], ["xa", "bx"]),
    ("^a*?b+?c??$", "^a*b+c?$", ["b", "aabbc", "abc"], ["", "ac", "abcc"]),
    ("^a{2}?$", "^a{2}$", ["aa"], ["", "a", "aaa"]),
    ("^a{2,}?b{1,2}?$", "^a{2,}b{1,2}$", ["aab", "aaaabb"], ["ab", "aabbb"]),
    ("^a{,3}$", r"^a[\u007B],3[\u007D]$", ["a{,3}"], ["", "aaa"]),
    ("^x{1, 3}$", r"^x[\u007B]1, 3[\u007D]$", ["x{1, 3}"], ["x", "xxx"]),
    ("^{a}$", r"^[\u007B]a[\u007D]$", ["{a}"], ["a"]),
    ("^a]}$", r"^a[\u005D][\u007D]$", ["a]}"], ["a", "a]"]),
    ("^.$", f"^{_DOT}$", ["a", "-", "\t"], ["", "\n", "\r", "\u2028", "\u2029", "ab"]),
    ("^[^]$", f"^{_ANY[:-1]}$", ["a", "\n", "\u2028"], ["", "ab"]),
    (r"^[\d-a-z]+$", r"^[0-9\u002Da\u002Dz]+$", ["1-a", "z"], ["b", "y"]),
    (r"^\uD83D\uDE00$", r"^[\U0001F600]$", ["\U0001f600"], ["", "\U0001f601", "a"]),
    (
        r"^[\uD800-\uDBFF][\uDC00-\uDFFF]+$",
        r"^[\U00010000-\U0010FFFF]+$",
        ["\U00010000", "\U0001f600\U0010ffff"],
        ["", "a", "\uffff"],
    ),
]


@pytest.mark.parametrize(
    ("pattern", "sent", "matched", "unmatched"), SYNTAX, ids=[s[0] for s in SYNTAX]
)
def test_the_syntax_is_written_to_match_what_ecmascript_matches(
    pattern: str, sent: str, matched: list[str], unmatched: list[str]
) -> None:
    """Groups as plain groups, lazy quantifiers as greedy ones, an unanchored pattern given any
    characters around it, literal braces and brackets as classes: the same strings match."""
    written = portable_pattern(pattern)
    assert written == sent
    assert not _KNOWN.sub("", written).count("\\"), written
    for sample in matched:
        assert re.fullmatch(written, sample), (pattern, written, sample)
    for sample in unmatched:
        assert not re.fullmatch(written, sample), (pattern, written, sample)


#: llama-cpp-python's converter, in a process of its own (the library loads llama.cpp, and a
#: pattern it loops on must not stop the tests): the grammar of each schema read from stdin
_CONVERT = """
import json, sys
from llama_cpp.llama_grammar import json_schema_to_gbnf
print(json.dumps([json_schema_to_gbnf(json.dumps(s)) for s in json.load(sys.stdin)]))
"""


def test_llama_cpp_pythons_converter_makes_a_grammar_of_every_rewrite(
    request: pytest.FixtureRequest,
) -> None:
    """Before, it dropped the schema (an exception it catches: any JSON) on a group or an
    unanchored pattern, and looped forever on ``]``. The JSON-safe rewrites too."""
    require_llama(request.config)
    schemas = [
        portable_schema(
            {"properties": {"v": {"type": "string", "pattern": p}}}, "schema", json_safe=safe
        )
        for safe in (False, True)
        for p, _, _, _ in SYNTAX
    ]
    converted = subprocess.run(
        [sys.executable, "-c", _CONVERT],
        input=json.dumps(schemas),
        capture_output=True,
        text=True,
        timeout=120,  # a guard against the converter's endless loop, not a measurement
        check=False,
    )
    assert converted.returncode == 0, converted.stderr[-2000:]
    for (pattern, _, _, _), grammar in zip(SYNTAX * 2, json.loads(converted.stdout), strict=True):
        assert "v-kv ::=" in grammar, (pattern, grammar)


@pytest.mark.parametrize(
    ("pattern", "said"),
    [
        ("^(?!x)[a-z]+$", "'(?!x' at 1 (a negative lookahead) is not supported"),
        ("^(?=a)a$", "(a lookahead) is not supported"),
        ("^(?<=a)b$", "'(?<=' at 1 (a lookbehind)"),
        ("^(?<!a)b$", "(a negative lookbehind)"),
        ("(?i)abc", "'(?i)' at 0 (a modifier)"),
        ("^(?i:a)$", "(a modifier)"),
        ("^(?<1>a)$", "(not a group name)"),
        ("^a$b", "$ at 2 (an anchor inside the pattern"),
        ("^(^a|b)$", "^ at 2 (an anchor inside the pattern"),
        ("^[]a$", "[] at 1 (a class of no character) matches nothing"),
        ("^*a$", "the quantifier at 1 repeats nothing"),
        ("^a{2}*$", "repeats a quantifier"),
        ("^a{3,2}$", "{3,2} at 2: numbers out of order"),
        ("^[z-a]$", "the range at 2 is out of order"),
        ("^(a", "the group opened at 1 is not closed"),
        ("^a)$", "')' at 2 closes no group"),
        ("^[a", "the character class opened at 1 is not closed"),
        ("(" * 40 + ")" * 40, "nested deeper than 32"),
        ("^.{1,1002}$", "{1,1002} at 2 allows more than 1000 optional repeats"),
        ("^\\0$", "\\0 at 1: NUL cannot be in a JSON string the server writes"),
        ("^\\x00$", "\\x00 at 1: NUL cannot be in a JSON string"),
        ("^a\\u0000$", "\\u0000 at 2: NUL cannot be in a JSON string"),
        ("^[a\\0]$", "\\0 at 3: NUL cannot be in a JSON string"),
        ("^\0$", "the character at 1: NUL cannot be in a JSON string"),
        ("^(a{0,999}){0,999}$", "{0,999} at 11 repeats a group with counted repeats inside"),
        ("^((a{0,99}){0,99}){0,99}$", "9801 in all, more than the 1000"),
        ("^(a{2}|b){501}$", "1002 in all"),
    ],
)
def test_syntax_without_an_exact_form_is_refused_naming_it(pattern: str, said: str) -> None:
    with pytest.raises(PatternProblem) as info:
        portable_pattern(pattern)
    assert said in str(info.value)


@pytest.mark.parametrize(
    "pattern",
    [
        r"^(\d{1,3}\.){3}\d{1,3}$",
        r"^(a{0,10}){0,100}$",
        r"^[^\x00-\x1F]+$",
        r"^a{5000}$",
        r"^(ab){0,1000}$",
    ],
)
def test_counted_groups_within_the_limit_and_nul_in_a_range_are_sent(pattern: str) -> None:
    assert portable_pattern(pattern).startswith("^")


def test_a_count_past_the_limit_is_left_out_of_what_the_server_gets() -> None:
    """pydantic's ``HttpUrl`` (``maxLength: 2083``) killed llama-cpp-python's server."""
    schema = {
        "type": "object",
        "properties": {
            "h": {"type": "string", "format": "uri", "minLength": 1, "maxLength": 2083},
            "a": {"type": "array", "items": {"type": "integer"}, "maxItems": 3000},
            "o": {"type": "object", "maxProperties": 1001},
            "k": {"type": "string", "maxLength": 1000},
        },
    }
    sent = portable_schema(schema, "schema")
    assert sent["properties"] == {
        "h": {"type": "string", "format": "uri", "minLength": 1},
        "a": {"type": "array", "items": {"type": "integer"}},
        "o": {"type": "object"},
        "k": {"type": "string", "maxLength": 1000},
    }
    assert schema["properties"]["h"]["maxLength"] == 2083  # type: ignore[index]


#: a character escape as xgrammar (vLLM's default engine) reads it: ``\x`` with every hex digit
#: after it, C's reading, where ``re`` and llama.cpp take two
_C_STYLE_X = re.compile(r"\\x([0-9A-Fa-f]+)")
_ALPHABET = ["a", "B", "A", "-", "_", "x", "2", "\u02da", "\u05fa", "\u041b", "\u0414", " "]


def _as_xgrammar_reads(written: str) -> str:
    """``written`` with each ``\\x`` escape as the one character xgrammar reads there."""
    return _C_STYLE_X.sub(lambda m: f"\\U{min(int(m.group(1), 16), 0x10FFFF):08X}", written)


@pytest.mark.parametrize(
    "pattern",
    [r"^[\-a]$", r"^[\W]$", r"^a\x41B$", r"^[\x2Da]$", r"^\.[\x5fa]\x41d$", r"^[\s\d]$"],
)
@pytest.mark.parametrize("json_safe", [False, True])
def test_an_escaped_character_followed_by_a_hex_digit_is_that_character(
    pattern: str, json_safe: bool
) -> None:
    """Before, ``[\\-a]`` was sent as ``[\\x2Da]``, which xgrammar reads as U+02DA (``[\\W]``:
    ``\\x5Fa`` as U+05FA): every escape is now of fixed width, read alike by every engine. (The
    alphabet holds no character a JSON string escapes, so the JSON-safe form matches alike.)"""
    written = portable_pattern(pattern, json_safe=json_safe)
    assert "\\x" not in written, written
    as_read = _as_xgrammar_reads(written)
    for size in (1, 2, 3):
        for sample in map("".join, itertools.product(_ALPHABET, repeat=size)):
            expected = re.fullmatch(pattern, sample, re.ASCII) is not None
            assert (re.fullmatch(written, sample, re.ASCII) is not None) == expected, sample
            assert (re.fullmatch(as_read, sample, re.ASCII) is not None) == expected, sample
