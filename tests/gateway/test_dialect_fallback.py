"""A routed request that one backend's dialect cannot carry goes on to the next model of the
ranking, as after a backend failure; a request that names the model, or a route with no other
candidate, gets the 400 naming the parameter.

The first candidate is ``tiny-small`` on the real llama.cpp server (``dialect: llamacpp``, which
cannot carry a fractional number at the top level of a tool's parameters); the second stands for
a vLLM (``dialect: generic``), which takes the request as it is.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.fixtures.gateway import KEYS, free_port, in_process
from tests.fixtures.loopback import ANSWER, passthrough_server

pytestmark = pytest.mark.llama
RESEARCH = {"authorization": f"Bearer {KEYS['research']}"}
LEGAL = {"authorization": f"Bearer {KEYS['legal']}"}  # may use tiny-small only
PARAMETERS = {
    "type": "object",
    "properties": {"celsius": {"type": "number"}},
    "default": 0.5,  # what llama-cpp-python's server refuses and the dialect cannot translate
}
TOOL = {"type": "function", "function": {"name": "set_heating", "parameters": PARAMETERS}}
CHAT = {"messages": [{"role": "user", "content": "Heat to 21.5 degrees"}], "max_tokens": 5}
PARAM = "tools[0].function.parameters.default"


def _with_generic_backend(raw: dict[str, Any], url: str) -> dict[str, Any]:
    raw = copy.deepcopy(raw)
    raw["backends"].append({"name": "vllm", "kind": "openai", "base_url": url})
    small = raw["models"][0]  # tiny-small: chat and tools, first in config order
    raw["models"].append({**small, "id": "vllm-small", "backend": "vllm", "upstream": "small"})
    return raw  # router "first": ranks tiny-small, then vllm-small


def test_auto_goes_on_to_a_backend_that_takes_the_tool_schema(
    gateway_raw: dict[str, Any],
) -> None:
    with (
        passthrough_server() as vllm,
        in_process(_with_generic_backend(gateway_raw, vllm.url)) as gw,
    ):
        url = "/v1/chat/completions"
        body = {**CHAT, "model": "auto", "tools": [TOOL]}
        plain = gw.post(url, json=body, headers=RESEARCH, timeout=60)
        streamed = gw.post(url, json={**body, "stream": True}, headers=RESEARCH, timeout=60)
        ollama = gw.post(
            "/api/chat",
            json={
                "model": "auto",
                "messages": CHAT["messages"],
                "tools": [TOOL],
                "stream": False,
                "options": {"num_predict": 5},
            },
            headers=RESEARCH,
            timeout=60,
        )
        metrics = gw.get("/metrics").text
    for response in (plain, streamed, ollama):
        assert response.status_code == 200, response.text
        assert response.headers["x-stellwerk-model"] == "vllm-small"
        assert response.headers["x-stellwerk-fallback-from"] == "tiny-small"
    assert plain.json()["choices"][0]["message"]["content"] == ANSWER
    assert streamed.text.rstrip().endswith("data: [DONE]")
    assert ollama.json()["message"]["content"] == ANSWER
    # the generic backend got the schema as the client sent it
    assert [b["tools"][0]["function"]["parameters"] for b in vllm.bodies] == [PARAMETERS] * 3
    # llama.cpp was not at fault: no upstream error, its circuit stays closed
    assert 'stellwerk_upstream_errors_total{backend="llamacpp"' not in metrics
    assert 'stellwerk_backend_circuit_state{backend="llamacpp"} 0.0' in metrics
    ledger = gw.ledger()
    records = ledger.recent_usage()
    ledger.close()
    assert [(r.status, r.model, r.fallback_from) for r in records] == [
        (200, "vllm-small", "tiny-small")
    ] * 3


@pytest.mark.parametrize(
    ("model", "headers"),
    [("tiny-small", RESEARCH), ("auto", LEGAL)],
    ids=["named", "auto-without-another-candidate"],
)
def test_no_candidate_that_takes_the_tool_schema_is_a_400_naming_it(
    gateway_raw: dict[str, Any], model: str, headers: dict[str, str]
) -> None:
    with (
        passthrough_server() as vllm,
        in_process(_with_generic_backend(gateway_raw, vllm.url)) as gw,
    ):
        response = gw.post(
            "/v1/chat/completions",
            json={**CHAT, "model": model, "tools": [TOOL]},
            headers=headers,
            timeout=60,
        )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["param"] == PARAM
    assert "llama.cpp" in error["message"]
    assert "x-stellwerk-fallback-from" not in response.headers
    assert vllm.bodies == []


def test_when_the_backend_that_could_take_it_is_down_auto_says_so(
    gateway_raw: dict[str, Any],
) -> None:
    raw = _with_generic_backend(gateway_raw, f"http://127.0.0.1:{free_port()}")
    with in_process(raw) as gw:
        response = gw.post(
            "/v1/chat/completions",
            json={**CHAT, "model": "auto", "tools": [TOOL]},
            headers=RESEARCH,
            timeout=60,
        )
    # a 503 naming the backend that could have taken it, not the 400: retrying may help
    assert response.status_code == 503
    assert "backend 'vllm'" in response.json()["error"]["message"]
    ledger = gw.ledger()
    records = ledger.recent_usage()
    ledger.close()
    assert [(r.model, r.fallback_from) for r in records] == [("vllm-small", "tiny-small")]
