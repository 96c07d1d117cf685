"""The JSON-safe rewrite of a pattern, for llama.cpp's grammar builders, which put a pattern's
characters raw between the answer's quotes: whatever it matches is a valid JSON string's inside,
whose decoded string matches the client's pattern; and every string the client's pattern matches
(bar NUL) is matched in the form JSON writes it.

Checked over every string of up to four characters of an alphabet holding the quote, the
backslash, control characters and the letters of JSON's escapes (compared with Python's ``re``,
which reads these patterns as ECMAScript does for these characters)."""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys

import pytest

from stellwerk.backends import ollama, openai
from stellwerk.backends.dialects import generic, llamacpp
from stellwerk.backends.json_strings import json_safe
from stellwerk.backends.portable_patterns import PatternProblem, portable_pattern
from stellwerk.backends.types import ChatRequest
from tests.fixtures.llama import require_llama

#: the answer's characters, as the model writes them inside the JSON string's quotes
WRITTEN = ['"', "\\", "n", "u", "0", "1", "b", "a", "x", "y", "\n", "\t"]
#: the decoded strings' characters
DECODED = ['"', "\\", "a", "x", "\n", "\t", "\x01", "\x1f", "\u2028", " "]
_SPACE = r"[\t\n\v\f\r \xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]"
#: each pattern, and the same in Python's syntax (ECMAScript's ``$`` is Python's ``\Z``, its
#: ``\s`` a fixed list), to tell which decoded strings it matches
PATTERNS = [
    (r"^x\"y$", r'^x"y\Z'),
    (r'x"y', r'x"y'),
    (r"^a\\b$", r"^a\\b\Z"),
    (r"^[^a]{1,3}$", r"^[^a]{1,3}\Z"),
    (r"^[\s\S]*$", r"^[\s\S]*\Z"),
    (r"^[^\0]+$", r"^[^\0]+\Z"),
    (r"^\s+a$", rf"^{_SPACE}+a\Z"),
    (r"^[\D]$", r"^[^0-9]\Z"),
    (r"^[\W\d]{2}$", r"^[^A-Za-z_]{2}\Z"),
    (r'^["\\]+$', r'^["\\]+\Z'),
    (r"^[\x00-\x1f]$", r"^[\x00-\x1f]\Z"),
    (r"a", r"a"),
    ("", ""),
]


def _bodies(alphabet: list[str], longest: int) -> list[str]:
    return [
        "".join(chars)
        for size in range(longest + 1)
        for chars in itertools.product(alphabet, repeat=size)
    ]


WRITTEN_BODIES = [*_bodies(WRITTEN, 4), "\\u0001", "\\u001f", "\\u0000", "\\u00zz", "\\/"]
DECODED_STRINGS = _bodies(DECODED, 3)


@pytest.mark.parametrize(("pattern", "python"), PATTERNS, ids=[p for p, _ in PATTERNS])
def test_what_the_json_safe_rewrite_matches_is_json_that_decodes_to_a_match(
    pattern: str, python: str
) -> None:
    """Before, ``x"y`` was sent as ``x[\\x22]y``: the model had to end the string at the quote."""
    safe = re.compile(portable_pattern(pattern, json_safe=True))
    matched = 0
    for body in WRITTEN_BODIES:
        if safe.fullmatch(body):
            decoded = json.loads(f'"{body}"')  # raises on a raw quote, control or bad escape
            assert re.search(python, decoded), (pattern, body, decoded)
            matched += 1
    assert matched, pattern  # the answer can still be written


@pytest.mark.parametrize(("pattern", "python"), PATTERNS, ids=[p for p, _ in PATTERNS])
def test_every_match_but_nul_is_matched_as_json_writes_it(pattern: str, python: str) -> None:
    """The same strings as the client's pattern, none left out for being hard to write."""
    safe = re.compile(portable_pattern(pattern, json_safe=True))
    for decoded in DECODED_STRINGS:
        as_json = json.dumps(decoded, ensure_ascii=False)[1:-1]
        expected = re.search(python, decoded) is not None
        assert (safe.fullmatch(as_json) is not None) == expected, (pattern, decoded, as_json)


#: a quote, a backslash or a control character but NUL, as JSON writes it inside a string
_ESCAPE = r"[\u005C]([btnfr\u0022\u005C]|u00(0[1234567bef]|1[0123456789abcdef]))"


@pytest.mark.parametrize(
    ("pattern", "sent"),
    [
        ("^a-z0$", "^a-z0$"),  # nothing a JSON string cannot hold: as before
        ("^[a-z]+$", "^[a-z]+$"),
        ('^x"$', r"^x([\u005C][\u0022])$"),
        ("^[^a]$", rf"^([^\u0000-\u001F\u0022\u005Ca]|{_ESCAPE})$"),
        (r"^\t$", r"^([\u005C][t])$"),
        (r"^\cA$", r"^([\u005C]u0001)$"),
    ],
)
def test_the_json_safe_forms(pattern: str, sent: str) -> None:
    assert portable_pattern(pattern, json_safe=True) == sent


@pytest.mark.parametrize(
    ("pattern", "sent"),
    [
        (r"^[\s\S]$", r"^([^\n\r\u2028\u2029]|[\n\r\u2028\u2029])$"),
        (r"^[\d\D]$", r"^([^\n\r\u2028\u2029]|[\n\r\u2028\u2029])$"),
        (r"^[\W]$", r"^[^0-9A-Z\u005Fa-z]$"),
        (
            r"^[^\S]$",
            r"^[\u0009-\u000D\u0020\u00A0\u1680\u2000-\u200A\u2028-\u2029\u202F\u205F\u3000\uFEFF]$",
        ),
        (r"^[^\0]$", r"^[^\u0000]$"),
        ('^x"$', r"^x[\u0022]$"),
    ],
)
def test_other_servers_get_the_pattern_as_ecmascript_reads_it(pattern: str, sent: str) -> None:
    """vLLM reads the decoded value: its pattern is not narrowed. ``[\\s\\S]`` (any character)
    and ``\\D`` in a class were refused before."""
    written = portable_pattern(pattern)
    assert written == sent
    for char in ["a", "0", "_", " ", "\n", "\u2028", '"', "\\", "\x01"]:
        assert (re.fullmatch(written, char) is None) == (re.fullmatch(pattern, char) is None)


@pytest.mark.parametrize(
    ("pattern", "said"),
    [
        (r"^[^\s\S]$", r"[^\s\S] at 1 (a class of no character) matches nothing"),
        (r"^[\0]$", r"\0 at 2: NUL cannot be in a JSON string"),
    ],
)
def test_a_class_of_nothing_or_of_nul_is_still_refused(pattern: str, said: str) -> None:
    for json_safe_ in (False, True):
        with pytest.raises(PatternProblem) as info:
            portable_pattern(pattern, json_safe=json_safe_)
        assert said in str(info.value)


def test_nul_alone_has_no_json_safe_form() -> None:
    assert json_safe(((0, 0),)) is None
    for json_safe_ in (False, True):
        with pytest.raises(PatternProblem, match=r"\[\\x00-\\x00\] at 1: NUL cannot be in a JSON"):
            portable_pattern(r"^[\x00-\x00]$", json_safe=json_safe_)


def _asked(pattern: str) -> ChatRequest:
    schema = {"type": "object", "properties": {"v": {"type": "string", "pattern": pattern}}}
    tool = {"type": "function", "function": {"name": "f", "parameters": schema}}
    params = {
        "response_format": {"type": "json_schema", "json_schema": {"name": "a", "schema": schema}},
        "tools": [tool],
    }
    return ChatRequest([{"role": "user", "content": "x"}], params)


def test_llama_cpp_and_ollama_get_json_safe_patterns_and_generic_servers_do_not() -> None:
    request = _asked('^x"$')
    safe, plain = r"^x([\u005C][\u0022])$", r"^x[\u0022]$"
    for wire, expected in (
        (openai.to_wire("m", request, stream=False, dialect=llamacpp), safe),
        (openai.to_wire("m", request, stream=False, dialect=generic), plain),
        (ollama.to_wire("m", request, stream=False), safe),
    ):
        answer = wire.get("format") or wire["response_format"]
        answer = answer.get("schema") or answer.get("json_schema", {}).get("schema") or answer
        assert answer["properties"]["v"]["pattern"] == expected, wire
        parameters = wire["tools"][0]["function"]["parameters"]
        assert parameters["properties"]["v"]["pattern"] == expected, wire


#: llama-cpp-python's converter, in a process of its own (the library loads llama.cpp): the
#: grammar of each schema read from stdin
_CONVERT = """
import json, sys
from llama_cpp.llama_grammar import json_schema_to_gbnf
print(json.dumps([json_schema_to_gbnf(json.dumps(s)) for s in json.load(sys.stdin)]))
"""
#: the parts of a GBNF rule: a literal, a class, a rule's name, grouping, repeats
_GBNF = re.compile(
    r'\s+|(?P<literal>"(?:\\.|[^"\\])*")|(?P<cls>\[(?:\\.|[^\]\\])*\])'
    r"|(?P<ref>[A-Za-z0-9-]+)|(?P<op>[()|*+?]|\{[0-9]*(?:,[0-9]*)?\})"
)


def _grammar_regex(grammar: str) -> re.Pattern[str]:
    """The strings the grammar's ``root`` rule allows, as a Python regular expression (the
    grammars made of a string schema refer to no rule recursively)."""
    rules = dict(line.split(" ::= ", 1) for line in grammar.strip().splitlines() if " ::= " in line)

    def rule(name: str, depth: int) -> str:
        assert depth < 20, name
        body, out, at = rules[name], [], 0
        while at < len(body):
            part = _GBNF.match(body, at)
            assert part, (name, body[at:])
            at = part.end()
            if part["literal"]:
                out.append(re.escape(json.loads(part["literal"])))
            elif part["cls"]:
                out.append(part["cls"])
            elif part["ref"]:
                out.append(f"(?:{rule(part['ref'], depth + 1)})")
            elif part["op"]:
                out.append("(?:" if part["op"] == "(" else part["op"])
        return "".join(out)

    return re.compile(rule("root", 0))


def test_llama_cpp_pythons_grammar_allows_only_json_that_decodes_to_a_match(
    request: pytest.FixtureRequest,
) -> None:
    """The grammar the server builds, read as a regular expression: every answer it allows is
    a JSON string whose value matches the client's pattern. Before, the pattern ``x"y`` made a
    grammar allowing only ``"x"y"``, no JSON."""
    require_llama(request.config)
    schemas = [
        {"type": "string", "pattern": portable_pattern(p, json_safe=True)} for p, _ in PATTERNS
    ]
    converted = subprocess.run(
        [sys.executable, "-c", _CONVERT],
        input=json.dumps(schemas),
        capture_output=True,
        text=True,
        timeout=120,  # a guard against a converter that loops, not a measurement
        check=False,
    )
    assert converted.returncode == 0, converted.stderr[-2000:]
    for (pattern, python), grammar in zip(PATTERNS, json.loads(converted.stdout), strict=True):
        allowed = _grammar_regex(grammar)
        matched = 0
        for body in WRITTEN_BODIES:
            if allowed.fullmatch(f'"{body}"'):
                decoded = json.loads(f'"{body}"')  # raises on a raw quote, control or bad escape
                assert re.search(python, decoded), (pattern, body, grammar)
                matched += 1
        assert matched, (pattern, grammar)


@pytest.mark.parametrize(
    ("pattern", "sent"),
    [
        (r"^\uD83D\uDE00$", r"^[\U0001F600]$"),
        (r"^a\uD83D\uDE00b$", r"^a[\U0001F600]b$"),
        (r"^[\uD800-\uDBFF][\uDC00-\uDFFF]$", r"^[\U00010000-\U0010FFFF]$"),
        (r"^\uD83D[\uDE00-\uDE4F]+$", r"^[\U0001F600-\U0001F64F]+$"),
        (r"^[\uD83D\uDE00-\uD83D\uDE4F]{2}$", r"^[\U0001F600-\U0001F64F]{2}$"),
        (r"^[\uD83C-\uD83D][\uDC00-\uDFFF]$", r"^[\U0001F000-\U0001F7FF]$"),
        (r"^[^\x00-\uffff]$", r"^[\U00010000-\U0010FFFF]$"),
    ],
)
def test_a_surrogate_pair_is_the_one_character_it_writes(pattern: str, sent: str) -> None:
    """Sent as the halves, ``[\\uD83D][\\uDE00]``, the pattern allowed no character an answer
    can hold, and llama.cpp answered ``""``; a negated class of the astral planes let it do so."""
    assert portable_pattern(pattern, json_safe=True) == sent
    if "^" not in pattern[1:]:
        assert portable_pattern(pattern) == sent


@pytest.mark.parametrize(
    ("pattern", "said"),
    [
        (r"^\uD83D$", r"\uD83D at 1 is a UTF-16 surrogate not paired"),
        (r"^\uDE00$", r"\uDE00 at 1 is a UTF-16 surrogate not paired"),
        (r"^[\uD800-\uDFFF]$", r"[\uD800-\uDFFF] at 1 is a UTF-16 surrogate not paired"),
        (r"^\uD83D+\uDE00$", r"\uD83D at 1 is a UTF-16 surrogate not paired"),
        (r"^\uDE00\uD83D$", r"\uDE00 at 1 is a UTF-16 surrogate not paired"),
        ("^\ud83d$", r"\uD83D at 1 is a UTF-16 surrogate not paired"),
        (r"^[\uD800-\uDBFF]\uDC00$", "more than 64 high surrogates"),
    ],
)
def test_a_surrogate_that_cannot_be_paired_is_refused(pattern: str, said: str) -> None:
    for json_safe_ in (False, True):
        with pytest.raises(PatternProblem) as info:
            portable_pattern(pattern, json_safe=json_safe_)
        assert said in str(info.value)


def test_a_class_holding_surrogates_among_other_characters_is_taken() -> None:
    """``[\\x01-\\uFFFF]`` (every BMP character) is common: its surrogates stand for nothing."""
    assert portable_pattern(r"^[\x01-\uffff]$") == r"^[\u0001-\uffff]$"
