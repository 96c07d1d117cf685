"""A route only considers models whose context holds the request: its messages, its tool
definitions, and (where some model can) the answer it asks for."""

from __future__ import annotations

from typing import Any

import pytest

from stellwerk.backends.tokens import tool_tokens
from stellwerk.config.loader import parse_config
from stellwerk.config.schema import RouterConfig
from stellwerk.gateway.auth import Principal
from stellwerk.gateway.selection import Selector
from stellwerk.routing.loader import load_router
from tests.fixtures.gateway import KEYS, in_process, raw_config

AUTH = {"authorization": f"Bearer {KEYS['research']}"}
RESEARCH = Principal("research-1", "research", "user", "internal", None)


def _tool(i: int) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {
            "name": f"lookup_{i}",
            "description": "Look a record up in the archive by its number and return its text.",
            "parameters": {
                "type": "object",
                "properties": {"number": {"type": "integer"}, "archive": {"type": "string"}},
                "required": ["number"],
            },
        },
    }


def test_tool_definitions_count_as_prompt_tokens() -> None:
    tools = [_tool(i) for i in range(30)]
    assert tool_tokens({}) == 0
    assert tool_tokens({"tools": tools}) > 1500
    assert tool_tokens({"functions": [t["function"] for t in tools]}) > 1200


@pytest.mark.llama
def test_tools_too_large_for_every_context_are_refused_naming_the_size_and_context(
    gateway_raw: dict[str, Any],
) -> None:
    raw = {k: v for k, v in gateway_raw.items() if k != "router"}
    with in_process(raw) as gw:
        response = gw.post("/v1/chat/completions",
            json={"model": "auto", "messages": [{"role": "user", "content": "Find record 7."}],
                  "tools": [_tool(i) for i in range(30)], "max_tokens": 5},
            headers=AUTH,
            timeout=60,
        )  # fmt: skip
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert (error["code"], error["param"]) == ("context_length_exceeded", "messages")
    tokens = int(error["message"].split("about ")[1].split(" tokens")[0])
    assert tokens > 1500  # the tool definitions, not just the 3 words of the message
    assert error["message"].startswith(
        "This model's maximum context length is 1024 tokens (tiny-small, the one model allowed"
        " for department 'research' that can serve this request)"
    )  # the one with tools


def _selector(contexts: dict[str, int]) -> Selector:
    raw = raw_config("http://127.0.0.1:9", "sqlite://")
    for model in raw["models"]:
        model["context_length"] = contexts.get(model["id"], model["context_length"])
    return Selector(parse_config(raw), load_router(RouterConfig()))


def test_a_long_answer_goes_to_a_model_whose_context_holds_it() -> None:
    selector = _selector({"tiny-small": 1024, "tiny-medium": 1024, "tiny-large": 8192})
    short = selector.routed(RESEARCH, "auto-economy", "Say hello.", 4, {"chat"})
    long = selector.routed(
        RESEARCH, "auto-economy", "Say hello.", 4, {"chat"}, max_answer_tokens=4000
    )
    assert short.decision.model_id == "tiny-small"
    assert long.decision.model_id == "tiny-large"
    assert [m.id for m in long.models] == ["tiny-large"]


def test_when_no_context_holds_the_answer_the_backend_decides() -> None:
    selector = _selector({})
    decision = selector.routed(
        RESEARCH, "auto-economy", "Say hello.", 4, {"chat"}, max_answer_tokens=100_000
    ).decision
    assert decision.model_id == "tiny-small"  # as without the cap: not refused here
