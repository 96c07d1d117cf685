"""The rewritten pattern matches exactly the strings the client's ECMAScript pattern matches
(compared with Python's ``re`` in ASCII mode, where ``\\d`` and ``\\w`` mean what ECMAScript's
do), and holds only escapes llama.cpp's grammar parser knows."""

from __future__ import annotations

import re

import pytest

from stellwerk.backends.portable_patterns import PatternProblem, portable_pattern, portable_schema

SAMPLES = ["12345", "1234", "a.b", "a_b", "x/y", "-", ".", "é", "ab-9", "A-Z", "_", " ", "a\tb", ""]
#: the escapes llama.cpp's grammar parser takes; any other stops the llama-cpp-python server
_KNOWN = re.compile(r"\\(x[0-9A-Fa-f]{2}|u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|[tnr\\\"\[\]])")


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


@pytest.mark.parametrize(
    "pattern", [r"\bword", r"^(a)\1$", r"^\p{L}$", r"^[\W]$", r"^[a-\d]$", "a\\"]
)
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
