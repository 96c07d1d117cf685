"""A thinking model on an OpenAI-compatible server (llama.cpp, vLLM), whose config names the
chat template's switch of its thinking (``thinking_switch``): Ollama's ``think`` and OpenAI's
``reasoning_effort`` reach the server as ``chat_template_kwargs`` setting it, and the answer
comes back. The real llama.cpp server answers, behind a proxy that notes what it was sent; the
real ``ollama`` and ``openai`` libraries ask."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import ollama
import pytest

from tests.fixtures.gateway import KEYS, Gateway, in_process
from tests.fixtures.loopback import Recorded, recording_proxy

pytestmark = pytest.mark.llama

USER: Any = [{"role": "user", "content": "Hallo"}]
SHORT = {"num_predict": 2}
SWITCH = "enable_thinking"


@contextmanager
def switched(raw: dict[str, Any], **backend: Any) -> Iterator[tuple[Gateway, Recorded]]:
    """The gateway with ``tiny-denker``: tiny-small (its weights) as a thinking model whose
    thinking the template's ``enable_thinking`` switches, on the llama.cpp server behind a
    recording proxy (the config's own models stay on the server directly); ``backend``: more
    settings of the proxy's backend."""
    raw = copy.deepcopy(raw)
    llama = raw["backends"][0]
    with recording_proxy(llama["base_url"]) as upstream:
        raw["backends"].append({**llama, "name": "recorded", "base_url": upstream.url, **backend})
        small = raw["models"][0]
        raw["models"].append(
            {
                **small,
                "id": "tiny-denker",
                "backend": "recorded",
                "capabilities": [*small["capabilities"], "thinking"],
                "thinking_switch": SWITCH,
            }
        )
        with in_process(raw) as gw:
            yield gw, upstream


def sent(upstream: Recorded, ask: Callable[[], Any]) -> tuple[Any, list[dict[str, Any]]]:
    """What ``ask`` answered, and the chat requests it made the server get (a stream's count
    of its prompt, asked unstreamed, too)."""
    before = len(upstream.bodies)
    answer = ask()
    asked = zip(upstream.paths[before:], upstream.bodies[before:], strict=True)
    return answer, [body for path, body in asked if path.endswith("/chat/completions")]


@pytest.mark.parametrize(
    ("think", "switch"),
    [(True, {SWITCH: True}), ("high", {SWITCH: True}), (False, {SWITCH: False}), (None, None)],
)
def test_think_reaches_a_llamacpp_server_as_the_chat_templates_switch(
    gateway_raw: dict[str, Any], think: bool | str | None, switch: dict[str, bool] | None
) -> None:
    """``think`` (``/api/chat``, ``/api/generate``, plain and streamed) is sent as
    ``chat_template_kwargs: {"enable_thinking": ...}``, never as ``think``; a level is on, as
    Ollama reads it for a model without levels. Without ``think`` nothing is switched."""
    with switched(gateway_raw) as (gw, upstream):
        client = gw.ollama(KEYS["research"])
        chat, chats = sent(
            upstream,
            lambda: client.chat(model="tiny-denker", messages=USER, think=think, options=SHORT),
        )
        streamed, streams = sent(
            upstream,
            lambda: list(
                client.chat(
                    model="tiny-denker", messages=USER, think=think, options=SHORT, stream=True
                )
            ),
        )
        generated, generates = sent(
            upstream,
            lambda: client.generate(
                model="tiny-denker", prompt="Hallo", think=think, options=SHORT
            ),
        )
    for bodies in (chats, streams, generates):
        assert bodies, "the server was asked"
        assert [body.get("chat_template_kwargs") for body in bodies] == [switch] * len(bodies)
        assert not any("think" in body for body in bodies)
    assert chat.done and chat.eval_count
    assert streamed[-1].done and streamed[-1].eval_count
    assert generated.done and generated.eval_count


def test_reasoning_effort_reaches_it_as_it_came_and_as_the_switch(
    gateway_raw: dict[str, Any],
) -> None:
    """``reasoning_effort`` goes to the server as it came (vLLM and llama.cpp read it) and sets
    the switch as well (a server that reads no effort still switches): ``none`` off, another
    on. A routed request asked to think goes to the model (the only one that thinks)."""
    with switched(gateway_raw) as (gw, upstream), gw.openai(KEYS["research"]) as client:
        effortless, off = sent(
            upstream,
            lambda: client.chat.completions.create(
                model="tiny-denker", messages=USER, max_tokens=2, reasoning_effort="none"
            ),
        )
        routed, on = sent(
            upstream,
            lambda: client.chat.completions.with_raw_response.create(
                model="auto", messages=USER, max_tokens=2, reasoning_effort="low"
            ),
        )
    assert [(b["reasoning_effort"], b["chat_template_kwargs"]) for b in off + on] == [
        ("none", {SWITCH: False}),
        ("low", {SWITCH: True}),
    ]
    assert effortless.choices[0].finish_reason == "length"
    assert routed.headers["x-stellwerk-model"] == "tiny-denker"
    assert routed.parse().choices[0].finish_reason == "length"


def test_a_switch_the_client_sets_itself_keeps_its_value(gateway_raw: dict[str, Any]) -> None:
    """Where an operator lets ``chat_template_kwargs`` pass (``pass_params``), a client's own
    value of the switch is what the server gets, beside its other variables."""
    own = {SWITCH: False, "custom": 1}
    with (
        switched(gateway_raw, pass_params=["chat_template_kwargs"]) as (gw, upstream),
        gw.openai(KEYS["research"]) as client,
    ):
        _, bodies = sent(
            upstream,
            lambda: client.chat.completions.create(
                model="tiny-denker",
                messages=USER,
                max_tokens=2,
                reasoning_effort="high",
                extra_body={"chat_template_kwargs": own},
            ),
        )
    assert [body["chat_template_kwargs"] for body in bodies] == [own]


def test_a_raw_prompt_has_no_template_to_switch_and_is_refused_thinking(
    gateway_raw: dict[str, Any],
) -> None:
    """``/api/generate`` with ``raw`` is a text completion, without the chat template: thinking
    asked for is refused, saying so, before the server is asked."""
    with switched(gateway_raw) as (gw, upstream), pytest.raises(ollama.ResponseError) as refused:
        gw.ollama(KEYS["research"]).generate(
            model="tiny-denker", prompt="Hallo", raw=True, think=True, options=SHORT
        )
    assert (refused.value.status_code, refused.value.error) == (
        400,
        "'tiny-denker' does not support thinking on request: a raw prompt goes to its backend"
        " 'recorded' without the chat template, whose switch turns the thinking on; send"
        ' "think": false or leave think out (a model that thinks unasked still answers with its'
        " thinking)",
    )
    assert not any(path.endswith("/completions") for path in upstream.paths)
