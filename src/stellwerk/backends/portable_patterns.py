"""A JSON schema's patterns as every model server here reads them, meaning what they mean.

JSON Schema patterns are ECMAScript regular expressions (without the ``u`` flag). llama.cpp's
grammar builders (llama-cpp-python's server, Ollama, llama-server) read them with parsers of their
own: an escape their grammar parser does not know (``^\\d{5}$``, pydantic's ``Field(pattern=...)``)
kills llama-cpp-python's server process, for every caller; a group ``(?:...)``, a pattern not
written ``^...$`` drop the whole schema silently; a lone ``]`` loops the converter forever. So
before a schema reaches a model server, every ``pattern`` is written in the forms they take,
matching exactly the strings it matches in ECMAScript: its escapes by
``stellwerk.backends.pattern_escapes`` (``\\d`` as ``[0-9]``, ``\\.`` as ``[\\u002E]``), the rest of
its syntax by ``stellwerk.backends.pattern_syntax`` (``(?:X)`` as ``(X)``, ``abc`` as
``^(any)*abc(any)*$``). The rewrite is exact, so it is made for every backend (vLLM reads both forms
alike); for a server whose grammar comes from llama.cpp's converters it is also ``json_safe``, each
character written as it stands inside a JSON string (``stellwerk.backends.json_strings``). A part
without such a form (``\\b``, a back reference ``\\1``, ``\\p{L}``, a lookahead ``(?=``, a flag
``(?i)``, an anchor inside the pattern) is a ``PatternProblem``: the gateway refuses the schema with
a 400 naming the pattern (``stellwerk.gateway.schema_shape``). The names of ``patternProperties``
are patterns too, written out and refused alike, so that a schema means one thing to every server:
llama.cpp's grammar builders skip ``patternProperties`` silently, a server that reads them gets the
same expressions as a ``pattern``. The client's schema is not changed: the rewrite is made on the
copy sent to the model server.

A ``maxLength``, ``maxItems`` or ``maxProperties`` over ``MAX_OPTIONAL`` (pydantic's ``HttpUrl``
has ``maxLength: 2083``) is left out of that copy: llama-cpp-python's converter nests the optional
repeats one in another and its server process dies on the grammar. The answer is still bounded by
its ``max_tokens``. (A ``minLength`` or ``minItems`` that high cannot be left out without letting
shorter answers through: ``stellwerk.gateway.schema_shape`` refuses it.)
"""

from __future__ import annotations

from typing import Any

from stellwerk.backends.pattern_escapes import PatternProblem
from stellwerk.backends.pattern_syntax import MAX_OPTIONAL, portable_pattern
from stellwerk.backends.schema_keywords import ITEMS, NAMED, ONE, SOME
from stellwerk.backends.types import JSON
from stellwerk.errors import InvalidRequest

__all__ = ["PatternProblem", "portable_pattern", "portable_payload", "portable_schema"]

#: counts the converters write out as nested optional repeats: left out past ``MAX_OPTIONAL``
_MOST = frozenset({"maxItems", "maxLength", "maxProperties"})


def portable_schema(schema: Any, where: str, *, json_safe: bool = False) -> Any:
    """``schema`` (a copy) with every ``pattern`` and every name of ``patternProperties``
    ``portable_pattern`` (``json_safe``: for llama.cpp's grammar builders), and no ``maxLength``
    (...) over ``MAX_OPTIONAL``; a 400 naming the place (``where.properties.zip.pattern``) when a
    pattern cannot be. Not a schema: returned as it is."""
    if not isinstance(schema, dict):
        return schema
    out: JSON = {}
    for key, value in schema.items():
        place = f"{where}.{key}"
        if key in _MOST and isinstance(value, int | float) and value > MAX_OPTIONAL:
            continue  # the answer is bounded by max_tokens
        if key == "pattern" and isinstance(value, str):
            out[key] = _portable(value, place, json_safe=json_safe)
        elif key in NAMED and isinstance(value, dict):
            out[key] = _named(key, value, place, json_safe)
        elif (key in SOME or key == ITEMS) and isinstance(value, list):
            out[key] = [
                portable_schema(inner, f"{place}.{i}", json_safe=json_safe)
                for i, inner in enumerate(value)
            ]
        elif key in ONE or key == ITEMS:
            out[key] = portable_schema(value, place, json_safe=json_safe)
        else:
            out[key] = value
    return out


def _named(key: str, schemas: JSON, where: str, json_safe: bool) -> JSON:
    """The schemas of ``properties`` and the like, each ``portable_schema``; the names of
    ``patternProperties`` are patterns, ``portable_pattern`` too (two that are written the same
    way match the same names: both their schemas apply, as ``allOf``)."""
    out: JSON = {}
    for name, inner in schemas.items():
        place = f"{where}.{name}"
        schema = portable_schema(inner, place, json_safe=json_safe)
        written = (
            _portable(name, place, json_safe=json_safe, named=True)
            if key == "patternProperties"
            else name
        )
        out[written] = {"allOf": [out[written], schema]} if written in out else schema
    return out


def _portable(pattern: str, place: str, *, json_safe: bool, named: bool = False) -> str:
    """``portable_pattern``, or a 400 naming the pattern's ``place`` (a ``named`` one: the
    name of a ``patternProperties`` schema)."""
    try:
        return portable_pattern(pattern, json_safe=json_safe)
    except PatternProblem as exc:
        why = f"this name is a pattern, and {exc}" if named else str(exc)
        raise InvalidRequest(f"{place}: {why}", param=place) from None


def portable_payload(payload: JSON, *, json_safe: bool = False) -> JSON:
    """A chat request body with the patterns of its answer's schema and of its tools'
    parameters ``portable_schema`` (OpenAI's shapes; a copy where changed); ``json_safe`` for a
    server whose grammar comes from llama.cpp's converters (``stellwerk.backends.json_strings``)."""
    out = dict(payload)
    response_format = out.get("response_format")
    if not isinstance(response_format, dict):
        response_format = {}
    spec = response_format.get("json_schema")
    if isinstance(spec, dict) and isinstance(spec.get("schema"), dict):
        where = "response_format.json_schema.schema"
        schema = portable_schema(spec["schema"], where, json_safe=json_safe)
        out["response_format"] = {**response_format, "json_schema": {**spec, "schema": schema}}
    tools = out.get("tools")
    if isinstance(tools, list):
        out["tools"] = [
            _tool(tool, f"tools[{i}].function", json_safe) for i, tool in enumerate(tools)
        ]
    functions = out.get("functions")
    if isinstance(functions, list):
        out["functions"] = [
            _function(f, f"functions[{i}]", json_safe) for i, f in enumerate(functions)
        ]
    return out


def _tool(tool: Any, where: str, json_safe: bool) -> Any:
    if not isinstance(tool, dict) or not isinstance(tool.get("function"), dict):
        return tool
    return {**tool, "function": _function(tool["function"], where, json_safe)}


def _function(function: Any, where: str, json_safe: bool) -> Any:
    if not isinstance(function, dict) or not isinstance(function.get("parameters"), dict):
        return function
    parameters = portable_schema(function["parameters"], where + ".parameters", json_safe=json_safe)
    return {**function, "parameters": parameters}
