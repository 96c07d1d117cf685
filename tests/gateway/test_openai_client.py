"""The official ``openai`` library against a real gateway in front of the real llama.cpp server."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import openai
import pytest

from tests.fixtures.gateway import KEYS, Gateway

pytestmark = pytest.mark.llama


@pytest.fixture
def clients(gateway: Gateway) -> Iterator[dict[str, openai.OpenAI]]:
    made = {dept: gateway.openai(key, max_retries=0) for dept, key in KEYS.items()}
    yield made
    for c in made.values():
        c.close()


def test_chat_answers_with_usage_and_decision_headers(clients: dict[str, openai.OpenAI]) -> None:
    raw = clients["research"].chat.completions.with_raw_response.create(
        model="tiny-medium",
        messages=[{"role": "user", "content": "Hallo, wie geht es?"}],
        max_tokens=8,
        temperature=0.5,
    )
    completion = raw.parse()
    assert completion.model == "tiny-medium"
    assert isinstance(completion.choices[0].message.content, str)
    assert completion.usage is not None
    assert completion.usage.prompt_tokens > 0
    assert 0 < completion.usage.completion_tokens <= 8
    assert raw.headers["x-stellwerk-model"] == "tiny-medium"
    assert "model named in the request" in raw.headers["x-stellwerk-decision"]


def test_stream_passes_chunks_and_reports_usage(clients: dict[str, openai.OpenAI]) -> None:
    stream = clients["research"].chat.completions.create(
        model="tiny-small",
        messages=[{"role": "user", "content": "Count to five."}],
        max_tokens=6,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    content = [c for c in chunks if c.choices and c.choices[0].delta.content]
    assert len(content) >= 1
    usage = chunks[-1].usage
    assert usage is not None and chunks[-1].choices == []
    # llama-cpp-python sends no usage on streams: the gateway counted the streamed tokens
    assert usage.completion_tokens == len(content)
    assert usage.prompt_tokens > 0


def test_stream_without_include_usage_sends_no_usage_chunk(
    clients: dict[str, openai.OpenAI],
) -> None:
    chunks = list(
        clients["research"].chat.completions.create(
            model="tiny-small",
            messages=[{"role": "user", "content": "Hi"}],
            max_tokens=3,
            stream=True,
        )
    )
    assert chunks and all(c.usage is None for c in chunks)
    assert chunks[-1].choices[0].finish_reason in {"stop", "length"}


def test_models_lists_only_what_the_key_may_use(clients: dict[str, openai.OpenAI]) -> None:
    research = {m.id for m in clients["research"].models.list()}
    legal = {m.id for m in clients["legal"].models.list()}
    assert {"tiny-small", "tiny-medium", "tiny-large", "tiny-embed", "auto"} <= research
    assert "tiny-retired" not in research
    assert legal == {"tiny-small", "auto", "auto-economy", "auto-quality"}


def test_a_model_is_retrieved_as_the_list_shows_it(clients: dict[str, openai.OpenAI]) -> None:
    """``models.retrieve``: one entry of ``models.list``; a model the key may not use is a 404
    ``model_not_found`` as an unknown one is, as OpenAI answers (the list hides it too)."""
    research = clients["research"]
    for listed in research.models.list():
        assert research.models.retrieve(listed.id) == listed
    assert research.models.retrieve("auto:latest").id == "auto"
    for department, name in (("legal", "tiny-large"), ("research", "nope"), ("research", "a/b")):
        with pytest.raises(openai.NotFoundError) as info:
            clients[department].models.retrieve(name)
        assert info.value.code == "model_not_found"
        assert f"the model '{name}' does not exist or you do not have access to it" in str(
            info.value
        )
    with pytest.raises(openai.NotFoundError):  # tiny-retired is configured, listed for none
        research.models.retrieve("tiny-retired")


def test_embeddings(clients: dict[str, openai.OpenAI]) -> None:
    result = clients["research"].embeddings.create(model="tiny-embed", input=["eins", "zwei drei"])
    assert len(result.data) == 2
    assert len(result.data[0].embedding) == len(result.data[1].embedding) > 0
    assert result.data[0].embedding != result.data[1].embedding
    assert result.usage.prompt_tokens > 0


def test_embeddings_of_another_size_than_asked_are_refused(
    clients: dict[str, openai.OpenAI],
) -> None:
    """``dimensions`` goes to the backend; llama.cpp cannot shorten the vectors and answers
    them whole: a 400 naming ``dimensions`` and the model's size, never vectors of another size
    than asked. Asked for the model's own size, the answer is served."""
    c = clients["research"]
    size = len(c.embeddings.create(model="tiny-embed", input="eins").data[0].embedding)
    assert size > 8
    with pytest.raises(openai.BadRequestError) as caught:
        c.embeddings.create(model="tiny-embed", input="eins", dimensions=8)
    assert caught.value.param == "dimensions"
    assert f"answers vectors of {size} dimensions" in caught.value.message
    same = c.embeddings.create(model="tiny-embed", input=["eins", "zwei"], dimensions=size)
    assert [len(d.embedding) for d in same.data] == [size, size]


@pytest.mark.parametrize("stream", [False, None])
def test_stream_options_without_a_stream_are_refused(
    clients: dict[str, openai.OpenAI], stream: bool | None
) -> None:
    """As OpenAI: ``stream_options`` only with ``stream: true`` (else ``include_usage`` would
    silently do nothing), on chat completions and completions."""
    c = clients["research"]
    asked: dict[str, object] = {"stream_options": {"include_usage": True}, "max_tokens": 2}
    if stream is not None:
        asked["stream"] = stream
    chat: dict[str, object] = {
        "model": "tiny-small",
        "messages": [{"role": "user", "content": "Hi"}],
    }
    cases: list[tuple[Callable[..., object], dict[str, object]]] = [
        (c.chat.completions.create, chat),
        (c.completions.create, {"model": "tiny-small", "prompt": "Hi"}),
    ]
    for create, body in cases:
        with pytest.raises(openai.BadRequestError) as caught:
            create(**body, **asked)
        assert caught.value.param == "stream_options"
        assert "only allowed when stream is true" in caught.value.message


def test_auto_route_answers_and_says_why(clients: dict[str, openai.OpenAI]) -> None:
    raw = clients["research"].chat.completions.with_raw_response.create(
        model="auto", messages=[{"role": "user", "content": "2+2?"}], max_tokens=4
    )
    assert raw.parse().model in {"tiny-small", "tiny-medium", "tiny-large"}
    assert raw.headers["x-stellwerk-model"] == raw.parse().model
    assert raw.headers["x-stellwerk-decision"].startswith("route=auto; router=")
