"""The tokens' log probabilities (``logprobs``, ``top_logprobs``) reach the client of every
generating endpoint, in its API's own shape, from the real llama.cpp server through the real
``openai`` and ``ollama`` libraries; asked wrongly, they are refused as OpenAI refuses them."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import closing
from typing import Any

import ollama
import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam
from openai.types.responses import Response, ResponseOutputMessage, ResponseOutputText

from stellwerk.gateway.response_schema import ChatCompletion
from tests.fixtures.gateway import KEYS, Gateway, add_ollama_backend, in_process
from tests.fixtures.loopback import OLLAMA_TOKENS, ollama_logprobs_server

pytestmark = pytest.mark.llama

USER: list[ChatCompletionMessageParam] = [
    {"role": "user", "content": "Erzähl mir etwas über Bern."}
]
AUTH = {"authorization": f"Bearer {KEYS['research']}"}


@pytest.fixture
def client(gateway: Gateway) -> Iterator[openai.OpenAI]:
    with gateway.openai(KEYS["research"], max_retries=0) as made:
        yield made


@pytest.fixture
def ollama_client(gateway: Gateway) -> Iterator[ollama.Client]:
    with closing(gateway.ollama(headers=AUTH)) as made:
        yield made


def _assert_tokens(entries: Sequence[Any], text: str, top: int) -> None:
    """The entries are the answer's tokens, each a log probability with ``top`` alternatives
    that are most likely first."""
    assert entries, "no tokens' log probabilities in the answer"
    assert "".join(entry.token for entry in entries) == text
    for entry in entries:
        assert entry.logprob <= 0
        assert len(entry.top_logprobs or ()) == top
        alternatives = [other.logprob for other in entry.top_logprobs or ()]
        assert alternatives == sorted(alternatives, reverse=True)
        assert all(value <= 0 for value in alternatives)


def _first_text(response: Response) -> ResponseOutputText:
    """The first part of the answer's first message, its text."""
    message = response.output[0]
    assert isinstance(message, ResponseOutputMessage)
    part = message.content[0]
    assert isinstance(part, ResponseOutputText)
    return part


@pytest.mark.parametrize("top", [0, 3])
def test_chat_answer_carries_its_tokens_log_probabilities(client: openai.OpenAI, top: int) -> None:
    completion = client.chat.completions.create(
        model="tiny-small", messages=USER, max_tokens=8, seed=3, logprobs=True, top_logprobs=top
    )
    choice = completion.choices[0]
    assert choice.logprobs is not None and choice.logprobs.content is not None
    assert isinstance(choice.message.content, str)
    _assert_tokens(choice.logprobs.content, choice.message.content, top)
    for entry in choice.logprobs.content:
        assert entry.bytes == list(entry.token.encode())
    # the answer is what the gateway's published schema (/openapi.json) says it is
    ChatCompletion.model_validate(completion.model_dump())


def test_logprobs_without_top_logprobs_has_no_alternatives(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(
        model="tiny-small", messages=USER, max_tokens=5, seed=3, logprobs=True
    )
    content = completion.choices[0].logprobs
    assert content is not None and content.content
    assert all(entry.top_logprobs == [] for entry in content.content)


def test_no_logprobs_unless_asked(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(model="tiny-small", messages=USER, max_tokens=4)
    assert completion.choices[0].logprobs is None


def test_streamed_chunks_carry_the_log_probabilities_of_their_text(client: openai.OpenAI) -> None:
    chunks = list(
        client.chat.completions.create(
            model="tiny-small",
            messages=USER,
            max_tokens=8,
            seed=3,
            stream=True,
            logprobs=True,
            top_logprobs=2,
        )
    )
    texts = [c.choices[0] for c in chunks if c.choices and c.choices[0].delta.content]
    assert texts
    for choice in texts:
        assert choice.logprobs is not None and choice.logprobs.content is not None
        assert choice.delta.content is not None
        _assert_tokens(choice.logprobs.content, choice.delta.content, 2)


def test_the_tokens_of_a_stop_sequence_are_not_among_the_answers(client: openai.OpenAI) -> None:
    asked: dict[str, Any] = {
        "model": "tiny-small",
        "messages": USER,
        "max_tokens": 12,
        "temperature": 0,
        "logprobs": True,
        "top_logprobs": 1,
    }
    whole = client.chat.completions.create(**asked).choices[0].message.content
    assert whole is not None and len(whole) > 3
    # a character of the answer not in it before: the server stops there
    place = next(i for i in range(2, len(whole)) if whole[i] not in whole[:i])
    stop, answer = whole[place], whole[:place]
    plain = client.chat.completions.create(**asked, stop=[stop]).choices[0]
    assert plain.message.content == answer
    assert plain.logprobs is not None and plain.logprobs.content is not None
    assert "".join(entry.token for entry in plain.logprobs.content) == answer
    streamed = list(client.chat.completions.create(**asked, stop=[stop], stream=True))
    tokens = [
        entry.token
        for chunk in streamed
        if chunk.choices and chunk.choices[0].logprobs
        for entry in chunk.choices[0].logprobs.content or ()
    ]
    assert "".join(tokens) == answer


def test_a_route_answers_with_the_picked_models_log_probabilities(client: openai.OpenAI) -> None:
    raw = client.chat.completions.with_raw_response.create(
        model="auto", messages=USER, max_tokens=6, seed=3, logprobs=True, top_logprobs=2
    )
    completion = raw.parse()
    assert raw.headers["x-stellwerk-model"] == completion.model
    choice = completion.choices[0]
    assert choice.logprobs is not None and choice.logprobs.content is not None
    _assert_tokens(choice.logprobs.content, choice.message.content or "", 2)


def test_legacy_completion_carries_its_tokens_log_probabilities(client: openai.OpenAI) -> None:
    prompt = "Es war einmal"
    choice = client.completions.create(
        model="tiny-small", prompt=prompt, max_tokens=6, seed=3, logprobs=2
    ).choices[0]
    assert choice.logprobs is not None and choice.logprobs.tokens
    assert "".join(choice.logprobs.tokens) == choice.text
    assert all(value is not None and value <= 0 for value in choice.logprobs.token_logprobs or ())
    assert all(len(top) == 2 for top in choice.logprobs.top_logprobs or ())
    offsets = choice.logprobs.text_offset or []
    assert offsets[0] == len(prompt)  # counted from the prompt's start, as OpenAI counts them
    tokens = choice.logprobs.tokens
    assert all(
        later == offset + len(token)
        for offset, later, token in zip(offsets, offsets[1:], tokens, strict=False)
    )
    streamed = [
        chunk.choices[0]
        for chunk in client.completions.create(
            model="tiny-small", prompt=prompt, max_tokens=6, seed=3, logprobs=1, stream=True
        )
        if chunk.choices and chunk.choices[0].text
    ]
    assert streamed
    for piece in streamed:
        assert piece.logprobs is not None and piece.logprobs.tokens
        assert "".join(piece.logprobs.tokens) == piece.text
        assert all(len(top) == 1 for top in piece.logprobs.top_logprobs or ())


def test_ollama_chat_carries_its_tokens_log_probabilities(ollama_client: ollama.Client) -> None:
    asked: dict[str, Any] = {
        "model": "tiny-small",
        "messages": USER,
        "options": {"num_predict": 8, "seed": 3},
        "logprobs": True,
        "top_logprobs": 2,
    }
    reply = ollama_client.chat(**asked, stream=False)
    assert reply.logprobs is not None
    _assert_tokens(reply.logprobs, reply.message.content or "", 2)
    parts = list(ollama_client.chat(**asked, stream=True))
    for part in parts[:-1]:
        assert part.logprobs is not None
        _assert_tokens(part.logprobs, part.message.content or "", 2)
    assert parts[-1].done and not parts[-1].logprobs


def test_ollama_generate_carries_its_tokens_log_probabilities(
    ollama_client: ollama.Client,
) -> None:
    options = {"num_predict": 6, "seed": 3}
    reply = ollama_client.generate(
        model="tiny-small", prompt="Hallo", options=options, logprobs=True, top_logprobs=1
    )
    assert reply.logprobs is not None
    _assert_tokens(reply.logprobs, reply.response or "", 1)
    raw = ollama_client.generate(
        model="tiny-small", prompt="Es war", raw=True, options=options, logprobs=True
    )
    assert raw.logprobs is not None
    _assert_tokens(raw.logprobs, raw.response or "", 0)
    streamed = list(
        ollama_client.generate(
            model="tiny-small", prompt="Hallo", options=options, logprobs=True, stream=True
        )
    )
    texts = [part for part in streamed if part.response]
    assert texts and all(part.logprobs for part in texts)


def test_ollama_answers_without_logprobs_unless_asked(ollama_client: ollama.Client) -> None:
    reply = ollama_client.chat(model="tiny-small", messages=USER, options={"num_predict": 3})
    assert reply.logprobs is None


@pytest.mark.parametrize(
    ("extra", "why"),
    [
        ({"top_logprobs": 2}, "only allowed when logprobs is true"),
        ({"logprobs": False, "top_logprobs": 0}, "only allowed when logprobs is true"),
        ({"logprobs": True, "top_logprobs": 21}, "less than or equal to 20"),
        ({"logprobs": True, "top_logprobs": -1}, "greater than or equal to 0"),
    ],
)
def test_openai_refuses_top_logprobs_asked_wrongly(
    offline_gateway: Gateway, extra: dict[str, Any], why: str
) -> None:
    with offline_gateway.openai(KEYS["research"], max_retries=0) as made:
        for stream in (False, True):
            with pytest.raises(openai.BadRequestError, match=why) as caught:
                made.chat.completions.create(
                    model="tiny-small", messages=USER, stream=stream, extra_body=extra
                )
            assert isinstance(caught.value.body, dict)
            assert caught.value.body["param"] == "top_logprobs"


#: the one refusal of alternatives asked for without their tokens' log probabilities
WITHOUT_LOGPROBS = (
    "top_logprobs is only allowed when logprobs is true; send logprobs: true, or leave"
    " top_logprobs out"
)


@pytest.mark.parametrize(
    "asked",
    [{"top_logprobs": 3}, {"logprobs": False, "top_logprobs": 1}, {"top_logprobs": 0}],
    ids=["without-logprobs", "logprobs-false", "zero"],
)
def test_alternatives_without_logprobs_are_refused_alike_by_both_apis(
    offline_gateway: Gateway, asked: dict[str, Any]
) -> None:
    """One rule, one wording: OpenAI's chat and Ollama's chat and generate refuse
    ``top_logprobs`` without ``logprobs: true``; a 0 only on OpenAI's API (on Ollama's it is
    the default that clients sending every field send, and asks for nothing)."""
    with (
        offline_gateway.openai(KEYS["research"], max_retries=0) as client,
        pytest.raises(openai.BadRequestError) as refused,
    ):
        client.chat.completions.create(model="tiny-small", messages=USER, extra_body=asked)
    assert isinstance(refused.value.body, dict)
    assert (refused.value.body["param"], refused.value.body["message"]) == (
        "top_logprobs",
        WITHOUT_LOGPROBS,
    )
    if asked.get("top_logprobs") == 0:  # Ollama's API takes it: test_ollama_takes_its_default
        return
    with closing(offline_gateway.ollama(headers=AUTH)) as made:
        with pytest.raises(ollama.ResponseError) as caught:
            made.chat(model="tiny-small", messages=USER, stream=False, **asked)
        assert (caught.value.status_code, caught.value.error) == (400, WITHOUT_LOGPROBS)
        with pytest.raises(ollama.ResponseError) as caught:
            made.generate(model="tiny-small", prompt="Hallo", stream=False, **asked)
        assert (caught.value.status_code, caught.value.error) == (400, WITHOUT_LOGPROBS)


def test_ollama_takes_its_default_top_logprobs_zero(ollama_client: ollama.Client) -> None:
    """``top_logprobs: 0`` without ``logprobs`` is Ollama's default (sent by clients that send
    every field): answered, without log probabilities."""
    options = {"num_predict": 3}
    chatted = ollama_client.chat(model="tiny-small", messages=USER, options=options, top_logprobs=0)
    generated = ollama_client.generate(
        model="tiny-small", prompt="Hallo", options=options, top_logprobs=0
    )
    assert (chatted.logprobs, generated.logprobs) == (None, None)
    assert chatted.done and generated.done


def test_ollama_refuses_alternatives_out_of_range(offline_gateway: Gateway) -> None:
    for path, body in (("/api/chat", {"messages": USER}), ("/api/generate", {"prompt": "Hallo"})):
        asked = {"model": "tiny-small", "logprobs": True, "top_logprobs": 21, **body}
        response = offline_gateway.post(path, json=asked, headers=AUTH)
        assert response.status_code == 400
        assert response.json()["error"].startswith("top_logprobs")


def test_an_ollama_backends_log_probabilities_reach_both_apis(gateway_raw: dict[str, Any]) -> None:
    answer = "".join(token for token, _, _ in OLLAMA_TOKENS)
    alternatives = [[other for other, _ in top[:2]] for _, _, top in OLLAMA_TOKENS]
    asked: dict[str, Any] = {"model": "ollama-small", "messages": USER}
    with ollama_logprobs_server() as upstream:
        add_ollama_backend(gateway_raw, upstream.url, "ollama-small", like=0)
        with (
            in_process(gateway_raw) as gw,
            gw.openai(KEYS["research"], max_retries=0) as client,
            closing(gw.ollama(headers=AUTH)) as ollama_client,
        ):
            chat = client.chat.completions.create(**asked, logprobs=True, top_logprobs=2)
            chunks = list(
                client.chat.completions.create(**asked, logprobs=True, top_logprobs=2, stream=True)
            )
            plain = ollama_client.chat(**asked, logprobs=True, top_logprobs=2, stream=False)
            parts = list(ollama_client.chat(**asked, logprobs=True, stream=True))
            generated = ollama_client.generate(
                model="ollama-small", prompt="Hallo", logprobs=True, top_logprobs=1
            )
            unasked = ollama_client.chat(**asked, stream=False)
    sent = [(body.get("logprobs"), body.get("top_logprobs")) for body in upstream.bodies]
    assert sent == [(True, 2), (True, 2), (True, 2), (True, 0), (True, 1), (None, None)]
    entries = (chat.choices[0].logprobs and chat.choices[0].logprobs.content) or []
    _assert_tokens(entries, answer, 2)
    assert [[other.token for other in entry.top_logprobs] for entry in entries] == alternatives
    assert entries[0].bytes == list("Grüe".encode())
    streamed = [c.choices[0].logprobs for c in chunks if c.choices and c.choices[0].logprobs]
    assert [entry.token for lp in streamed for entry in lp.content or ()] == [
        token for token, _, _ in OLLAMA_TOKENS
    ]
    assert plain.logprobs is not None
    _assert_tokens(plain.logprobs, answer, 2)
    assert "".join(entry.token for part in parts for entry in part.logprobs or ()) == answer
    assert all(not entry.top_logprobs for part in parts for entry in part.logprobs or ())
    assert generated.logprobs is not None
    _assert_tokens(generated.logprobs, generated.response or "", 1)
    assert unasked.logprobs is None


def test_responses_include_the_texts_log_probabilities(client: openai.OpenAI) -> None:
    asked: dict[str, Any] = {
        "model": "tiny-small",
        "input": "Erzähl mir etwas über Bern.",
        "max_output_tokens": 8,
        "include": ["message.output_text.logprobs"],
        "top_logprobs": 2,
        "extra_body": {"seed": 3},
    }
    response = client.responses.create(**asked)
    part = _first_text(response)
    assert part.type == "output_text"
    _assert_tokens(part.logprobs or [], part.text, 2)
    with client.responses.stream(**asked) as stream:
        deltas = [event for event in stream if event.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert deltas
    for event in deltas:
        _assert_tokens(event.logprobs, event.delta, 2)
    streamed = _first_text(final)
    assert streamed.type == "output_text"
    _assert_tokens(streamed.logprobs or [], streamed.text, 2)
    unasked = client.responses.create(model="tiny-small", input="Hallo", max_output_tokens=3)
    assert _first_text(unasked).logprobs == []


def test_an_ollama_backend_is_sent_the_context_as_the_cap_of_an_uncapped_request(
    gateway_raw: dict[str, Any],
) -> None:
    """Without a cap (none given, or Ollama's num_predict -1), Ollama shifts its context and
    generates on, up to ten times it: past what the gateway reserved for the request (an
    answer of at most the context). It is sent the model's context as num_predict, on both
    APIs, plain and streamed; a cap the client gave is sent as given (walk14)."""
    with ollama_logprobs_server() as upstream:
        add_ollama_backend(gateway_raw, upstream.url, "ollama-small", like=0)
        context = next(m for m in gateway_raw["models"] if m["id"] == "ollama-small")[
            "context_length"
        ]
        with (
            in_process(gateway_raw) as gw,
            gw.openai(KEYS["research"], max_retries=0) as client,
            closing(gw.ollama(headers=AUTH)) as ollama_client,
        ):
            client.chat.completions.create(model="ollama-small", messages=USER)
            list(client.chat.completions.create(model="ollama-small", messages=USER, stream=True))
            ollama_client.chat(model="ollama-small", messages=USER, options={"num_predict": -1})
            ollama_client.generate(model="ollama-small", prompt="Bern?")
            client.chat.completions.create(model="ollama-small", messages=USER, max_tokens=7)
    sent = [body.get("options", {}).get("num_predict") for body in upstream.bodies]
    assert sent == [context] * 4 + [7], sent
