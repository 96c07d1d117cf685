"""Dialects of OpenAI-compatible servers: what one server needs changed in a valid OpenAI request.

A backend of ``kind: openai`` names its server's dialect in the config (``dialect``); the
translation is a pure function from the request body ``to_wire`` built to the body that server
takes, applied last. ``generic`` passes everything through (vLLM, LocalAI, OpenAI itself).

``llamacpp`` is made for llama-cpp-python's server (0.3), whose request validation refuses, with
HTTP 500, two things OpenAI's API allows (docs/backends-llamacpp.md):

* structured outputs, ``response_format: {"type": "json_schema", "json_schema": {"schema": S}}``:
  it takes only ``text`` and ``json_object``, and a schema as ``{"type": "json_object",
  "schema": S}``, which constrains the answer by a grammar made from S, as OpenAI's does;
* a fractional number (``0.5``) as a top-level value of a tool's ``parameters`` (it types those
  values as null, int, str, bool, list or object; nested values are not checked). A whole
  number written as a float (``2.0``) is sent as the integer it equals; the numeric keywords
  ``minimum``, ``maximum``, ``exclusiveMinimum``, ``exclusiveMaximum`` and ``multipleOf``, which
  constrain numbers only, are left out of an object schema, where they cannot apply. Any other
  fractional value there is ``Untranslatable``: a 400 naming it, unless a routed request has a
  candidate on another backend to go on to (``stellwerk.gateway.calls``);
* ``tool_choice: "required"``, which it takes and ignores (the model may answer text): with one
  tool it is sent as the ``tool_choice`` naming that tool, which the server does force (by a
  grammar); with several it is ``Untranslatable``, as the server can force one named tool only,
  not a call among several.

llama.cpp's C++ ``llama-server`` takes these translated forms too. Both build the answer's grammar
with llama.cpp's JSON-schema converters, so the schemas' patterns sent to them are JSON-safe
(``JSON_STRING_PATTERNS``; ``stellwerk.backends.json_strings``).

Both send log probabilities only when asked for at least one alternative per token (``logprobs:
true`` alone gets none from llama-cpp-python; ``top_logprobs: 0`` none from ``llama-server``):
``top_logprobs`` (a text completion's ``logprobs``) is sent as 1 at least, and the answer's
alternatives are cut to what the client asked for (``stellwerk.backends.logprobs``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from stellwerk.backends.types import JSON
from stellwerk.errors import InvalidRequest, Untranslatable

Dialect = Callable[[JSON], JSON]

#: JSON Schema keywords that constrain numbers only: vacuous on an object schema.
_NUMERIC_KEYWORDS = frozenset(
    {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"}
)
_INT64 = 2**63


def generic(payload: JSON) -> JSON:
    """Servers that take OpenAI's request as it is."""
    return payload


def llamacpp(payload: JSON) -> JSON:
    """llama-cpp-python's server: structured outputs as a JSON-object schema, tool parameter
    schemas without top-level fractional numbers, ``tool_choice: "required"`` as the one tool
    named, one alternative per token at least."""
    out = dict(payload)
    if out.get("logprobs") is True:
        out["top_logprobs"] = max(out.get("top_logprobs") or 0, 1)
    elif "prompt" in out and type(out.get("logprobs")) is int:  # a text completion's count
        out["logprobs"] = max(out["logprobs"], 1)
    response_format = out.get("response_format")
    if isinstance(response_format, dict) and response_format.get("type") == "json_schema":
        out["response_format"] = _json_object(response_format)
    tools = out.get("tools")
    if out.get("tool_choice") == "required":
        out["tool_choice"] = _forced(tools)
    if isinstance(tools, list):
        out["tools"] = [_tool(tool, f"tools[{i}].function") for i, tool in enumerate(tools)]
    functions = out.get("functions")  # the legacy form of tools, typed alike by the server
    if isinstance(functions, list):
        out["functions"] = [
            _function(function, f"functions[{i}]") for i, function in enumerate(functions)
        ]
    return out


def builtin_dialects() -> Mapping[str, Dialect]:
    """The translations by config ``dialect``."""
    return {"generic": generic, "llamacpp": llamacpp}


#: dialects of servers whose grammar comes from llama.cpp's JSON-schema converters, which put a
#: pattern's characters raw inside the JSON string: they are sent patterns that allow only what a
#: JSON string may hold (``stellwerk.backends.json_strings``). vLLM reads decoded values.
JSON_STRING_PATTERNS: frozenset[Dialect] = frozenset({llamacpp})


def _forced(tools: Any) -> JSON:
    """``tool_choice: "required"`` as the server can force it: the one tool, named."""
    functions = tools if isinstance(tools, list) else []
    if len(functions) == 1 and isinstance(functions[0], dict):
        name = (functions[0].get("function") or {}).get("name")
        if isinstance(name, str):
            return {"type": "function", "function": {"name": name}}
    raise Untranslatable(
        f"tool_choice 'required' with {len(functions)} tools: this backend (llama.cpp) cannot"
        " force a call among several tools, only a call of one named tool, and would let the"
        " model answer text; name the one tool to call in tool_choice, send only that tool,"
        " or use 'auto'",
        param="tool_choice",
    )


def _json_object(response_format: JSON) -> JSON:
    spec = response_format.get("json_schema")
    schema = spec.get("schema") if isinstance(spec, dict) else None
    if schema is None:
        return {"type": "json_object"}  # no schema given: any JSON object
    if not isinstance(schema, dict):
        raise InvalidRequest(
            "response_format.json_schema.schema must be a JSON Schema object",
            param="response_format.json_schema.schema",
        )
    return {"type": "json_object", "schema": schema}


def _tool(tool: Any, where: str) -> Any:
    if not isinstance(tool, dict) or not isinstance(tool.get("function"), dict):
        return tool
    return {**tool, "function": _function(tool["function"], where)}


def _function(function: Any, where: str) -> Any:
    if not isinstance(function, dict) or not isinstance(function.get("parameters"), dict):
        return function
    return {**function, "parameters": _parameters(function["parameters"], where + ".parameters")}


def _parameters(schema: JSON, where: str) -> JSON:
    is_object = schema.get("type") == "object" or ("type" not in schema and "properties" in schema)
    out: JSON = {}
    for key, value in schema.items():
        if not isinstance(value, float):
            out[key] = value
        elif value.is_integer() and abs(value) < _INT64:
            out[key] = int(value)
        elif is_object and key in _NUMERIC_KEYWORDS:
            continue
        else:
            raise Untranslatable(
                f"{where}.{key} is {value!r}: this backend (llama.cpp) takes no number but a"
                " 64-bit integer at the top level of a tool's parameters; put it inside a"
                " property's schema or leave it out",
                param=f"{where}.{key}",
            )
    return out
