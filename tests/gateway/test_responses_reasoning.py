"""A backend's reasoning, sent apart from the answer (``reasoning_content``: llama.cpp's
``--reasoning-format``, vLLM's reasoning parsers), reaches ``/v1/responses`` as OpenAI's
``reasoning`` output item (its text a ``reasoning_text`` part, no summary), streamed as the
``response.reasoning_text`` events; sent back as input, it is the reasoning of the assistant
message after it. The real ``openai`` library reads it; the server stands for one that takes
OpenAI's requests as they are (``passthrough_server``, as vLLM)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from tests.fixtures.gateway import KEYS, Gateway, in_process
from tests.fixtures.loopback import ANSWER, Recorded, passthrough_server

pytestmark = pytest.mark.llama

THOUGHT = "Der Nutzer grüsst; kurz antworten."


@contextmanager
def thinker(raw: dict[str, Any]) -> Iterator[tuple[Gateway, Recorded]]:
    """The gateway with a model ``thinker`` on a server that answers with its reasoning apart."""
    raw = copy.deepcopy(raw)
    with passthrough_server(reasoning=THOUGHT) as server:
        raw["backends"].append({"name": "reasoner", "kind": "openai", "base_url": server.url})
        small = raw["models"][0]
        raw["models"].append({**small, "id": "thinker", "backend": "reasoner", "upstream": "r"})
        with in_process(raw) as gw:
            yield gw, server


def test_the_reasoning_is_a_reasoning_item_before_the_message_and_goes_back_as_sent(
    gateway_raw: dict[str, Any],
) -> None:
    with thinker(gateway_raw) as (gw, server), gw.openai(KEYS["research"]) as client:
        answer = client.responses.create(model="thinker", input="Hallo")
        again = client.responses.create(
            model="thinker",
            input=[
                {"role": "user", "content": "Hallo"},
                *answer.output,  # type: ignore[list-item]
                {"role": "user", "content": "Und?"},
            ],
        )
    thought, message = answer.output
    assert thought.type == "reasoning" and message.type == "message"
    assert thought.summary == []
    assert [(p.type, p.text) for p in thought.content or ()] == [("reasoning_text", THOUGHT)]
    assert answer.output_text == ANSWER
    assert again.status == "completed"
    assert server.bodies[1]["messages"] == [
        {"role": "user", "content": "Hallo"},
        {"role": "assistant", "content": ANSWER, "reasoning_content": THOUGHT},
        {"role": "user", "content": "Und?"},
    ]


def test_the_streamed_reasoning_is_the_reasoning_text_events(gateway_raw: dict[str, Any]) -> None:
    with (
        thinker(gateway_raw) as (gw, _),
        gw.openai(KEYS["research"]) as client,
        client.responses.stream(model="thinker", input="Hallo") as stream,
    ):
        events = list(stream)
        final = stream.get_final_response()
    kinds = [event.type for event in events]
    assert kinds[2:8] == [
        "response.output_item.added",
        "response.content_part.added",
        "response.reasoning_text.delta",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
    ]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    delta = "".join(e.delta for e in events if e.type == "response.reasoning_text.delta")
    (done,) = [e for e in events if e.type == "response.reasoning_text.done"]
    assert delta == done.text == THOUGHT
    assert [item.type for item in final.output] == ["reasoning", "message"]
    thought = final.output[0]
    assert thought.type == "reasoning"
    assert [p.text for p in thought.content or ()] == [THOUGHT]
    assert final.output_text == ANSWER
