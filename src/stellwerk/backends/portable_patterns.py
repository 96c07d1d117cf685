"""A JSON schema's ``pattern`` with its escapes written out, as every model server here reads them.

JSON Schema patterns are ECMAScript regular expressions (without the ``u`` flag), where ``\\d`` is
exactly ``[0-9]``, ``\\w`` exactly ``[A-Za-z0-9_]``, ``\\s`` a fixed list of white space, and an
escaped punctuation mark (``\\.``, ``\\/``) the mark itself. llama-cpp-python's server (0.3) copies
a pattern's escapes into its grammar, whose parser knows only ``\\x``, ``\\u``, ``\\U``, ``\\t``,
``\\n``, ``\\r``, ``\\\\``, ``\\"``, ``\\[`` and ``\\]``; on any other (``^\\d{5}$``, pydantic's
``Field(pattern=...)``) the server process dies, for every caller. So before a schema reaches a
model server, every escape is written as the same characters in those forms: ``\\d`` as
``[0-9]``, ``\\D`` as ``[^0-9]``, inside a class ``[\\d.]`` as ``[0-9\\x2E]``, ``\\.`` as
``\\x2E``. The rewrite is exact, so it is made for every backend (vLLM and Ollama read both forms
alike). An escape that has no such form (``\\b``, a word boundary; a back reference ``\\1``;
``\\p{L}``, which needs the ``u`` flag; ``\\D`` inside a class) is a ``PatternProblem``: the
gateway refuses the schema with a 400 naming the pattern (``stellwerk.gateway.schema_shape``).
The names of ``patternProperties`` are patterns too, written out and refused alike, so that a
schema means one thing to every server: llama.cpp's grammar builders (llama-cpp-python's
``llama_grammar``, Ollama's) skip ``patternProperties`` silently, a server that reads them gets
the same expressions as a ``pattern``. The client's schema is not changed: the rewrite is made on
the copy sent to the model server.
"""

from __future__ import annotations

from typing import Any

from stellwerk.backends.schema_keywords import ITEMS, NAMED, ONE, SOME
from stellwerk.backends.types import JSON
from stellwerk.errors import InvalidRequest

_DIGIT = "0-9"
_WORD = "A-Za-z0-9_"
#: ECMAScript's WhiteSpace and LineTerminator, in the escapes the grammar parsers know
_SPACE = (
    "\\t\\n\\x0B\\x0C\\r\\x20\\xA0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000\\uFEFF"
)
_CLASSES = {"d": _DIGIT, "w": _WORD, "s": _SPACE}
_KEPT = frozenset("tnr")  # read alike by ECMAScript and the grammar parsers
_CONTROLS = {"v": "\\x0B", "f": "\\x0C"}
_HEX = frozenset("0123456789abcdefABCDEF")


class PatternProblem(ValueError):
    """A pattern with an escape no model server here can be given exactly."""


def portable_pattern(pattern: str) -> str:
    """``pattern`` with every escape in a form every model server here reads, meaning the same
    (ECMAScript's); a ``PatternProblem`` when one has none. Outside a character class an escape
    becomes a class of its own (``\\.`` is ``[\\x2E]``), which a quantifier after it takes whole."""
    out: list[str] = []
    in_class = False
    after_class_escape = False
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            if index + 1 == len(pattern):
                raise PatternProblem("the pattern ends in a lone backslash")
            body, negated, used = _escape(pattern, index + 1, in_class)
            out.append(body if in_class else f"[{'^' if negated else ''}{body}]")
            after_class_escape = in_class and pattern[index + 1] in _CLASSES
            index += 1 + used
            continue
        if in_class and char == "-":
            char = _dash(pattern, index, out, after_class_escape)
        elif char == "[" and not in_class:
            in_class = True
        elif char == "]" and in_class:
            in_class = False
        out.append(char)
        after_class_escape = False
        index += 1
    return "".join(out)


def _dash(pattern: str, index: int, out: list[str], after_class_escape: bool) -> str:
    """A dash in a class: the dash itself next to a class escape (``[\\w-.]``), as ECMAScript
    reads it there."""
    last = pattern[index + 1 : index + 2] == "]"
    if after_class_escape and not last:
        return "\\x2D"
    first = out[-1:] == ["["] or out[-2:] == ["[", "^"]
    if not first and not last and _class_escape_next(pattern, index + 1):
        raise PatternProblem(
            f"a range ending in a class escape ({pattern[index - 1 : index + 3]!r}) is"
            " ambiguous; put the dash last in the class or escape it (\\-)"
        )
    return "-"


def _class_escape_next(pattern: str, index: int) -> bool:
    return pattern[index : index + 1] == "\\" and pattern[index + 1 : index + 2] in set("dwsDWS")


def _escape(pattern: str, index: int, in_class: bool) -> tuple[str, bool, int]:
    """The escape whose letter is at ``index`` as the inside of a class, whether that class is
    negated, and how many characters the escape took after its backslash."""
    letter = pattern[index]
    ahead = pattern[index + 1 : index + 2]
    if letter in _CLASSES:
        return _CLASSES[letter], False, 1
    if letter in "DWS":
        if in_class:
            raise PatternProblem(
                f"\\{letter} inside a character class has no exact form the model servers read;"
                f" write the class out (\\{letter} is [^{_CLASSES[letter.lower()]}])"
            )
        return _CLASSES[letter.lower()], True, 1
    if letter in _KEPT:
        return "\\" + letter, False, 1
    if letter in _CONTROLS:
        return _CONTROLS[letter], False, 1
    if letter == "b" and in_class:
        return "\\x08", False, 1  # [\b] is a backspace
    if letter in "bB" and not in_class:
        raise PatternProblem(f"\\{letter} (a word boundary) is not supported by the model servers")
    if letter == "x" and _hex(pattern, index + 1, 2):
        return "\\x" + pattern[index + 1 : index + 3], False, 3
    if letter == "u" and _hex(pattern, index + 1, 4):
        return "\\u" + pattern[index + 1 : index + 5], False, 5
    if letter == "c" and ahead.isascii() and ahead.isalpha():
        return f"\\x{ord(ahead) % 32:02X}", False, 2
    if letter == "0" and not ahead.isdigit():
        return "\\x00", False, 1
    if letter.isdigit():
        raise PatternProblem(f"\\{letter} (a back reference) is not supported by the model servers")
    if letter in "pP":
        raise PatternProblem(
            f"\\{letter}{{...}} (a Unicode property) needs the u flag, which a JSON Schema"
            " pattern does not have; write the characters out"
        )
    if letter in "kcux":  # a named back reference, or an escape cut short
        raise PatternProblem(f"\\{letter} here is not supported by the model servers")
    return _literal(letter), False, 1


def _hex(pattern: str, index: int, count: int) -> bool:
    digits = pattern[index : index + count]
    return len(digits) == count and all(d in _HEX for d in digits)


def _literal(char: str) -> str:
    """An escaped character (``\\.``, ``\\/``, ``\\é``): the character itself, in hex."""
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02X}"
    return f"\\u{code:04X}" if code < 0x10000 else f"\\U{code:08X}"


def portable_schema(schema: Any, where: str) -> Any:
    """``schema`` (a copy) with every ``pattern`` and every name of ``patternProperties``
    ``portable_pattern``; a 400 naming the place (``where.properties.zip.pattern``) when one
    cannot be. Not a schema: returned as it is."""
    if not isinstance(schema, dict):
        return schema
    out: JSON = {}
    for key, value in schema.items():
        place = f"{where}.{key}"
        if key == "pattern" and isinstance(value, str):
            out[key] = _portable(value, place)
        elif key in NAMED and isinstance(value, dict):
            out[key] = _named(key, value, place)
        elif (key in SOME or key == ITEMS) and isinstance(value, list):
            out[key] = [portable_schema(inner, f"{place}.{i}") for i, inner in enumerate(value)]
        elif key in ONE or key == ITEMS:
            out[key] = portable_schema(value, place)
        else:
            out[key] = value
    return out


def _named(key: str, schemas: JSON, where: str) -> JSON:
    """The schemas of ``properties`` and the like, each ``portable_schema``; the names of
    ``patternProperties`` are patterns, ``portable_pattern`` too (two that are written the same
    way match the same names: both their schemas apply, as ``allOf``)."""
    out: JSON = {}
    for name, inner in schemas.items():
        place = f"{where}.{name}"
        schema = portable_schema(inner, place)
        written = _portable(name, place, named=True) if key == "patternProperties" else name
        out[written] = {"allOf": [out[written], schema]} if written in out else schema
    return out


def _portable(pattern: str, place: str, *, named: bool = False) -> str:
    """``portable_pattern``, or a 400 naming the pattern's ``place`` (a ``named`` one: the
    name of a ``patternProperties`` schema)."""
    try:
        return portable_pattern(pattern)
    except PatternProblem as exc:
        why = f"this name is a pattern, and {exc}" if named else str(exc)
        raise InvalidRequest(f"{place}: {why}", param=place) from None


def portable_payload(payload: JSON) -> JSON:
    """A chat request body with the patterns of its answer's schema and of its tools'
    parameters ``portable_schema`` (OpenAI's shapes; a copy where changed)."""
    out = dict(payload)
    response_format = out.get("response_format")
    if not isinstance(response_format, dict):
        response_format = {}
    spec = response_format.get("json_schema")
    if isinstance(spec, dict) and isinstance(spec.get("schema"), dict):
        schema = portable_schema(spec["schema"], "response_format.json_schema.schema")
        out["response_format"] = {**response_format, "json_schema": {**spec, "schema": schema}}
    tools = out.get("tools")
    if isinstance(tools, list):
        out["tools"] = [_tool(tool, f"tools[{i}].function") for i, tool in enumerate(tools)]
    functions = out.get("functions")
    if isinstance(functions, list):
        out["functions"] = [_function(f, f"functions[{i}]") for i, f in enumerate(functions)]
    return out


def _tool(tool: Any, where: str) -> Any:
    if not isinstance(tool, dict) or not isinstance(tool.get("function"), dict):
        return tool
    return {**tool, "function": _function(tool["function"], where)}


def _function(function: Any, where: str) -> Any:
    if not isinstance(function, dict) or not isinstance(function.get("parameters"), dict):
        return function
    parameters = portable_schema(function["parameters"], where + ".parameters")
    return {**function, "parameters": parameters}
