"""A parameter the gateway does not know is refused on the OpenAI endpoints, in OpenAI's words,
unless the operator lets it pass to a backend (``backends[].pass_params``); then it reaches that
backend as sent, and a routed request carrying it goes only to a model whose backend allows it.

The real ``openai`` library (its ``extra_body``) and LangChain's ``ChatOpenAI`` talk to the
gateway in front of the real llama.cpp server, watched through a recording proxy; the second
backend of a route stands for a vLLM (``passthrough_server``)."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam

from tests.fixtures.gateway import KEYS, Gateway, in_process
from tests.fixtures.llama import LlamaBackend
from tests.fixtures.loopback import ANSWER, Recorded, passthrough_server
from tests.fixtures.watched import bodies_to, watched

pytestmark = pytest.mark.llama

USER: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Hallo"}]
GENERATING = ("/v1/chat/completions", "/v1/completions", "/v1/responses")

Ask = Callable[[openai.OpenAI, bool, dict[str, Any]], Any]
#: one request of each chat-shaped endpoint, plain or streamed, with ``extra`` in its body
ASKS: dict[str, Ask] = {
    "chat": lambda client, stream, extra: client.chat.completions.create(
        model="tiny-small", messages=USER, max_tokens=2, stream=stream, extra_body=extra
    ),
    "completions": lambda client, stream, extra: client.completions.create(
        model="tiny-small", prompt="Hallo", max_tokens=2, stream=stream, extra_body=extra
    ),
    "responses": lambda client, stream, extra: client.responses.create(
        model="tiny-small", input="Hallo", max_output_tokens=16, stream=stream, extra_body=extra
    ),
}


def _refusal(caught: pytest.ExceptionInfo[openai.BadRequestError], name: str) -> str:
    error = caught.value.body
    assert isinstance(error, dict)
    assert (error["param"], error["code"]) == (name, "unknown_parameter"), error
    message: str = error["message"]
    assert message.startswith(f"Unrecognized request argument supplied: {name} ("), message
    assert "backends[].pass_params" in message
    return message


@pytest.mark.parametrize("endpoint", list(ASKS))
def test_a_parameter_the_gateway_does_not_know_is_refused_naming_it(
    gateway_raw: dict[str, Any], llama_server: LlamaBackend, endpoint: str
) -> None:
    """llama.cpp's ``n_keep`` (what it keeps of the prompt when the context is full), passed
    on, would have been acted on unchecked: refused, plain and streamed, and never sent."""
    with (
        watched(gateway_raw, llama_server.base_url) as (gw, proxy),
        gw.openai(KEYS["research"], max_retries=0) as client,
    ):
        for stream in (False, True):
            with pytest.raises(openai.BadRequestError) as caught:
                ASKS[endpoint](client, stream, {"n_keep": 4})
            _refusal(caught, "n_keep")
            assert caught.value.status_code == 400
    assert bodies_to(proxy, "/v1/chat/completions", "/v1/completions") == []


def test_an_embedding_parameter_the_gateway_does_not_know_is_refused(
    gateway_raw: dict[str, Any], llama_server: LlamaBackend
) -> None:
    with (
        watched(gateway_raw, llama_server.base_url) as (gw, proxy),
        gw.openai(KEYS["research"], max_retries=0) as client,
        pytest.raises(openai.BadRequestError) as caught,
    ):
        client.embeddings.create(
            model="tiny-embed", input="Hallo", extra_body={"embd_normalize": 2}
        )
    _refusal(caught, "embd_normalize")
    assert bodies_to(proxy, "/v1/embeddings") == []


#: what Open WebUI sends of a model's advanced parameters, by llama.cpp's names: known, checked
ADVANCED = {"top_k": 20, "repeat_penalty": 1.1, "mirostat": 0, "repeat_last_n": 64}
ADVANCED |= {"dry_multiplier": 0.0, "xtc_probability": 0.0, "dynatemp_range": 0.0}


@pytest.mark.parametrize("endpoint", list(ASKS))
def test_what_the_operator_allows_reaches_the_backend_as_sent(
    gateway_raw: dict[str, Any], llama_server: LlamaBackend, endpoint: str
) -> None:
    """With ``pass_params: [n_keep]`` the parameter goes to the server as the client sent it,
    beside the open-model sampling parameters the gateway knows; ``null`` asks for nothing."""
    extra = {**ADVANCED, "n_keep": 4, "t_max_predict_ms": None}
    with (
        watched(gateway_raw, llama_server.base_url, "n_keep") as (gw, proxy),
        gw.openai(KEYS["research"], max_retries=0) as client,
    ):
        for stream in (False, True):
            answer = ASKS[endpoint](client, stream, extra)
            if stream:
                assert list(answer)
    sent = bodies_to(proxy, "/v1/chat/completions", "/v1/completions")
    assert len(sent) >= 2
    for body in sent:
        assert {k: body.get(k) for k in ADVANCED} == ADVANCED, body
        assert body["n_keep"] == 4 and "t_max_predict_ms" not in body


def test_an_embedding_parameter_the_operator_allows_reaches_the_backend(
    gateway_raw: dict[str, Any], llama_server: LlamaBackend
) -> None:
    with (
        watched(gateway_raw, llama_server.base_url, "embd_normalize") as (gw, proxy),
        gw.openai(KEYS["research"], max_retries=0) as client,
    ):
        made = client.embeddings.create(
            model="tiny-embed", input="Hallo", extra_body={"embd_normalize": 2, "truncate": True}
        )
    assert made.data and made.data[0].embedding
    (sent,) = bodies_to(proxy, "/v1/embeddings")
    assert sent["embd_normalize"] == 2


RESEARCH = {"authorization": f"Bearer {KEYS['research']}"}
LEGAL = {"authorization": f"Bearer {KEYS['legal']}"}  # may use tiny-small only


@contextmanager
def two_backends(raw: dict[str, Any]) -> Iterator[tuple[Gateway, Recorded]]:
    """``auto`` ranks ``tiny-small`` (llama.cpp, allows nothing) before ``vllm-small`` (a
    stand-in for vLLM whose operator lets ``chat_template_kwargs`` pass)."""
    raw = copy.deepcopy(raw)
    with passthrough_server() as vllm:
        raw["backends"].append(
            {"name": "vllm", "kind": "openai", "base_url": vllm.url,
             "pass_params": ["chat_template_kwargs"]}
        )  # fmt: skip
        small = raw["models"][0]
        raw["models"].append({**small, "id": "vllm-small", "backend": "vllm", "upstream": "s"})
        with in_process(raw) as gw:
            yield gw, vllm


THINKING = {"chat_template_kwargs": {"enable_thinking": False}}


def test_a_routed_request_goes_to_a_model_whose_backend_allows_its_parameter(
    gateway_raw: dict[str, Any],
) -> None:
    with two_backends(gateway_raw) as (gw, vllm), gw.openai(KEYS["research"]) as client:
        plain = client.chat.completions.with_raw_response.create(
            model="auto", messages=USER, max_tokens=2, extra_body=THINKING
        )
        streamed = client.chat.completions.with_raw_response.create(
            model="auto", messages=USER, max_tokens=2, stream=True, extra_body=THINKING
        )
        chunks = list(streamed.parse())
        without = client.chat.completions.with_raw_response.create(
            model="auto", messages=USER, max_tokens=2
        )
    skipped = "tiny-small,tiny-medium,tiny-large"  # llama.cpp's models, ranked first
    for response in (plain, streamed):
        assert response.headers["x-stellwerk-model"] == "vllm-small"
        assert response.headers["x-stellwerk-fallback-from"] == skipped
    assert plain.parse().choices[0].message.content == ANSWER
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == ANSWER
    assert [b["chat_template_kwargs"] for b in vllm.bodies] == [{"enable_thinking": False}] * 2
    # without the parameter the route's first choice answers, as before
    assert without.headers["x-stellwerk-model"] == "tiny-small"


@pytest.mark.parametrize(
    ("model", "headers", "extra", "said"),
    [
        ("tiny-small", RESEARCH, THINKING, "(this gateway passes on"),
        ("auto", LEGAL, THINKING, "(not passed on to the backend of model 'tiny-small'"),
        ("auto", RESEARCH, {"n_keep": 4}, "(this gateway passes on"),
    ],
    ids=["named-model-not-allowed", "no-candidate-left", "no-backend-allows-it"],
)
def test_without_a_model_whose_backend_allows_it_the_parameter_is_refused(
    gateway_raw: dict[str, Any],
    model: str,
    headers: dict[str, str],
    extra: dict[str, Any],
    said: str,
) -> None:
    with two_backends(gateway_raw) as (gw, vllm):
        response = gw.post(
            "/v1/chat/completions",
            json={"model": model, "messages": USER, "max_tokens": 2, **extra},
            headers=headers,
        )
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    (name,) = extra
    assert (error["param"], error["code"]) == (name, "unknown_parameter")
    assert error["message"].startswith(f"Unrecognized request argument supplied: {name} {said}")
    assert vllm.bodies == []


def test_langchain_works_with_its_defaults_and_its_extra_body_meets_the_rule(
    gateway: Gateway,
) -> None:
    """LangChain's ``ChatOpenAI`` sends what OpenAI's API has (``stream_options`` when it
    streams): invoked and streamed it works as it is; a parameter the caller adds through its
    ``extra_body`` is refused as OpenAI would refuse it."""
    from langchain_openai import ChatOpenAI

    def chat(**options: Any) -> ChatOpenAI:
        return ChatOpenAI(
            model="tiny-small",
            base_url=gateway.openai_url,
            api_key=KEYS["research"],
            http_client=gateway.client(),
            max_retries=0,
            max_tokens=4,
            **options,
        )

    assert chat().invoke("Hallo").content
    streamed = list(chat(stream_usage=True).stream("Hallo"))
    assert "".join(str(chunk.content) for chunk in streamed)
    assert any(chunk.usage_metadata for chunk in streamed)  # it sent stream_options
    with pytest.raises(openai.BadRequestError) as caught:
        chat(extra_body={"n_keep": 4}).invoke("Hallo")
    _refusal(caught, "n_keep")


def test_several_parameters_the_gateway_does_not_know_are_named_together(
    offline_gateway: Gateway,
) -> None:
    """All of them in one refusal (the first as ``param``), so a client fixes them at once; a
    ``null`` one asks for nothing and is not named."""
    body = {"model": "auto", "messages": USER, "n_keep": 1, "samplers": ["top_k"], "x": None}
    response = offline_gateway.post("/v1/chat/completions", json=body, headers=RESEARCH)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert (error["param"], error["code"]) == ("n_keep", "unknown_parameter")
    assert error["message"].startswith(
        "Unrecognized request arguments supplied: n_keep, samplers ("
    )
    assert error["message"].endswith("leave them out, or ask the gateway's operator to allow them)")


def test_a_flood_of_unknown_parameters_is_named_ten_at_most(offline_gateway: Gateway) -> None:
    """walk16 W16-2: a body of 380,000 short unknown names got a refusal of 2.6 MB naming each."""
    names = [f"p{i}" for i in range(2000)]
    body = {"model": "auto", "messages": USER, **dict.fromkeys(names, 1)}
    response = offline_gateway.post("/v1/chat/completions", json=body, headers=RESEARCH)
    assert response.status_code == 400, response.text
    message = response.json()["error"]["message"]
    said = ", ".join(names[:10]) + " and 1990 more ("
    assert message.startswith("Unrecognized request arguments supplied: " + said), message[:300]
    assert len(message) < 1000
