"""What a client sends reaches the model server: the other fields of an embedding request, and
the chat-template tokens in the count of a streamed prompt (the real llama.cpp server, watched
through a recording proxy where the test must see what the gateway asked)."""

from __future__ import annotations

from typing import Any

import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam

from tests.fixtures.gateway import KEYS, Gateway, in_process
from tests.fixtures.llama import LlamaBackend
from tests.fixtures.loopback import recording_proxy

pytestmark = pytest.mark.llama


def test_embedding_requests_carry_the_clients_other_fields(
    gateway_raw: dict[str, Any], llama_server: LlamaBackend
) -> None:
    with recording_proxy(llama_server.base_url) as proxy:
        gateway_raw["backends"].append(
            {"name": "embed-proxy", "kind": "openai", "base_url": proxy.url}
        )
        embed = {**gateway_raw["models"][3], "id": "proxied-embed", "backend": "embed-proxy"}
        gateway_raw["models"].append(embed)
        # llama.cpp answers its vectors whole (not of 8 dimensions): refused, not served
        with (
            in_process(gateway_raw) as gw,
            gw.openai(KEYS["research"]) as client,
            pytest.raises(openai.BadRequestError, match="answers vectors of"),
        ):
            client.embeddings.create(
                model="proxied-embed",
                input=["ein Absatz"],
                dimensions=8,
                user="u-17",
                extra_body={"input_type": "passage", "truncate": "END"},
            )
    (sent,) = [b for b, p in zip(proxy.bodies, proxy.paths, strict=True) if p == "/v1/embeddings"]
    assert sent["input_type"] == "passage" and sent["truncate"] == "END"
    assert sent["dimensions"] == 8 and sent["user"] == "u-17"
    assert sent["input"] == ["ein Absatz"] and sent["model"] == embed["upstream"]
    assert "encoding_format" not in sent  # the gateway encodes the vectors itself


@pytest.mark.parametrize(
    "messages",
    [
        [{"role": "user", "content": "Hallo"}],
        [
            {"role": "system", "content": "Antworte kurz."},
            {"role": "user", "content": "Wie geht es dir heute?"},
        ],
    ],
    ids=["one message", "system and user"],
)
def test_streamed_prompt_tokens_count_the_chat_template(
    gateway: Gateway, messages: list[ChatCompletionMessageParam]
) -> None:
    """llama-cpp-python sends no usage on streams; the gateway's count of the prompt is the
    server's own (the templated prompt), as unstreamed."""
    with gateway.openai(KEYS["research"]) as client:
        plain = client.chat.completions.create(
            model="tiny-small",
            messages=messages,
            max_tokens=3,
        )
        chunks = list(
            client.chat.completions.create(
                model="tiny-small",
                messages=messages,
                max_tokens=3,
                stream=True,
                stream_options={"include_usage": True},
            )
        )
    usage = chunks[-1].usage
    assert usage is not None and plain.usage is not None
    assert usage.prompt_tokens == plain.usage.prompt_tokens
