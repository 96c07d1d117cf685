"""Legacy text completions (``client.completions``) through the gateway to the real llama.cpp
server, for models with the ``completion`` capability only."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import openai
import pytest

from tests.fixtures.gateway import KEYS, Gateway, in_process

pytestmark = pytest.mark.llama


@pytest.fixture
def client(gateway: Gateway) -> Iterator[openai.OpenAI]:
    with gateway.openai(KEYS["research"], max_retries=0) as made:
        yield made


def test_completion_through_auto_goes_to_a_completion_model(client: openai.OpenAI) -> None:
    raw = client.completions.with_raw_response.create(
        model="auto", prompt="Es war einmal", max_tokens=5
    )
    completion = raw.parse()
    assert completion.object == "text_completion"
    assert completion.model == "tiny-small"  # the only model with the completion capability
    assert raw.headers["x-stellwerk-decision"].startswith("route=auto; router=")
    assert isinstance(completion.choices[0].text, str)
    assert completion.choices[0].finish_reason in ("stop", "length")
    assert completion.usage is not None
    assert completion.usage.prompt_tokens > 0
    assert 0 < completion.usage.completion_tokens <= 5


def test_streamed_completion_counts_as_the_plain_one(client: openai.OpenAI) -> None:
    plain = client.completions.create(model="tiny-small", prompt="Es war einmal", max_tokens=4)
    chunks = list(
        client.completions.create(
            model="auto",
            prompt="Es war einmal",
            max_tokens=4,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    pieces = [c for c in chunks if c.choices and c.choices[0].text]
    assert pieces and all(c.model == "tiny-small" for c in chunks)
    usage = chunks[-1].usage
    assert usage is not None and chunks[-1].choices == []
    assert usage.completion_tokens == len(pieces)
    assert plain.usage is not None
    assert usage.prompt_tokens == plain.usage.prompt_tokens


def test_a_model_without_the_capability_is_refused(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError, match="completion"):
        client.completions.create(model="tiny-medium", prompt="Hallo", max_tokens=2)


def test_a_suffix_is_refused_by_name_as_on_api_generate(client: openai.OpenAI) -> None:
    """The model servers do not fill in the middle at ``/v1/completions`` (llama-cpp-python
    wraps the prompt in token id 0): a ``suffix`` is a 400 naming it, as ``/api/generate`` gives;
    an empty one is absent, and the completion is made."""
    for stream in (False, True):
        with pytest.raises(openai.BadRequestError) as caught:
            client.completions.create(
                model="tiny-small",
                prompt="def gcd(a, b):\n",
                suffix="\n    return a",
                max_tokens=4,
                stream=stream,
            )
        error = caught.value.body
        assert isinstance(error, dict)
        assert (error["param"], error["code"]) == ("suffix", "invalid_request")
        assert error["message"].startswith("suffix: inserting a completion before a suffix")
    made = client.completions.create(model="tiny-small", prompt="Hallo", suffix="", max_tokens=2)
    assert made.choices[0].finish_reason in ("stop", "length")


#: walk21 F10: token ids were told pydantic's "Input should be a valid string" once per id
TOKEN_IDS = "prompt: token ids are not supported; send the prompt as text, a string"


@pytest.mark.parametrize(
    ("prompt", "param", "said"),
    [
        (["eins", "zwei"], "prompt", "prompt: one prompt per request, not 2"),
        ([1, 2, 3], "prompt", TOKEN_IDS),
        ([[1, 2], [3]], "prompt", TOKEN_IDS),
        ("", "prompt", "prompt must not be empty"),
    ],
)
def test_prompts_it_cannot_take(
    offline_gateway: Gateway, prompt: Any, param: str, said: str
) -> None:
    with (
        offline_gateway.openai(KEYS["research"], max_retries=0) as client,
        pytest.raises(openai.BadRequestError) as caught,
    ):
        client.completions.create(model="tiny-small", prompt=prompt, max_tokens=3)
    error: Any = caught.value.body
    assert caught.value.param == param
    assert error["message"].startswith(said), error
    assert "valid string" not in error["message"]


def test_usage_records_of_completions(gateway_raw: dict[str, Any]) -> None:
    with (
        in_process(gateway_raw) as gw,
        gw.openai(KEYS["research"]) as client,
    ):
        client.completions.create(model="tiny-small", prompt="Hallo", max_tokens=3)
        list(
            client.completions.create(model="tiny-small", prompt="Hallo", max_tokens=3, stream=True)
        )
    ledger = gw.ledger()
    records = [r for r in ledger.recent_usage(limit=10) if r.endpoint == "completions"]
    ledger.close()
    assert sorted(r.stream for r in records) == [False, True]
    for record in records:
        assert record.api == "openai" and record.model == "tiny-small" and record.status == 200
        assert record.prompt_tokens > 0 and 0 < record.completion_tokens <= 3
