"""A client that hangs up while its whole answer (not streamed) is awaited ends the wait: the
backend's request is cancelled and the usage record says 499 ``client_disconnected``, charged the
prompt's bound (as the reservation counts it) and no answer. Until then the model server worked
on for nobody and the record said 200 (walk12: a client that gave up on an embeddings request
after 60 s left 139 s of work recorded as served); charged nothing, a client timing out just
before the answer had the work for free (walk13)."""

from __future__ import annotations

import time
from typing import Any

import httpx
import openai
import pytest

from stellwerk.backends.tokens import PromptSize
from stellwerk.backends.types import ChatRequest
from tests.fixtures.gateway import KEYS
from tests.gateway.test_stream_accounting import STORY, records, serving

pytestmark = pytest.mark.llama

AUTH = {"authorization": f"Bearer {KEYS['research']}"}


def _long_answer(gw_url: str) -> float:
    """How long the fixture's server takes for the whole answer asked below (so that the
    client's timeout is surely shorter)."""
    started = time.monotonic()
    body = {"model": "tiny-small", "messages": STORY, "max_tokens": 600, "ignore_eos": True}
    answer = httpx.post(gw_url + "/v1/chat/completions", json=body, headers=AUTH, timeout=120)
    assert answer.status_code == 200, answer.text
    return time.monotonic() - started


def test_a_client_that_gives_up_on_a_whole_answer_is_recorded_499_and_not_charged(
    gateway_raw: dict[str, Any],
) -> None:
    with serving(gateway_raw) as (gw, _):
        whole = _long_answer(gw.url)
        client = openai.OpenAI(
            base_url=gw.url + "/v1", api_key=KEYS["research"], timeout=whole / 4, max_retries=0
        )
        with pytest.raises(openai.APITimeoutError):
            client.chat.completions.create(
                model="tiny-small",
                messages=STORY,  # type: ignore[arg-type]
                max_tokens=600,
                extra_body={"ignore_eos": True},
            )
        found = records(gw, count=2)
    gone = [r for r in found if r.status != 200]
    assert len(found) == 2 and len(gone) == 1, found
    (record,) = gone
    assert (record.status, record.error_kind) == (499, "client_disconnected")
    assert record.model == "tiny-small" and record.usage_source == "counted:bound"
    chat = ChatRequest(messages=STORY, params={"max_tokens": 600})
    assert record.prompt_tokens == PromptSize.of(chat).tokens and record.completion_tokens == 0
    assert record.cost > 0


def test_a_client_that_gives_up_on_embeddings_is_recorded_499(
    gateway_raw: dict[str, Any],
) -> None:
    inputs = [f"box {i}" for i in range(2000)]  # about 4 s of the fixture server's work
    with serving(gateway_raw) as (gw, _):
        client = openai.OpenAI(
            base_url=gw.url + "/v1", api_key=KEYS["research"], timeout=0.5, max_retries=0
        )
        with pytest.raises(openai.APITimeoutError):
            client.embeddings.create(model="tiny-embed", input=inputs)
        (record,) = records(gw)
    assert (record.status, record.error_kind) == (499, "client_disconnected")
    assert record.endpoint == "embeddings" and record.usage_source == "counted:bound"
    assert record.prompt_tokens >= len(inputs) and record.cost > 0
