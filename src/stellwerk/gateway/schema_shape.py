"""Whether a JSON schema of an answer (Ollama's ``format``, OpenAI's
``response_format.json_schema.schema`` and the Responses API's ``text.format.schema``) is one.

The model servers turn the schema into a grammar the answer must follow. A schema that is none
(``{"type": "nonsense"}``) is turned into nothing, silently: the answer merely starts with ``{``,
and the client believes it was held to its schema. So the gateway checks the shape the JSON Schema
meta-schema gives each keyword it knows (a ``type`` is one of the seven types, ``properties`` maps
names to schemas, ``required`` lists names, ``minimum`` is a number ...), at every depth, and names
the first place that breaks it. Keywords it does not know are left as they are (the model servers
ignore them, as JSON Schema does). A ``$ref`` must point inside the schema (``#/$defs/x``): one to
another document would have a model server fetch it over the network.

A structural check, not the ``jsonschema`` package (not a dependency of the gateway): it does not
compile a ``pattern`` (the ECMAScript dialect is not Python's) nor resolve a ``$ref``'s pointer.
A ``pattern`` whose escapes cannot be given to the model servers exactly (``\\b``, ``\\p{L}``; one
escape crashes llama-cpp-python's server) is refused, naming it
(``stellwerk.backends.portable_patterns``, which rewrites the others on the way to the server).
"""

from __future__ import annotations

from collections.abc import Callable

from stellwerk.backends.portable_patterns import PatternProblem, portable_pattern
from stellwerk.errors import json_type, shown

TYPES = ("array", "boolean", "integer", "null", "number", "object", "string")

#: keywords whose value is one schema
_ONE = frozenset(
    {
        "additionalItems",
        "additionalProperties",
        "contains",
        "else",
        "if",
        "not",
        "propertyNames",
        "then",
        "unevaluatedItems",
        "unevaluatedProperties",
    }
)
#: keywords whose value maps names to schemas
_NAMED = frozenset({"$defs", "definitions", "dependentSchemas", "patternProperties", "properties"})
#: keywords whose value is a non-empty list of schemas
_SOME = frozenset({"allOf", "anyOf", "oneOf", "prefixItems"})
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
_NUMBERS = frozenset({"maximum", "minimum"})
_EXCLUSIVE = frozenset({"exclusiveMaximum", "exclusiveMinimum"})  # a boolean in draft 4
_TEXTS = frozenset({"$anchor", "$comment", "$id", "$schema", "description", "format"})

MAX_DEPTH = 64  # past it the model servers' grammar builders recurse too deep to be of use


def schema_problem(schema: object, at: str = "") -> str | None:
    """Where and why ``schema`` is not a JSON schema (``properties.age.type: ...``, after
    ``at``, the schema's own place, when given), or ``None`` when it is one."""
    return _problem(schema, at, 0)


def _problem(schema: object, at: str, depth: int) -> str | None:
    if isinstance(schema, bool):  # true: anything, false: nothing
        return None
    if not isinstance(schema, dict):
        return f"{_place(at)}a schema is an object (or true or false), not {json_type(schema)}"
    if depth > MAX_DEPTH:
        return f"{_place(at)}the schema is nested deeper than {MAX_DEPTH} levels"
    for key, value in schema.items():
        check = _CHECKS.get(key)
        found = None if check is None else check(key, value, _join(at, key), depth)
        if found is not None:
            return found
    return None


def _schemas(key: str, value: object, at: str, depth: int) -> str | None:
    if key in _ONE:
        return _problem(value, at, depth + 1)
    if key in _NAMED:
        if not isinstance(value, dict):
            return f"{at}: maps names to schemas (an object), not {json_type(value)}"
        for name, inner in value.items():
            found = _problem(inner, _join(at, name), depth + 1)
            if found is not None:
                return found
        return None
    if key == "items" and not isinstance(value, list):  # a list: draft 4's prefixItems
        return _problem(value, at, depth + 1)
    if not isinstance(value, list) or (key != "items" and not value):
        return f"{at}: a list of schemas{'' if key == 'items' else ' (one or more)'}"
    for index, inner in enumerate(value):
        found = _problem(inner, f"{at}.{index}", depth + 1)
        if found is not None:
            return found
    return None


def _type(key: str, value: object, at: str, depth: int) -> str | None:
    named = value if isinstance(value, list) else [value]
    for name in named:
        if not isinstance(name, str) or name not in TYPES:
            what = shown(name) if isinstance(name, str) else json_type(name)
            return f"{at}: {what} is not a JSON Schema type ({', '.join(TYPES)})"
    if isinstance(value, list) and (not value or len(set(named)) < len(named)):
        return f"{at}: a list of types names one or more, each once"
    return None


def _names(key: str, value: object, at: str, depth: int) -> str | None:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return f"{at}: a list of property names (strings)"
    if len(set(value)) < len(value):
        return f"{at}: names a property twice"
    return None


def _number(key: str, value: object, at: str, depth: int) -> str | None:
    if isinstance(value, bool):
        return None if key in _EXCLUSIVE else f"{at}: a number, not {json_type(value)}"
    if not isinstance(value, int | float):
        return f"{at}: a number, not {json_type(value)}"
    if key == "multipleOf" and value <= 0:
        return f"{at}: a number greater than 0, not {value}"
    return None


def _count(key: str, value: object, at: str, depth: int) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return None
    if isinstance(value, float) and value.is_integer() and value >= 0:
        return None  # 2.0 is an integer in JSON Schema
    return f"{at}: a whole number of 0 or more, not {value!r}"


def _text(key: str, value: object, at: str, depth: int) -> str | None:
    return None if isinstance(value, str) else f"{at}: a string, not {json_type(value)}"


def _pattern(key: str, value: object, at: str, depth: int) -> str | None:
    if not isinstance(value, str):
        return f"{at}: a string, not {json_type(value)}"
    try:
        portable_pattern(value)  # what the model servers get (stellwerk.backends.portable_patterns)
    except PatternProblem as exc:
        return f"{at}: {exc}"
    return None


def _flag(key: str, value: object, at: str, depth: int) -> str | None:
    return None if isinstance(value, bool) else f"{at}: true or false, not {json_type(value)}"


def _list(key: str, value: object, at: str, depth: int) -> str | None:
    return None if isinstance(value, list) else f"{at}: a list of values, not {json_type(value)}"


def _ref(key: str, value: object, at: str, depth: int) -> str | None:
    if not isinstance(value, str):
        return f"{at}: a string, not {json_type(value)}"
    if not value.startswith("#"):
        return (
            f"{at}: {shown(value)} is not a reference inside the schema (one that starts with"
            " '#', such as '#/$defs/address'); a model server would fetch another document"
        )
    return None


def _join(at: str, key: str) -> str:
    """The place of ``key`` in the schema (a long or unprintable name quoted and cut)."""
    name = key if len(key) <= 40 and key.isprintable() else shown(key)
    return f"{at}.{name}" if at else name


def _place(at: str) -> str:
    return f"{at}: " if at else ""


Check = Callable[[str, object, str, int], "str | None"]

_CHECKS: dict[str, Check] = {
    **dict.fromkeys(_ONE | _NAMED | _SOME | {"items"}, _schemas),
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
