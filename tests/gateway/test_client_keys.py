"""Keys that real clients put into their messages and that the gateway takes (walk 17): a tool
message's ``name`` (OpenAI's function-calling guide), prompt-caching markup (``cache_control``,
which LiteLLM passes to every provider; OpenAI's ``prompt_cache_breakpoint``), taken and
dropped; and the backend's reasoning (``reasoning_content``), passed back to the client on both
APIs, plain and streamed, so that it can send it back. The real ``openai`` and ``ollama``
libraries talk to the gateway in front of the real llama.cpp server (watched through a
recording proxy) or of a stand-in for a server that reasons (``passthrough_server``)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import openai
import pytest

from stellwerk.demo.config import demo_config_data, new_demo_keys
from tests.fixtures.gateway import KEYS, Gateway, in_process, migrated_copy
from tests.fixtures.llama import LlamaBackend
from tests.fixtures.loopback import ANSWER, Recorded, passthrough_server
from tests.fixtures.watched import CALLED, TOOL, chat_sent, chats, watched

pytestmark = pytest.mark.llama

THOUGHT = "Der Nutzer grüsst; kurz antworten."


def test_the_tool_loop_of_openais_guide_sends_the_tool_messages_name_through(
    gateway_raw: dict[str, Any], llama_server: LlamaBackend
) -> None:
    """OpenAI's function-calling guide answers a call with ``{"role": "tool", "tool_call_id",
    "name", "content"}``: taken, and the name passed on (a chat template may read it)."""
    messages: Any = [
        {"role": "system", "content": "Kurz.", "name": "setup"},
        {"role": "user", "content": "Wetter?", "name": "ana"},
        CALLED,
        {"role": "tool", "tool_call_id": "c1", "name": "get_weather", "content": "sonnig"},
    ]
    sent = chat_sent(gateway_raw, llama_server.base_url, messages, tools=[TOOL])
    assert sent["messages"][3] == {
        "role": "tool",
        "tool_call_id": "c1",
        "name": "get_weather",
        "content": "sonnig",
    }


def test_prompt_caching_markup_is_taken_and_not_passed_on(
    gateway_raw: dict[str, Any], llama_server: LlamaBackend
) -> None:
    """LiteLLM passes Anthropic's ``cache_control`` on to ``openai/`` models, on a message or
    its content parts; OpenAI's own is ``prompt_cache_breakpoint`` on a part. No model server
    here reads either: taken, and dropped."""
    ephemeral = {"type": "ephemeral"}
    messages: Any = [
        {
            "role": "system",
            "content": [{"type": "text", "text": "Kurz.", "cache_control": ephemeral}],
        },
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Hallo", "prompt_cache_breakpoint": {"mode": "explicit"}}
            ],
            "cache_control": ephemeral,
        },
    ]
    sent = chat_sent(gateway_raw, llama_server.base_url, messages)
    assert sent["messages"] == [
        {"role": "system", "content": "Kurz."},
        {"role": "user", "content": [{"type": "text", "text": "Hallo"}]},
    ]


@pytest.mark.parametrize(
    ("part", "place"),
    [
        ({"type": "text", "text": "u", "cache_control": "ephemeral"}, "messages.0.content.0"),
        (
            {"type": "image_url", "image_url": {"url": "data:,"}, "cache_control": 1},
            "messages.0.content.0",
        ),
        ({"type": "text", "text": "text", "cache_control": ["text"]}, "messages.0.content.0"),
    ],
    ids=["text-part", "image-part", "text-part-whose-text-is-its-tag"],
)
def test_a_cache_control_that_is_no_object_is_refused_naming_it(
    gateway_raw: dict[str, Any], llama_server: LlamaBackend, part: dict[str, Any], place: str
) -> None:
    """``cache_control`` as a string on a text part was refused naming the part's ``text``
    (``messages.0.content.0.text must be a JSON object``), which the client sent right: a text
    part's tag is ``text`` too, one of its keys (walk 18, 5). The refusal names it, and no
    backend is asked."""
    messages: Any = [{"role": "user", "content": [part]}]
    with (
        watched(gateway_raw, llama_server.base_url) as (gw, proxy),
        gw.openai(KEYS["research"], max_retries=0) as client,
        pytest.raises(openai.BadRequestError) as refused,
    ):
        client.chat.completions.create(model="tiny-small", messages=messages, max_tokens=2)
    error: Any = refused.value.body
    assert error["param"] == f"{place}.cache_control", error
    assert error["message"] == f"{place}.cache_control must be a JSON object", error
    assert chats(proxy) == []


@contextmanager
def reasoning_backend(
    raw: dict[str, Any], *, streamed_usage: bool = True
) -> Iterator[tuple[Gateway, Recorded]]:
    """The gateway with a model ``thinker`` on a server that answers with its reasoning apart
    (``reasoning_content``), as llama.cpp's ``--reasoning-format`` and vLLM's parsers do."""
    raw = copy.deepcopy(raw)
    with passthrough_server(reasoning=THOUGHT, streamed_usage=streamed_usage) as server:
        raw["backends"].append({"name": "reasoner", "kind": "openai", "base_url": server.url})
        small = raw["models"][0]
        raw["models"].append({**small, "id": "thinker", "backend": "reasoner", "upstream": "r"})
        with in_process(raw) as gw:
            yield gw, server


def test_the_backends_reasoning_reaches_the_openai_client_plain_and_streamed(
    gateway_raw: dict[str, Any],
) -> None:
    """The answer's ``reasoning_content``, and the stream's ``delta.reasoning_content``, as the
    server sent them; the tokens are counted as the server counted them."""
    user: Any = [{"role": "user", "content": "Hallo"}]
    with reasoning_backend(gateway_raw) as (gw, _), gw.openai(KEYS["research"]) as client:
        plain = client.chat.completions.create(model="thinker", messages=user)
        chunks = list(
            client.chat.completions.create(
                model="thinker",
                messages=user,
                stream=True,
                stream_options={"include_usage": True},
            )
        )
        records = gw.records(2)
    message = plain.choices[0].message
    assert (message.content, (message.model_extra or {}).get("reasoning_content")) == (
        ANSWER,
        THOUGHT,
    )
    deltas = [c.choices[0].delta for c in chunks if c.choices]
    thought = "".join((d.model_extra or {}).get("reasoning_content") or "" for d in deltas)
    assert (thought, "".join(d.content or "" for d in deltas)) == (THOUGHT, ANSWER)
    usage = chunks[-1].usage
    assert usage is not None
    assert (usage.prompt_tokens, usage.completion_tokens) == (3, 1)
    assert [(r.prompt_tokens, r.completion_tokens, r.status) for r in records] == [
        (3, 1, 200),
        (3, 1, 200),
    ]


def test_a_stream_without_the_servers_usage_counts_its_reasoning(
    gateway_raw: dict[str, Any],
) -> None:
    """A server that sends no usage has the stream's pieces counted: the reasoning's are
    answer tokens too (one piece of reasoning, one of content here)."""
    user: Any = [{"role": "user", "content": "Hallo"}]
    with (
        reasoning_backend(gateway_raw, streamed_usage=False) as (gw, _),
        gw.openai(KEYS["research"]) as client,
    ):
        chunks = list(
            client.chat.completions.create(
                model="thinker",
                messages=user,
                stream=True,
                stream_options={"include_usage": True},
            )
        )
        (record,) = gw.records(1)
    usage = chunks[-1].usage
    assert usage is not None
    assert usage.completion_tokens == 2
    assert (record.completion_tokens, record.status) == (2, 200)


def test_the_backends_reasoning_is_ollamas_thinking_on_api_chat(
    gateway_raw: dict[str, Any],
) -> None:
    """Ollama's API answers a model's reasoning as ``message.thinking``, plain and streamed."""
    user = [{"role": "user", "content": "Hallo"}]
    with reasoning_backend(gateway_raw) as (gw, _):
        client = gw.ollama(KEYS["research"])
        plain = client.chat(model="thinker", messages=user)
        streamed = list(client.chat(model="thinker", messages=user, stream=True))
    assert (plain.message.thinking, plain.message.content) == (THOUGHT, ANSWER)
    thinking = "".join(part.message.thinking or "" for part in streamed)
    content = "".join(part.message.content or "" for part in streamed)
    assert (thinking, content) == (THOUGHT, ANSWER)


def test_the_demos_small_model_takes_a_tool_request(
    llama_server: LlamaBackend, ledger_template: Path, tmp_path: Path
) -> None:
    """A tool round trip tried on ``./run demo`` reaches the model (walk 17 got ``does not
    support tools`` before any client's own request was looked at)."""
    keys = new_demo_keys()
    raw = demo_config_data(llama_server.base_url, keys, host="127.0.0.1", port=1)
    raw["server"]["database_url"] = migrated_copy(ledger_template, tmp_path / "ledger.db")
    messages: Any = [
        {"role": "user", "content": "Wetter?"},
        CALLED,
        {"role": "tool", "tool_call_id": "c1", "content": "sonnig"},
    ]
    with in_process(raw) as gw, gw.openai(keys.user, max_retries=0) as client:
        answer = client.chat.completions.create(
            model="tiny-small", messages=messages, tools=[TOOL], max_tokens=2
        )
    assert answer.choices[0].finish_reason in ("stop", "length", "tool_calls")
