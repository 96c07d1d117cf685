"""Limits: too many messages, max_tokens over the cap, too many concurrent streams per key."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.fixtures.gateway import KEYS, running_gateway
from tests.fixtures.held_stream import HeldStreams, held_streams
from tests.fixtures.llama import LlamaBackend

pytestmark = pytest.mark.llama
AUTH = {"authorization": f"Bearer {KEYS['research']}"}


def test_request_limits(gateway_raw: dict[str, Any], llama_server: LlamaBackend) -> None:
    raw = {
        **gateway_raw,
        "server": {
            **gateway_raw["server"],
            "limits": {"max_messages": 3, "max_tokens": 64, "max_streams_per_key": 1},
        },
    }
    # the stream runs until the test lets it end: 64 tokens took a tenth of a second, and the
    # second request raced the end of the first
    with held_streams(llama_server.base_url) as server:
        raw["backends"][0]["base_url"] = server.url
        _limits(raw, server)


def _limits(raw: dict[str, Any], server: HeldStreams) -> None:
    with running_gateway(raw) as gw:
        chat = gw.openai_url + "/chat/completions"
        many = [{"role": "user", "content": str(i)} for i in range(4)]
        response = httpx.post(chat, json={"model": "tiny-small", "messages": many}, headers=AUTH)
        assert response.status_code == 400
        assert response.json()["error"]["message"] == "too many messages: 4 (limit 3)"
        assert response.json()["error"]["param"] == "messages"
        # the Responses API's messages are its input items, and the refusal names them so
        body = {"model": "tiny-small", "input": many}
        response = httpx.post(gw.openai_url + "/responses", json=body, headers=AUTH)
        assert response.status_code == 400
        error = response.json()["error"]
        assert (error["param"], error["message"]) == ("input", "too many messages: 4 (limit 3)")

        big = {"model": "tiny-small", "messages": many[:1], "max_tokens": 65}
        response = httpx.post(chat, json=big, headers=AUTH)
        assert response.status_code == 400
        assert response.json()["error"]["param"] == "max_tokens"
        ollama = {"model": "tiny-small", "messages": many[:1], "options": {"num_predict": 65}}
        response = httpx.post(gw.url + "/api/chat", json=ollama, headers=AUTH)
        assert response.status_code == 400
        assert "over the limit of 64" in response.json()["error"]

        stream = {"model": "tiny-large", "messages": many[:1], "max_tokens": 64, "stream": True}
        with httpx.Client(headers=AUTH, timeout=60) as client:
            with client.stream("POST", chat, json=stream) as open_stream:
                assert open_stream.status_code == 200
                second = client.post(chat, json=stream)
                assert second.status_code == 429
                assert "too many concurrent streams" in second.json()["error"]["message"]
                assert second.headers["retry-after"] == "1"
                server.release()
                for _ in open_stream.iter_lines():
                    pass
            # the slot is free again once the stream has ended
            after = client.post(chat, json={**stream, "max_tokens": 2})
            assert after.status_code == 200
