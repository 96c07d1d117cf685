"""A key the gateway does not know inside a request's objects (a message, a content part, a
tool, ``response_format`` ...) is refused as a top-level one is, named by its place, unless the
operator lets it pass (``backends[].pass_params``: ``messages[].prefix``); the keys real
clients send keep working. The real ``openai`` library and LangChain talk to the gateway in
front of the real llama.cpp server, watched through a recording proxy."""

from __future__ import annotations

import copy
from typing import Any

import openai
import pytest

from tests.fixtures.gateway import KEYS, Gateway
from tests.fixtures.llama import LlamaBackend
from tests.fixtures.watched import CALLED, TOOL, chat_sent, chats, watched

pytestmark = pytest.mark.llama

IMAGE = {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}


def _with(value: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {**copy.deepcopy(value), **more}


#: a request's body with an unknown key inside, and that key's place
PLACES: dict[str, tuple[dict[str, Any], str]] = {
    "message": (
        {"messages": [{"role": "user", "content": "Hallo"}, _with(CALLED, prefix=True)]},
        "messages[1].prefix",
    ),
    "content part": (
        {"messages": [{"role": "user", "content": [{"type": "text", "text": "Hi", "x": 1}]}]},
        "messages[0].content[0].x",
    ),
    "image part": (  # vLLM's key of its cache of images: another's would stand for this one
        {"messages": [{"role": "user", "content": [_with(IMAGE, uuid="someone-elses")]}]},
        "messages[0].content[0].uuid",
    ),
    "tool call": (
        {
            "messages": [
                {"role": "user", "content": "Hallo"},
                {**CALLED, "tool_calls": [{**CALLED["tool_calls"][0], "x": 0}]},
                {"role": "tool", "tool_call_id": "c1", "content": "sonnig"},
            ],
            "tools": [TOOL],
        },
        "messages[1].tool_calls[0].x",
    ),
    "tool's function": (
        {
            "messages": [{"role": "user", "content": "Hallo"}],
            "tools": [{**TOOL, "function": {**TOOL["function"], "cache_control": {}}}],
        },
        "tools[0].function.cache_control",
    ),
    "response_format": (
        {
            "messages": [{"role": "user", "content": "Hallo"}],
            "response_format": {"type": "json_object", "schema": {}},
        },
        "response_format.schema",
    ),
    "stream_options": (
        {
            "messages": [{"role": "user", "content": "Hallo"}],
            "stream": True,
            "stream_options": {"include_usage": True, "chunk_size": 1},
        },
        "stream_options.chunk_size",
    ),
}


def _refused(response: Any, place: str) -> None:
    error = response.json()["error"]
    assert response.status_code == 400, error
    assert (error["param"], error["code"]) == (place, "unknown_parameter"), error
    assert error["message"].startswith(f"Unrecognized request argument supplied: {place} ("), error
    assert "backends[].pass_params" in error["message"]


@pytest.mark.parametrize("case", list(PLACES))
def test_an_unknown_key_inside_the_request_is_refused_naming_its_place(
    gateway_raw: dict[str, Any], llama_server: LlamaBackend, case: str
) -> None:
    """Passed on, it would reach a chat template or a server's reading of the request unread
    by the gateway: refused in OpenAI's words, before any backend is asked."""
    body, place = PLACES[case]
    with watched(gateway_raw, llama_server.base_url) as (gw, proxy):
        response = gw.post(
            "/v1/chat/completions",
            json={"model": "tiny-small", "max_tokens": 2, **body},
            headers={"Authorization": f"Bearer {KEYS['research']}"},
        )
    _refused(response, place)
    assert chats(proxy) == []


def test_an_unknown_key_of_a_completions_stream_options_is_refused(
    gateway_raw: dict[str, Any], llama_server: LlamaBackend
) -> None:
    body = {"prompt": "Hallo", "stream": True, "stream_options": {"include_usage": True, "z": 1}}
    with watched(gateway_raw, llama_server.base_url) as (gw, proxy):
        response = gw.post(
            "/v1/completions",
            json={"model": "tiny-small", "max_tokens": 2, **body},
            headers={"Authorization": f"Bearer {KEYS['research']}"},
        )
    _refused(response, "stream_options.z")
    assert chats(proxy) == []


def test_the_openai_library_names_the_refused_key_and_several_are_named_together(
    gateway: Gateway,
) -> None:
    messages: Any = [
        {"role": "system", "content": "Kurz.", "thinking": "..."},
        {"role": "user", "content": "Hallo", "id": "m1"},
    ]
    with (
        gateway.openai(KEYS["research"], max_retries=0) as client,
        pytest.raises(openai.BadRequestError) as caught,
    ):
        client.chat.completions.create(model="tiny-small", messages=messages, max_tokens=2)
    error = caught.value.body
    assert isinstance(error, dict)
    assert (error["param"], error["code"]) == ("messages[0].thinking", "unknown_parameter")
    assert error["message"].startswith(
        "Unrecognized request arguments supplied: messages[0].thinking, messages[1].id ("
    )


def test_what_the_operator_allows_inside_messages_reaches_the_backend_as_sent(
    gateway_raw: dict[str, Any], llama_server: LlamaBackend
) -> None:
    """``pass_params: [messages[].prefix]`` (Mistral's continuation of an assistant message, for
    a vLLM serving Mistral's models): passed on as sent; a ``null`` unknown key asks for
    nothing and is not passed on."""
    messages: Any = [
        {"role": "user", "content": "Hallo", "prefix": None},
        {"role": "assistant", "content": "Guten", "prefix": True},
    ]
    sent = chat_sent(gateway_raw, llama_server.base_url, messages, "messages[].prefix")
    assert sent["messages"] == [
        {"role": "user", "content": "Hallo"},
        {"role": "assistant", "content": "Guten", "prefix": True},
    ]


def test_the_openai_librarys_answer_sent_back_is_taken_and_passed_on_as_servers_read_it(
    gateway_raw: dict[str, Any], llama_server: LlamaBackend
) -> None:
    """The ``openai`` library's own message object of an answer, appended to the conversation
    as its cookbook does, carries OpenAI's answer fields (``annotations``, ``audio``,
    ``refusal``); the reasoning of an earlier answer comes back as ``reasoning_content``
    (DeepSeek's and Kimi's APIs ask for it). All are taken; what no model server reads is not
    passed on, the reasoning is."""
    from openai.types.chat import ChatCompletionMessage

    with (
        watched(gateway_raw, llama_server.base_url) as (gw, proxy),
        gw.openai(KEYS["research"], max_retries=0) as client,
    ):
        answer = client.chat.completions.create(
            model="tiny-small", messages=[{"role": "user", "content": "Hallo"}], max_tokens=2
        )
        earlier = ChatCompletionMessage.model_validate(
            {
                **answer.choices[0].message.model_dump(exclude_unset=True),
                "annotations": [],
                "audio": None,
                "refusal": None,
                "reasoning_content": "Der Nutzer grüsst.",
            }
        )
        messages: Any = [{"role": "user", "content": "Hallo"}, earlier]
        messages.append({"role": "user", "content": "Und?"})
        assert client.chat.completions.create(
            model="tiny-small", messages=messages, max_tokens=2
        ).choices
    sent = chats(proxy)[-1]["messages"][1]
    assert set(sent) == {"role", "content", "reasoning_content"}, sent


def test_langchain_conversations_pass_and_an_unknown_key_in_them_does_not(
    gateway_raw: dict[str, Any], llama_server: LlamaBackend
) -> None:
    """LangChain's ``ChatOpenAI`` sends a tool conversation with the keys OpenAI's API has
    (``name``, ``tool_calls``, ``tool_call_id``): it works as it is, and reaches the server with
    no other key. A key the caller smuggles in through a message's ``additional_kwargs`` that
    LangChain passes (``function_call`` with an unknown key) is refused."""
    from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
    from langchain_openai import ChatOpenAI

    with watched(gateway_raw, llama_server.base_url) as (gw, proxy):
        chat = ChatOpenAI(
            model="tiny-small",
            base_url=gw.openai_url,
            api_key=KEYS["research"],
            http_client=gw.client(),
            max_retries=0,
            max_tokens=4,
        ).bind_tools([{**TOOL}])  # langchain takes a plain dict
        call = {"name": "get_weather", "args": {}, "id": "c1", "type": "tool_call"}
        conversation = [
            HumanMessage("Wetter?", name="ana"),
            AIMessage("", tool_calls=[call]),
            ToolMessage("sonnig", tool_call_id="c1"),
        ]
        chat.invoke(conversation)
        smuggled = AIMessage(
            "", additional_kwargs={"function_call": {"name": "f", "arguments": "{}", "x": 1}}
        )
        with pytest.raises(openai.BadRequestError) as caught:
            chat.invoke([HumanMessage("Hallo"), smuggled, HumanMessage("Und?")])
    sent = chats(proxy)
    assert len(sent) == 1
    allowed = {"role", "content", "name", "tool_calls", "tool_call_id"}
    assert all(set(message) <= allowed for message in sent[0]["messages"]), sent[0]
    error = caught.value.body
    assert isinstance(error, dict)
    assert error["param"] == "messages[1].function_call.x"


def test_an_ollama_tool_reaches_the_backend_with_its_fields_only(
    gateway_raw: dict[str, Any], llama_server: LlamaBackend
) -> None:
    """Ollama's ``/api/chat`` reads what it knows and ignores the rest, as Ollama does: a key
    of a tool it does not know is not passed on to the model server."""
    tool = {**TOOL, "function": {**TOOL["function"], "x-internal": {"n_keep": 4}}, "y": 1}
    with watched(gateway_raw, llama_server.base_url) as (gw, proxy):
        response = gw.post(
            "/api/chat",
            json={
                "model": "tiny-small",
                "messages": [{"role": "user", "content": "Hallo", "prefix": True}],
                "tools": [tool],
                "stream": False,
                "options": {"num_predict": 2},
            },
            headers={"Authorization": f"Bearer {KEYS['research']}"},
        )
    assert response.status_code == 200, response.text
    (sent,) = chats(proxy)
    assert sent["tools"] == [TOOL]
    assert sent["messages"] == [{"role": "user", "content": "Hallo"}]
