"""A tool's answer answers a call made before it, once, on chat completions and on responses
(as OpenAI requires); a call id that comes again in a later answer is a new call."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from stellwerk.gateway.body import parse
from stellwerk.gateway.openai_schema import ChatCompletionRequest
from stellwerk.gateway.responses_schema import ResponseRequest
from stellwerk.gateway.responses_wire import chat_body
from tests.fixtures.gateway import KEYS, Gateway

AUTH = {"authorization": f"Bearer {KEYS['research']}"}
ASK = {"role": "user", "content": "Wie ist das Wetter in Bern?"}


def _called(*ids: str) -> dict[str, Any]:
    """An assistant message with a call of each id, as an answer gave it."""
    calls = [
        {"id": i, "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
        for i in ids
    ]
    return {"role": "assistant", "content": None, "tool_calls": calls}


def _answer(call: str) -> dict[str, Any]:
    return {"role": "tool", "tool_call_id": call, "content": "sonnig"}


def _item_call(call: str) -> dict[str, Any]:
    return {"type": "function_call", "call_id": call, "name": "get_weather", "arguments": "{}"}


def _item_output(call: str) -> dict[str, Any]:
    return {"type": "function_call_output", "call_id": call, "output": "sonnig"}


@pytest.mark.parametrize(
    ("messages", "param", "said"),
    [
        ([ASK, _answer("zzz")], "messages.1.tool_call_id",
         "messages.1.tool_call_id: no tool call before it has the id 'zzz'; send the call it"
         " answers (as the answer gave it) before its answer"),
        ([ASK, _called("c1"), _answer("c2")], "messages.2.tool_call_id", "the id 'c2'"),
        ([ASK, _answer("c1"), _called("c1")], "messages.1.tool_call_id", "the id 'c1'"),
        ([ASK, _called("c1", "c2"), _answer("c1"), _answer("c1")], "messages.3.tool_call_id",
         "messages.3.tool_call_id: the tool call 'c1' is answered twice, in messages.2 and"
         " messages.3; answer each call once"),
    ],
    ids=["orphan", "another-id", "before-its-call", "twice"],
)  # fmt: skip
def test_chat_refuses_a_tool_message_answering_no_call_or_one_twice(
    offline_gateway: Gateway, messages: list[dict[str, Any]], param: str, said: str
) -> None:
    body = {"model": "tiny-small", "max_tokens": 8, "messages": messages}
    answer = offline_gateway.post("/v1/chat/completions", json=body, headers=AUTH)
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["param"] == param
    assert said in error["message"]


@pytest.mark.parametrize(
    ("items", "param", "said"),
    [
        ([ASK, _item_output("zzz")], "input.1.call_id",
         "input.1.call_id: no tool call before it has the id 'zzz'; send the call it answers"
         " (as the answer gave it) before its answer"),
        ([ASK, _item_call("c1"), _item_output("c1"), _item_output("c1")], "input.3.call_id",
         "input.3.call_id: the tool call 'c1' is answered twice, in input.2 and input.3; answer"
         " each call once"),
    ],
    ids=["orphan", "twice"],
)  # fmt: skip
def test_responses_refuse_an_output_answering_no_call_or_one_twice_in_chats_words(
    offline_gateway: Gateway, items: list[dict[str, Any]], param: str, said: str
) -> None:
    """The rule of chat's tool messages, in the same words, naming the Responses body's own
    places (its second output of a call was told in other words before)."""
    body = {"model": "tiny-small", "max_output_tokens": 8, "input": items}
    answer = offline_gateway.post("/v1/responses", json=body, headers=AUTH)
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert (error["param"], error["message"]) == (param, said)


def test_a_call_id_asked_again_in_a_later_answer_is_answered_anew() -> None:
    """A backend that numbers its calls per answer (Ollama's ``call_0``) repeats an id over a
    conversation: each answer's call is answered once, and that is no second answer."""
    messages = [ASK, _called("call_0"), _answer("call_0"), _called("call_0"), _answer("call_0")]
    chat = {"model": "tiny-small", "messages": messages}
    assert len(parse(ChatCompletionRequest, orjson.dumps(chat)).messages) == 5
    items = [ASK, _item_call("c1"), _item_output("c1"), _item_call("c1"), _item_output("c1")]
    request = parse(ResponseRequest, orjson.dumps({"model": "auto", "input": items}))
    sent = chat_body(request)["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "tool", "assistant", "tool"]
    # parallel calls, each answered once, in any order
    both = [ASK, _called("c1", "c2"), _answer("c2"), _answer("c1")]
    assert len(parse(ChatCompletionRequest, orjson.dumps({**chat, "messages": both})).messages) == 4
