"""The values some fields of Ollama's requests take, and how a wrong one is told."""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from pydantic import AllowInfNan, BeforeValidator, WithJsonSchema

from stellwerk.errors import shown
from stellwerk.gateway.ollama_duration import keep_alive
from stellwerk.gateway.schema_shape import schema_problem

_KINDS = {bool: "true or false", int: "a number", float: "a number", list: "a list"}


def _format(value: Any) -> Any:
    """Refuse a ``format`` Ollama does not take, saying all it takes (a word was told "Input
    should be '' or 'json'", as if a schema were not taken), and an object that is no JSON
    schema, saying where (``schema_shape``)."""
    if isinstance(value, dict):
        problem = schema_problem(value)
        if problem is not None:
            raise ValueError(f"not a JSON schema of the answer: {problem}")
        return value
    if value in ("", "json"):
        return value
    what = shown(value) if isinstance(value, str) else _KINDS.get(type(value), "this value")
    raise ValueError(
        f'{what} is not an output format: send "json", or a JSON schema of the answer (an object)'
    )


#: ``format``: "json", or a JSON schema of the answer ("" is none)
OutputFormat = Annotated[
    str | dict[str, Any],
    BeforeValidator(_format),
    WithJsonSchema({"anyOf": [{"enum": ["", "json"], "type": "string"}, {"type": "object"}]}),
]
#: ``keep_alive``: a duration ("5m", "1h30m") or seconds, as Ollama reads it
KeepAlive = Annotated[
    # a number past a double's range is told once, where the body is read (``json_text``)
    str | int | Annotated[float, AllowInfNan(True)],
    BeforeValidator(keep_alive),
]
#: the levels of thinking ``think`` may ask for, besides on or off
ThinkLevel = Literal["low", "medium", "high", "max"]


def _think(value: Any) -> Any:
    """Refuse a ``think`` Ollama does not take, saying all it takes (a word was told "Input
    should be 'low', 'medium', 'high' or 'max'", as if true and false were not taken)."""
    if isinstance(value, bool) or value in get_args(ThinkLevel):
        return value
    what = shown(value) if isinstance(value, str) else _KINDS.get(type(value), "this value")
    levels = ", ".join(repr(level) for level in get_args(ThinkLevel))
    raise ValueError(f"{what} is not a think value: send true or false, or a level ({levels})")


#: ``think``: on or off, or a level for the models that take one
Think = Annotated[bool | ThinkLevel, BeforeValidator(_think)]
