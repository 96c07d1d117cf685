"""A stream's tool-call pieces joined into whole calls (``openai_wire.joined_calls``), as an
Ollama client on ``/api/chat`` reads them: one call per index, its name once."""

from __future__ import annotations

from typing import Any

import pytest

from stellwerk.gateway.openai_wire import joined_calls


def _piece(index: int, **fields: Any) -> dict[str, Any]:
    function = {k: fields.pop(k) for k in ("name", "arguments") if k in fields}
    return {"index": index, **fields, "function": function}


def _call(index: int, call_id: str, name: str, arguments: str) -> dict[str, Any]:
    return {
        "index": index,
        "id": call_id,
        "type": "function",
        "function": {"name": name, "arguments": arguments},
    }


WEATHER = _call(0, "call_a", "get_weather", '{"city": "Bern"}')


@pytest.mark.parametrize(
    ("pieces", "whole"),
    [
        (  # OpenAI: id, type and name in the first piece only
            [
                _piece(0, id="call_a", type="function", name="get_weather", arguments=""),
                _piece(0, arguments='{"city"'),
                _piece(0, arguments=': "Bern"}'),
            ],
            [WEATHER],
        ),
        (  # llama-cpp-python: id, type and name repeated in every piece
            [
                _piece(0, id="call_a", type="function", name="get_weather", arguments='{"ci'),
                _piece(0, id="call_a", type="function", name="get_weather", arguments='ty": '),
                _piece(0, id="call_a", type="function", name="get_weather", arguments='"Bern"}'),
            ],
            [WEATHER],
        ),
        (  # a name sent in pieces is joined
            [
                _piece(0, id="call_a", type="function", name="get_", arguments=""),
                _piece(0, name="weather", arguments='{"city": "Bern"}'),
            ],
            [WEATHER],
        ),
        (  # two calls, their pieces interleaved: one each, in the order of their index
            [
                _piece(1, id="call_b", type="function", name="get_time", arguments="{"),
                _piece(0, id="call_a", type="function", name="get_weather", arguments='{"city"'),
                _piece(1, arguments="}"),
                _piece(0, arguments=': "Bern"}'),
            ],
            [WEATHER, _call(1, "call_b", "get_time", "{}")],
        ),
        (  # Ollama: each call whole, in a piece of its own
            [
                _piece(0, id="call_0", type="function", name="get_weather", arguments="{}"),
                _piece(1, id="call_1", type="function", name="get_time", arguments="{}"),
            ],
            [_call(0, "call_0", "get_weather", "{}"), _call(1, "call_1", "get_time", "{}")],
        ),
    ],
    ids=["openai", "repeated", "name-in-pieces", "interleaved", "whole"],
)
def test_pieces_join_into_one_call_per_index(
    pieces: list[dict[str, Any]], whole: list[dict[str, Any]]
) -> None:
    assert joined_calls(pieces) == whole
