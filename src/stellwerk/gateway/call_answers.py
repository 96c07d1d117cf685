"""Each tool call answered once, by an answer after it: the one rule, in one wording, of chat's
``tool`` messages (their ``tool_call_id``) and the Responses API's ``function_call_output``
items (their ``call_id``), as OpenAI requires of both.

An answer that follows no call of its id would make the model read the result of a call it
never made; a second answer of one call, two results of one. A call id that comes again in a
later call is a new call, answered anew (a backend that numbers its calls per answer, Ollama's
``call_0``, repeats them over a conversation). A refusal is a ``ParamProblem`` (the schemas'
validators run the rule) naming the answer's id by its place: ``messages.3.tool_call_id``,
``input.2.call_id``.
"""

from __future__ import annotations

from collections.abc import Iterable

from stellwerk.errors import shown
from stellwerk.gateway.body import ParamProblem


class CallAnswers:
    """The calls of a conversation so far, read in its order, and the place that answered
    each (None while none has)."""

    def __init__(self) -> None:
        self._answered: dict[str, str | None] = {}

    def called(self, ids: Iterable[str]) -> None:
        """Calls made (an assistant message's ``tool_calls``, a ``function_call`` item)."""
        self._answered.update((call, None) for call in ids)

    def answered(self, call: str, where: str, key: str) -> None:
        """The answer at ``where`` (``messages.3``) of the call ``call``, named by its field
        ``key``; a ``ParamProblem`` if no call before it has the id, or one answered it."""
        param = f"{where}.{key}"
        if call not in self._answered:
            raise ParamProblem(
                param,
                f"{param}: no tool call before it has the id {shown(call)}; send the call it"
                " answers (as the answer gave it) before its answer",
            )
        first = self._answered[call]
        if first is not None:
            raise ParamProblem(
                param,
                f"{param}: the tool call {shown(call)} is answered twice, in {first} and {where};"
                " answer each call once",
            )
        self._answered[call] = where
