"""The finish reason of an answer that calls tools but was cut at its token limit.

llama-cpp-python ends a forced tool call (a ``tool_choice`` naming a function) with
``finish_reason: "tool_calls"`` whether or not the model finished the call: cut by
``max_tokens``, its arguments are JSON broken off mid-way (``{"city": "Be``). OpenAI says
``length`` for every answer that hit its limit, a tool call too, and clients rely on it: the
``openai`` library's ``parse`` and LangChain read a ``tool_calls`` answer's arguments as whole
JSON. So an answer said to call tools is told ``length`` when it used every token it was allowed
(``max_tokens``), or when the arguments of one of its calls are not complete JSON (the server
stopped it at a limit of its own, its context). The arguments are passed on as the model wrote
them, never completed.
"""

from __future__ import annotations

from collections.abc import Iterable

import orjson

from stellwerk.backends.types import JSON

#: the finish reasons of an answer that calls tools (``function_call``: the older form)
CALLED = frozenset({"tool_calls", "function_call"})


def finish_of(
    reported: str | None,
    arguments: Iterable[str],
    completion_tokens: int,
    max_tokens: int | None,
) -> str | None:
    """The finish reason to tell for ``reported``: ``length`` for a tool call cut at its limit
    (``arguments``: each call's arguments as written), else ``reported`` as it is."""
    if reported not in CALLED:
        return reported
    if max_tokens is not None and completion_tokens >= max_tokens:
        return "length"
    if not all(map(_whole_json, arguments)):
        return "length"
    return reported


def arguments_of(calls: Iterable[JSON] | None) -> list[str]:
    """The arguments of OpenAI-shaped tool calls, as written (a call without them has none)."""
    out = []
    for call in calls or ():
        function = call.get("function") if isinstance(call, dict) else None
        arguments = function.get("arguments") if isinstance(function, dict) else None
        if isinstance(arguments, str):
            out.append(arguments)
    return out


def _whole_json(text: str) -> bool:
    if not text:
        return True  # a call without arguments (cut before them, it has used its tokens)
    try:
        orjson.loads(text)
    except orjson.JSONDecodeError:
        return False
    return True
