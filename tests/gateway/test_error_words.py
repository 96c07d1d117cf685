"""Refusals in words the clients act on: a prompt over the context in the words client libraries
map to their context-overflow errors (litellm's ``ContextWindowExceededError``, LangChain's
``ContextOverflowError``), for a model named and for a route; a budget the request's bound does
not fit, told apart from a budget spent; a limit naming the parameter the client sent."""

from __future__ import annotations

import re
from contextlib import closing
from decimal import Decimal
from typing import Any, TypedDict

import ollama
import openai
import pytest
from openai.types.chat import ChatCompletionContentPartParam, ChatCompletionMessageParam

from tests.fixtures.gateway import KEYS, Gateway, in_process


def _said(error: openai.APIStatusError) -> str:
    """The gateway's message (the library's own ``message`` puts the status before it)."""
    assert isinstance(error.body, dict)
    message = error.body["message"]
    assert isinstance(message, str)
    return message


#: "wort " 3,000 times: 15,000 characters, a token each on the tiny models (a byte-level
#: vocabulary), about 3,750 tokens by the router's four characters a token
OVER = "wort " * 3000
#: the words litellm (``this model's maximum context length is``, ``prompt is too long``) and
#: LangChain's ChatOpenAI (``prompt is too long``) recognise a context overflow by
KNOWN = ("This model's maximum context length is", "prompt is too long")


def _ollama_error(client: ollama.Client, **request: Any) -> ollama.ResponseError:
    with pytest.raises(ollama.ResponseError) as caught:
        client.chat(**request, stream=False)
    return caught.value


@pytest.mark.llama
def test_a_prompt_over_a_named_models_context_says_so_in_words_clients_know(
    gateway: Gateway,
) -> None:
    with (
        gateway.openai(KEYS["research"], max_retries=0) as client,
        pytest.raises(openai.BadRequestError) as caught,
    ):
        client.chat.completions.create(
            model="tiny-small", messages=[{"role": "user", "content": OVER}], max_tokens=4
        )
    assert caught.value.code == "context_length_exceeded"
    assert caught.value.param == "messages"
    message = _said(caught.value)
    assert all(words in message for words in KNOWN), message
    counted = re.search(r"too long: (\d+) tokens \(backend 'llamacpp'\)", message)
    assert counted is not None, message
    assert int(counted.group(1)) > 15_000  # the backend's count, not an estimate
    assert "maximum context length is 1024 tokens" in message

    with closing(gateway.ollama(KEYS["research"])) as c:
        error = _ollama_error(c, model="tiny-small", messages=[{"role": "user", "content": OVER}])
    assert (error.status_code, error.error) == (400, message)


@pytest.mark.parametrize("api", ["openai", "ollama"])
def test_a_prompt_over_every_routed_models_context_is_context_length_exceeded(
    offline_gateway: Gateway, api: str
) -> None:
    """Refused before any backend: no model the route may go to has the context (the router's
    estimate, worded as one), not that none could serve it at all."""
    messages: list[ChatCompletionMessageParam] = [{"role": "user", "content": OVER}]
    if api == "openai":
        with (
            offline_gateway.openai(KEYS["research"], max_retries=0) as client,
            pytest.raises(openai.BadRequestError) as caught,
        ):
            client.chat.completions.create(model="auto", messages=messages, max_tokens=4)
        assert (caught.value.code, caught.value.param) == ("context_length_exceeded", "messages")
        message = _said(caught.value)
    else:
        with closing(offline_gateway.ollama(KEYS["research"])) as c:
            error = _ollama_error(c, model="auto", messages=messages)
        assert error.status_code == 400
        message = error.error
    assert all(words in message for words in KNOWN), message
    # the three models' contexts are alike: none is named "the largest"
    assert message.startswith(
        "This model's maximum context length is 1024 tokens (each of the 3 models allowed for"
        " department 'research' that can serve this request)"
    )
    assert "about 3750 tokens, estimated at four characters a token" in message


def _over_context(client: openai.OpenAI, endpoint: str, model: str) -> openai.BadRequestError:
    """The refusal of a prompt over the context, sent as ``endpoint``'s body holds it."""
    with pytest.raises(openai.BadRequestError) as caught:
        if endpoint == "completions":
            client.completions.create(model=model, prompt=OVER, max_tokens=4)
        elif endpoint == "responses":
            client.responses.create(model=model, input=OVER, max_output_tokens=4)
        else:
            client.chat.completions.create(
                model=model, messages=[{"role": "user", "content": OVER}], max_tokens=4
            )
    return caught.value


#: each endpoint's field that holds the prompt, which its context refusal names
PROMPT_FIELD = {"completions": "prompt", "responses": "input", "chat": "messages"}


@pytest.mark.llama
@pytest.mark.parametrize("endpoint", list(PROMPT_FIELD))
def test_a_backends_context_refusal_names_the_bodys_own_field(
    gateway: Gateway, endpoint: str
) -> None:
    """The backend's refusal (its count of the prompt) names the field the client sent: a
    text completion's ``prompt`` and a response's ``input``, not chat's ``messages``."""
    with gateway.openai(KEYS["research"], max_retries=0) as client:
        refused = _over_context(client, endpoint, "tiny-small")
    assert (refused.code, refused.param) == ("context_length_exceeded", PROMPT_FIELD[endpoint])
    assert "(backend 'llamacpp')" in _said(refused)


@pytest.mark.parametrize("endpoint", ["completions", "responses"])
def test_a_long_prompt_on_a_route_names_the_bodys_own_field(
    offline_gateway: Gateway, endpoint: str
) -> None:
    with offline_gateway.openai(KEYS["research"], max_retries=0) as client:
        refused = _over_context(client, endpoint, "auto")
    assert (refused.code, refused.param) == ("context_length_exceeded", PROMPT_FIELD[endpoint])
    assert "allowed for department 'research'" in _said(refused)


@pytest.mark.parametrize(
    ("instructions", "prompt", "named"),
    [(OVER, "Hi", "instructions"), ("Answer briefly.", OVER, "input")],
    ids=["long-instructions", "long-input"],
)
def test_a_long_prompt_of_a_response_names_the_field_that_holds_most_of_it(
    offline_gateway: Gateway, instructions: str, prompt: str, named: str
) -> None:
    """Over-long ``instructions`` were named ``input``: the refusal names the field of the
    body that holds the larger part of the prompt."""
    with (
        offline_gateway.openai(KEYS["research"], max_retries=0) as client,
        pytest.raises(openai.BadRequestError) as caught,
    ):
        client.responses.create(
            model="auto", instructions=instructions, input=prompt, max_output_tokens=4
        )
    assert (caught.value.code, caught.value.param) == ("context_length_exceeded", named)


def test_too_many_messages_of_a_response_says_the_instructions_count_too(
    offline_gateway: Gateway,
) -> None:
    """1000 input items (the limit) with ``instructions`` were told as "1001 messages" as if
    the input held them: the refusal says where the one more came from."""
    items: Any = [{"role": "user", "content": "Hi"}] * 1000
    with offline_gateway.openai(KEYS["research"], max_retries=0) as client:
        with pytest.raises(openai.BadRequestError) as caught:
            client.responses.create(model="tiny-small", instructions="Be brief.", input=items)
        assert (caught.value.code, caught.value.param) == ("too_many_messages", "input")
        assert _said(caught.value) == (
            "too many messages: 1001 (limit 1000); 1000 of them from input and one from"
            " instructions"
        )
        with pytest.raises(openai.BadRequestError) as caught:
            client.responses.create(model="tiny-small", input=[*items, items[0]])
        assert _said(caught.value) == "too many messages: 1001 (limit 1000)"


def test_no_capable_model_counts_only_the_chat_models(offline_gateway: Gateway) -> None:
    picture: list[ChatCompletionContentPartParam] = [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
    ]
    with (
        offline_gateway.openai(KEYS["research"], max_retries=0) as client,
        pytest.raises(openai.BadRequestError) as caught,
    ):
        client.chat.completions.create(
            model="auto", messages=[{"role": "user", "content": picture}], max_tokens=4
        )
    assert (caught.value.code, caught.value.param) == ("no_capable_model", "model")
    assert _said(caught.value) == (
        "none of the 3 chat models allowed for department 'research' can serve this request"
        " (needs: chat, vision)"
    )  # tiny-embed, allowed too, is not counted


OVER_LIMIT = 40_000  # server.limits.max_tokens is 32,768 by default


class Caps(TypedDict, total=False):
    """The caps on an answer the ``openai`` client sends."""

    max_tokens: int
    max_completion_tokens: int


@pytest.mark.parametrize(
    ("sent", "named"),
    [
        ({"max_tokens": OVER_LIMIT}, "max_tokens"),
        ({"max_completion_tokens": OVER_LIMIT}, "max_completion_tokens"),
        ({"max_tokens": OVER_LIMIT, "max_completion_tokens": 5}, "max_tokens"),  # the one read
    ],
)
def test_a_cap_over_the_limit_is_named_as_the_openai_client_sent_it(
    offline_gateway: Gateway, sent: Caps, named: str
) -> None:
    with (
        offline_gateway.openai(KEYS["research"], max_retries=0) as client,
        pytest.raises(openai.BadRequestError) as caught,
    ):
        client.chat.completions.create(
            model="tiny-small", messages=[{"role": "user", "content": "Hi"}], **sent
        )
    assert caught.value.param == named
    assert _said(caught.value) == f"{named} {OVER_LIMIT} is over the limit of 32768"


def test_a_cap_over_the_limit_is_named_as_the_responses_and_ollama_clients_sent_it(
    offline_gateway: Gateway,
) -> None:
    with (
        offline_gateway.openai(KEYS["research"], max_retries=0) as client,
        pytest.raises(openai.BadRequestError) as caught,
    ):
        client.responses.create(model="tiny-small", input="Hi", max_output_tokens=OVER_LIMIT)
    assert caught.value.param == "max_output_tokens"
    assert _said(caught.value) == f"max_output_tokens {OVER_LIMIT} is over the limit of 32768"

    with closing(offline_gateway.ollama(KEYS["research"])) as c:
        for endpoint in ("chat", "generate"):
            with pytest.raises(ollama.ResponseError) as refused:
                options = {"num_predict": OVER_LIMIT}
                if endpoint == "chat":
                    c.chat(model="tiny-small", messages=[{"role": "user", "content": "Hi"}],
                           options=options, stream=False)  # fmt: skip
                else:
                    c.generate(model="tiny-small", prompt="Hi", options=options, stream=False)
            assert refused.value.status_code == 400
            assert refused.value.error == (
                f"options.num_predict {OVER_LIMIT} is over the limit of 32768"
            )


#: above a short request with a short answer (about 0.00001 on tiny-small), below one whose
#: answer may fill the model's context (about 0.0003)
BUDGET = "0.00005"


def _budgeted(raw: dict[str, Any], scope: str) -> dict[str, Any]:
    research = next(d for d in raw["departments"] if d["name"] == "research")
    if scope == "department":
        research["limits"] = {"monthly_budget": BUDGET}
    else:
        research["keys"] = [{**research["keys"][0], "limits": {"monthly_budget": BUDGET}}]
    return raw


def _over_bound(message: str, label: str) -> Decimal:
    """The request's bound a refusal names, checking that it tells the budget's rest, not a
    budget reached."""
    found = re.fullmatch(
        rf"{label}: this request may cost up to (\d+\.\d{{6}})(?: \(.*\))?, more than the"
        rf" (\d+\.\d{{6}}) left of the monthly budget of {BUDGET}0 \((\d+\.\d{{6}}) spent or"
        r" reserved\); resets at .*",
        message,
    )
    assert found is not None, message
    bound, left, spent = (Decimal(group) for group in found.groups())
    assert left + spent == Decimal(BUDGET) and bound > left
    return bound


@pytest.mark.llama
@pytest.mark.parametrize("scope", ["department", "key"])
def test_a_request_whose_bound_does_not_fit_the_budget_says_so_and_how_to_lower_it(
    gateway_raw: dict[str, Any], scope: str
) -> None:
    label = "department 'research'" if scope == "department" else "key 'research-1'"
    hi: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Hi"}]
    with in_process(_budgeted(gateway_raw, scope)) as gw:
        with gw.openai(KEYS["research"], max_retries=0) as client:
            with pytest.raises(openai.RateLimitError) as caught:
                client.chat.completions.create(model="tiny-small", messages=hi)
            assert caught.value.code == "budget_exceeded"
            assert int(caught.value.response.headers["retry-after"]) > 0
            message = _said(caught.value)
            assert _over_bound(message, label) > Decimal(BUDGET)
            assert "(its answer is bounded only by the model's context; set max_tokens to" in (
                message
            )
            with pytest.raises(openai.RateLimitError) as newer:
                client.chat.completions.create(model="auto", messages=hi)
            assert "set max_tokens to lower it" in _said(newer.value)
            with pytest.raises(openai.RateLimitError) as capped:
                client.chat.completions.create(model="tiny-small", messages=hi, max_tokens=1000)
            assert "(its answer" not in _said(capped.value)  # it set one
            _over_bound(_said(capped.value), label)
            # as the refusal says: with a cap on the answer it fits
            served = client.chat.completions.create(model="tiny-small", messages=hi, max_tokens=4)
            assert served.choices

        with closing(gw.ollama(KEYS["research"])) as c:
            error = _ollama_error(c, model="tiny-small", messages=hi)
            assert error.status_code == 429
            assert "set options.num_predict to lower it" in error.error
            _over_bound(error.error, label)
            answer = c.chat(model="tiny-small", messages=hi, options={"num_predict": 4})
            assert answer.done
