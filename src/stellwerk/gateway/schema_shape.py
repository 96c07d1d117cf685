"""Whether a JSON schema of an answer (Ollama's ``format``, OpenAI's
``response_format.json_schema.schema`` and the Responses API's ``text.format.schema``) or of a
tool's arguments (``tools[0].function.parameters``, ``refuse_unshaped_tools``) is one.

The model servers turn the schema into a grammar the answer (a tool call's arguments) must
follow. A schema that is none (``{"type": "nonsense"}``) is turned into nothing, silently: the
answer merely starts with ``{``, and the client believes it was held to its schema. So the
gateway checks the shape the JSON Schema meta-schema gives each keyword it knows (a ``type`` is
one of the seven types, ``properties`` maps names to schemas, ``required`` lists names,
``minimum`` is a number ...), at every depth, and names the first place that breaks it.
Keywords it does not know are left as they are (the model servers ignore them, as JSON Schema
does). A ``$ref`` must point inside the schema (``#/$defs/x``): one to another document would
have a model server fetch it over the network.

A structural check, not the ``jsonschema`` package (not a dependency of the gateway): it does not
compile a ``pattern`` (the ECMAScript dialect is not Python's) nor resolve a ``$ref``'s pointer.
A ``pattern`` (or a name of ``patternProperties``, a pattern too) with a part that cannot be
given to the model servers exactly (``\\b``, ``\\p{L}``, a lookahead ``(?=``, a modifier ``(?i)``,
an anchor inside it; one escape crashes llama-cpp-python's server, a group drops the schema) is
refused, naming it (``stellwerk.backends.portable_patterns``, which rewrites the others on the
way to the server). The keywords whose values are schemas, where the check goes deeper, are
listed in ``stellwerk.backends.schema_keywords``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from stellwerk.backends.pattern_syntax import MAX_OPTIONAL
from stellwerk.backends.portable_patterns import PatternProblem, portable_pattern
from stellwerk.backends.schema_keywords import ITEMS, NAMED, ONE, SOME
from stellwerk.errors import json_type, shown
from stellwerk.gateway.schema_refs import ref_problem

TYPES = ("array", "boolean", "integer", "null", "number", "object", "string")

_COUNTS = frozenset(
    {
        "maxContains",
        "maxItems",
        "maxLength",
        "maxProperties",
        "minContains",
        "minItems",
        "minLength",
        "minProperties",
    }
)
_LEAST = frozenset({"minItems", "minLength"})  # written out as repeats by the converters
_NUMBERS = frozenset({"maximum", "minimum"})
_EXCLUSIVE = frozenset({"exclusiveMaximum", "exclusiveMinimum"})  # a boolean in draft 4
_TEXTS = frozenset({"$anchor", "$comment", "$id", "$schema", "description", "format"})

MAX_DEPTH = 64  # past it the model servers' grammar builders recurse too deep to be of use


@dataclass(frozen=True, slots=True)
class SchemaProblem:
    """Where a schema breaks the JSON Schema shape (``properties.age.type``; '' the schema
    itself, after the place it was given) and why."""

    place: str
    why: str

    def __str__(self) -> str:
        return f"{self.place}: {self.why}" if self.place else self.why


def schema_problem(schema: object, at: str = "") -> SchemaProblem | None:
    """Where and why ``schema`` is not a JSON schema (``properties.age.type``, after ``at``,
    the schema's own place, when given), or ``None`` when it is one; also when a ``$ref``
    points at nothing or leads back to itself (``stellwerk.gateway.schema_refs``)."""
    found = _problem(schema, at, 0)
    if found is None and (ref := ref_problem(schema, at)) is not None:
        return SchemaProblem(*ref)
    return found


def _problem(schema: object, at: str, depth: int) -> SchemaProblem | None:
    if isinstance(schema, bool):  # true: anything, false: nothing
        return None
    if not isinstance(schema, dict):
        why = f"a schema is an object (or true or false), not {json_type(schema)}"
        return SchemaProblem(at, why)
    if depth > MAX_DEPTH:
        return SchemaProblem(at, f"the schema is nested deeper than {MAX_DEPTH} levels")
    for key, value in schema.items():
        check = _CHECKS.get(key)
        found = None if check is None else check(key, value, _join(at, key), depth)
        if found is not None:
            return found
    return None


def _schemas(key: str, value: object, at: str, depth: int) -> SchemaProblem | None:
    if key in ONE:
        return _problem(value, at, depth + 1)
    if key in NAMED:
        if not isinstance(value, dict):
            return SchemaProblem(at, f"maps names to schemas (an object), not {json_type(value)}")
        for name, inner in value.items():
            place = _join(at, name)
            found = _named_pattern(name, place) if key == "patternProperties" else None
            found = found or _problem(inner, place, depth + 1)
            if found is not None:
                return found
        return None
    if key == ITEMS and not isinstance(value, list):  # a list: draft 4's prefixItems
        return _problem(value, at, depth + 1)
    if not isinstance(value, list) or (key != ITEMS and not value):
        return SchemaProblem(at, f"a list of schemas{'' if key == ITEMS else ' (one or more)'}")
    for index, inner in enumerate(value):
        found = _problem(inner, f"{at}.{index}", depth + 1)
        if found is not None:
            return found
    return None


def _named_pattern(name: str, at: str) -> SchemaProblem | None:
    """A name of ``patternProperties``, a pattern too, as a ``pattern`` is checked."""
    try:
        portable_pattern(name)
    except PatternProblem as exc:
        return SchemaProblem(at, f"this name is a pattern, and {exc}")
    return None


def _type(key: str, value: object, at: str, depth: int) -> SchemaProblem | None:
    named = value if isinstance(value, list) else [value]
    for name in named:
        if not isinstance(name, str) or name not in TYPES:
            what = shown(name) if isinstance(name, str) else json_type(name)
            return SchemaProblem(at, f"{what} is not a JSON Schema type ({', '.join(TYPES)})")
    if isinstance(value, list) and (not value or len(set(named)) < len(named)):
        return SchemaProblem(at, "a list of types names one or more, each once")
    return None


def _names(key: str, value: object, at: str, depth: int) -> SchemaProblem | None:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return SchemaProblem(at, "a list of property names (strings)")
    if len(set(value)) < len(value):
        return SchemaProblem(at, "names a property twice")
    return None


def _number(key: str, value: object, at: str, depth: int) -> SchemaProblem | None:
    if isinstance(value, bool):
        return None if key in _EXCLUSIVE else SchemaProblem(at, f"a number, not {json_type(value)}")
    if not isinstance(value, int | float):
        return SchemaProblem(at, f"a number, not {json_type(value)}")
    if key == "multipleOf" and value <= 0:
        return SchemaProblem(at, f"a number greater than 0, not {value}")
    return None


def _count(key: str, value: object, at: str, depth: int) -> SchemaProblem | None:
    whole = isinstance(value, int) and not isinstance(value, bool)
    whole = whole or (isinstance(value, float) and value.is_integer())  # 2.0: an integer
    if not whole or not isinstance(value, int | float) or value < 0:
        return SchemaProblem(at, f"a whole number of 0 or more, not {value!r}")
    if key in _LEAST and value > MAX_OPTIONAL:
        return SchemaProblem(
            at,
            f"{int(value)} is more than the {MAX_OPTIONAL} repeats the model servers can write"
            " out (llama-cpp-python's server dies on it)",
        )
    return None


def _text(key: str, value: object, at: str, depth: int) -> SchemaProblem | None:
    return (
        None if isinstance(value, str) else SchemaProblem(at, f"a string, not {json_type(value)}")
    )


def _pattern(key: str, value: object, at: str, depth: int) -> SchemaProblem | None:
    if not isinstance(value, str):
        return SchemaProblem(at, f"a string, not {json_type(value)}")
    try:
        portable_pattern(value)  # what the model servers get (stellwerk.backends.portable_patterns)
    except PatternProblem as exc:
        return SchemaProblem(at, str(exc))
    return None


def _flag(key: str, value: object, at: str, depth: int) -> SchemaProblem | None:
    if isinstance(value, bool):
        return None
    return SchemaProblem(at, f"true or false, not {json_type(value)}")


def _list(key: str, value: object, at: str, depth: int) -> SchemaProblem | None:
    if isinstance(value, list):
        return None
    return SchemaProblem(at, f"a list of values, not {json_type(value)}")


def _ref(key: str, value: object, at: str, depth: int) -> SchemaProblem | None:
    if not isinstance(value, str):
        return SchemaProblem(at, f"a string, not {json_type(value)}")
    if not value.startswith("#"):
        return SchemaProblem(
            at,
            f"{shown(value)} is not a reference inside the schema (one that starts with"
            " '#', such as '#/$defs/address'); a model server would fetch another document",
        )
    return None


def _join(at: str, key: str) -> str:
    """The place of ``key`` in the schema (a long or unprintable name quoted and cut)."""
    name = key if len(key) <= 40 and key.isprintable() else shown(key)
    return f"{at}.{name}" if at else name


Check = Callable[[str, object, str, int], "SchemaProblem | None"]

_CHECKS: dict[str, Check] = {
    **dict.fromkeys(ONE | NAMED | SOME | {ITEMS}, _schemas),
    **dict.fromkeys(_COUNTS, _count),
    **dict.fromkeys(_NUMBERS | _EXCLUSIVE | {"multipleOf"}, _number),
    **dict.fromkeys(_TEXTS, _text),
    "type": _type,
    "required": _names,
    "uniqueItems": _flag,
    "enum": _list,
    "examples": _list,
    "$ref": _ref,
    "pattern": _pattern,
    "$dynamicRef": _ref,
}
