"""A client that hangs up while its whole answer (not streamed) is awaited ends the wait: the
backend's request is cancelled and the usage record says 499 ``client_disconnected``, charged the
prompt's bound (as the reservation counts it) and no answer. Until then the model server worked
on for nobody and the record said 200 (walk12: a client that gave up on an embeddings request
after 60 s left 139 s of work recorded as served); charged nothing, a client timing out just
before the answer had the work for free (walk13)."""

from __future__ import annotations

from typing import Any

import openai
import pytest

from stellwerk.backends.tokens import PromptSize
from stellwerk.backends.types import ChatRequest
from tests.fixtures.gateway import KEYS
from tests.fixtures.held_stream import held_streams
from tests.fixtures.llama import LlamaBackend
from tests.gateway.test_stream_accounting import STORY, behind, serving

pytestmark = pytest.mark.llama


def test_a_client_that_gives_up_on_a_whole_answer_is_recorded_499_and_not_charged(
    gateway_raw: dict[str, Any], llama_server: LlamaBackend
) -> None:
    # the server is asked only once the client has gone: its answer surely comes after the
    # client's deadline (a quarter of a first answer's time was, on a quiet machine)
    with (
        held_streams(llama_server.base_url, whole=("/v1/chat/completions",)) as server,
        serving(behind(gateway_raw, server.url)) as (gw, _),
    ):
        with (
            openai.OpenAI(
                base_url=gw.url + "/v1", api_key=KEYS["research"], timeout=1, max_retries=0
            ) as client,
            pytest.raises(openai.APITimeoutError),
        ):
            client.chat.completions.create(
                model="tiny-small",
                messages=STORY,  # type: ignore[arg-type]
                max_tokens=600,
            )
        server.wait_gone()  # the gateway gave up its request to the server
        found = gw.records()
    (record,) = found
    assert (record.status, record.error_kind) == (499, "client_disconnected")
    assert record.model == "tiny-small" and record.usage_source == "counted:bound"
    chat = ChatRequest(messages=STORY, params={"max_tokens": 600})
    assert record.prompt_tokens == PromptSize.of(chat).tokens and record.completion_tokens == 0
    assert record.cost > 0


def test_a_client_that_gives_up_on_embeddings_is_recorded_499(
    gateway_raw: dict[str, Any], llama_server: LlamaBackend
) -> None:
    inputs = [f"box {i}" for i in range(2000)]  # the bound counts each one
    with (
        held_streams(llama_server.base_url, whole=("/v1/embeddings",)) as server,
        serving(behind(gateway_raw, server.url)) as (gw, _),
    ):
        with (
            openai.OpenAI(
                base_url=gw.url + "/v1", api_key=KEYS["research"], timeout=0.5, max_retries=0
            ) as client,
            pytest.raises(openai.APITimeoutError),
        ):
            client.embeddings.create(model="tiny-embed", input=inputs)
        server.wait_gone()
        (record,) = gw.records()
    assert (record.status, record.error_kind) == (499, "client_disconnected")
    assert record.endpoint == "embeddings" and record.usage_source == "counted:bound"
    assert record.prompt_tokens >= len(inputs) and record.cost > 0
