"""The HTTP surface of the real llama.cpp server on the tiny models, through the openai client.

Some tests pin upstream behaviour the gateway has to work around (no usage on streams, unknown
model names answered by the default model); if an upgrade of llama-cpp-python changes it, they
fail and docs/backends-llamacpp.md needs a new look.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam, ChatCompletionToolParam

from stellwerk.demo.tiny_gguf import SIZES, chat_prompt_tokens, expected_token_ids
from tests.fixtures.llama import LlamaBackend

pytestmark = pytest.mark.llama

MESSAGES: list[ChatCompletionMessageParam] = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "Grüße aus dem Stellwerk"},
]


@pytest.fixture
def client(llama_server: LlamaBackend) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=llama_server.openai_base_url, api_key="unused") as client:
        yield client


def _sse_events(llama_server: LlamaBackend, body: dict[str, object]) -> list[str]:
    """The ``data:`` payloads of a streamed chat completion, in order."""
    with (
        httpx.Client(base_url=llama_server.base_url, timeout=60) as http,
        http.stream("POST", "/v1/chat/completions", json=body) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        return [
            line.removeprefix("data: ")
            for line in response.iter_lines()
            if line.startswith("data: ")
        ]


def test_models_lists_every_alias(client: openai.OpenAI, llama_server: LlamaBackend) -> None:
    assert [model.id for model in client.models.list()] == list(llama_server.aliases)


@pytest.mark.parametrize("size", sorted(SIZES))
def test_every_size_answers_a_chat(client: openai.OpenAI, size: str) -> None:
    alias = SIZES[size].name
    completion = client.chat.completions.create(
        model=alias,
        messages=MESSAGES,
        max_tokens=12,
    )
    assert completion.object == "chat.completion"
    assert completion.model == alias
    (choice,) = completion.choices
    assert choice.message.role == "assistant"
    assert choice.message.content
    assert len(choice.message.content.encode("utf-8")) <= 12  # one byte per token at most
    assert completion.usage is not None
    assert completion.usage.prompt_tokens == chat_prompt_tokens(MESSAGES)
    assert completion.usage.total_tokens == completion.usage.prompt_tokens + 12


@pytest.mark.parametrize("max_tokens", [1, 5, 40])
def test_generation_stops_at_max_tokens(client: openai.OpenAI, max_tokens: int) -> None:
    completion = client.chat.completions.create(
        model="tiny-small",
        messages=MESSAGES,
        max_tokens=max_tokens,
    )
    assert completion.choices[0].finish_reason == "length"
    assert completion.usage is not None
    assert completion.usage.completion_tokens == max_tokens


def test_stream_gives_the_same_text_as_a_plain_answer(client: openai.OpenAI) -> None:
    plain = client.chat.completions.create(
        model="tiny-medium", messages=MESSAGES, max_tokens=24, seed=11
    )
    stream = client.chat.completions.create(
        model="tiny-medium", messages=MESSAGES, max_tokens=24, seed=11, stream=True
    )
    chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks)
    assert text == plain.choices[0].message.content
    assert [chunk.choices[0].finish_reason for chunk in chunks][-1] == "length"
    assert all(chunk.choices[0].finish_reason is None for chunk in chunks[:-1])
    assert {chunk.id for chunk in chunks} == {chunks[0].id}


@pytest.mark.parametrize("stream_options", [None, {"include_usage": True}])
def test_streams_never_carry_usage(
    llama_server: LlamaBackend, stream_options: dict[str, bool] | None
) -> None:
    body: dict[str, object] = {
        "model": "tiny-small",
        "messages": MESSAGES,
        "max_tokens": 6,
        "stream": True,
    }
    if stream_options is not None:
        body["stream_options"] = stream_options
    events = _sse_events(llama_server, body)
    assert events[-1] == "[DONE]"
    chunks = [json.loads(event) for event in events[:-1]]
    assert all(chunk["object"] == "chat.completion.chunk" for chunk in chunks)
    assert all("usage" not in chunk for chunk in chunks)
    assert all(len(chunk["choices"]) == 1 for chunk in chunks)


def test_concurrent_streams_all_run_to_the_end(llama_server: LlamaBackend) -> None:
    body = {"model": "tiny-large", "messages": MESSAGES, "max_tokens": 60, "stream": True}
    with ThreadPoolExecutor(max_workers=3) as pool:
        streams = list(pool.map(lambda _: _sse_events(llama_server, body), range(3)))
    for events in streams:
        assert events[-1] == "[DONE]"
        assert json.loads(events[-2])["choices"][0]["finish_reason"] == "length"


def test_seed_makes_sampling_repeatable(client: openai.OpenAI) -> None:
    def answer(seed: int) -> str | None:
        completion = client.chat.completions.create(
            model="tiny-large",
            messages=MESSAGES,
            max_tokens=16,
            seed=seed,
        )
        return completion.choices[0].message.content

    assert answer(3) == answer(3)
    assert answer(3) != answer(4)


def test_embeddings_give_one_vector_per_input(
    client: openai.OpenAI, llama_server: LlamaBackend
) -> None:
    inputs = ["Hello", "Grüße"]
    # The client asks for base64 by default; the server sends floats and the client copes.
    result = client.embeddings.create(model=llama_server.embedding_model, input=inputs)
    assert [item.index for item in result.data] == [0, 1]
    assert {len(item.embedding) for item in result.data} == {SIZES["small"].width}
    assert result.data[0].embedding != result.data[1].embedding
    assert result.usage.prompt_tokens == sum(len(expected_token_ids(text)) for text in inputs)


def test_embeddings_on_a_chat_only_model_fail_in_the_openai_envelope(
    llama_server: LlamaBackend,
) -> None:
    response = httpx.post(
        f"{llama_server.base_url}/v1/embeddings",
        json={"model": "tiny-small", "input": "Hello"},
        timeout=60,
    )
    assert response.status_code == 500
    assert "embedding=True" in response.json()["error"]["message"]


@pytest.mark.parametrize("text", ["Hello", "a b  c", "Grüße, 世界\n"])
def test_tokenize_endpoint_counts_one_token_per_byte(llama_server: LlamaBackend, text: str) -> None:
    with httpx.Client(base_url=llama_server.base_url, timeout=60) as http:
        tokens = http.post("/extras/tokenize", json={"model": "tiny-small", "input": text})
        count = http.post("/extras/tokenize/count", json={"model": "tiny-small", "input": text})
        back = http.post(
            "/extras/detokenize",
            json={"model": "tiny-small", "tokens": tokens.json()["tokens"][1:]},
        )
    assert tokens.json() == {"tokens": expected_token_ids(text)}
    assert count.json() == {"count": len(expected_token_ids(text))}
    assert back.json() == {"text": text}


def test_unknown_model_is_answered_by_the_default_model(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(
        model="no-such-model",
        messages=MESSAGES,
        max_tokens=2,
    )
    # The server echoes the name it was asked for although its first model answered.
    assert completion.model == "no-such-model"
    assert completion.usage is not None
    assert completion.usage.completion_tokens == 2


def test_context_overflow_is_a_400_in_the_openai_envelope(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(
            model="tiny-small",
            messages=[{"role": "user", "content": "x" * 2000}],
            max_tokens=4,
        )
    assert caught.value.code == "context_length_exceeded"


def test_forced_tool_choice_returns_a_tool_call(client: openai.OpenAI) -> None:
    tool: ChatCompletionToolParam = {
        "type": "function",
        "function": {
            "name": "lookup",
            "parameters": {"type": "object", "properties": {"q": {"type": "string"}}},
        },
    }
    completion = client.chat.completions.create(
        model="tiny-small",
        messages=MESSAGES,
        max_tokens=24,
        tools=[tool],
        tool_choice={"type": "function", "function": {"name": "lookup"}},
    )
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.tool_calls is not None
    call = choice.message.tool_calls[0]
    assert call.type == "function"
    assert call.function.name == "lookup"


_OBJECT = {"type": "object", "properties": {"x": {"type": "number"}}, "required": ["x"]}


def _tool_request(parameters: dict[str, object]) -> dict[str, object]:
    return {
        "tools": [{"type": "function", "function": {"name": "f", "parameters": parameters}}],
        "tool_choice": {"type": "function", "function": {"name": "f"}},
    }


@pytest.mark.parametrize(
    ("extra", "status"),
    [
        ({"response_format": {"type": "json_schema", "json_schema": {"schema": _OBJECT}}}, 500),
        ({"response_format": {"type": "json_object", "schema": _OBJECT}}, 200),
        (_tool_request({**_OBJECT, "maximum": 0.5}), 500),
        (_tool_request({**_OBJECT, "maximum": 1e300}), 500),
        (_tool_request({**_OBJECT, "minProperties": 1.0}), 200),
        (_tool_request({**_OBJECT, "properties": {"x": {"type": "number", "maximum": 0.5}}}), 200),
    ],
    ids=[
        "json_schema-refused",
        "json_object-with-schema",
        "top-level-fraction-refused",
        "top-level-huge-float-refused",
        "top-level-whole-float",
        "nested-fraction",
    ],
)
def test_structured_outputs_and_tool_floats_as_the_llamacpp_dialect_expects(
    llama_server: LlamaBackend, extra: dict[str, object], status: int
) -> None:
    """What ``dialect: llamacpp`` works around: request validation that types a tool's top-level
    ``parameters`` values without floats and knows no ``json_schema``, answered with a 500."""
    body = {"model": "tiny-small", "messages": MESSAGES, "max_tokens": 60, **extra}
    response = httpx.post(f"{llama_server.openai_base_url}/chat/completions", json=body, timeout=60)
    assert response.status_code == status, response.text
    if status == 500:
        assert "validation error" in response.json()["error"]["message"]
