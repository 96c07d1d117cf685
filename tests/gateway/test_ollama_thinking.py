"""Thinking models behind an Ollama backend: their thinking reaches the clients of both APIs,
plain and streamed, counted as answer tokens; the client's ``think`` (Ollama's API) and
``reasoning_effort`` (OpenAI's) reach the server as Ollama's ``think``, and only for models
with the ``thinking`` capability, which ``/api/show`` lists; a model that cannot think is refused
in the client's API's words. The real ``openai`` and ``ollama`` libraries talk
to the gateway, whose Ollama backend is a stand-in for Ollama (``ollama_thinking_server``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, get_args

import ollama
import openai
import pytest
from openai.types.shared import ReasoningEffort

from tests.fixtures.gateway import (
    KEYS,
    OFFLINE_BACKEND,
    Gateway,
    add_ollama_backend,
    bearer,
    in_process,
    migrated_copy,
    raw_config,
)
from tests.fixtures.loopback import Recorded
from tests.fixtures.ollama_thinking import (
    PLAIN,
    PROMPT_TOKENS,
    REPLY,
    THINKER,
    THINKING,
    ollama_thinking_server,
)

USER: Any = [{"role": "user", "content": "Hallo"}]
THOUGHT = "".join(THINKING)


@pytest.fixture
def gateway_raw(tmp_path: Path, ledger_template: Path) -> dict[str, Any]:
    """The test config, its llama.cpp backend offline: no request here goes to it."""
    return raw_config(OFFLINE_BACKEND, migrated_copy(ledger_template, tmp_path / "ledger.db"))


def thinks(model: dict[str, Any], model_id: str) -> dict[str, Any]:
    """A copy of the config's ``model`` as ``model_id``, with the ``thinking`` capability."""
    return {**model, "id": model_id, "capabilities": [*model["capabilities"], "thinking"]}


def refused_by_ollama(*asks: Callable[[], object]) -> list[tuple[int, str]]:
    """Each ask's refusal (the ``ollama`` library's ``ResponseError``): its status and error."""
    refusals = []
    for ask in asks:
        with pytest.raises(ollama.ResponseError) as refused:
            ask()
        refusals.append((refused.value.status_code, refused.value.error))
    return refusals


def refused_by_openai(client: openai.OpenAI, **asked: Any) -> list[Any]:
    """The error bodies (parsed JSON) of a chat completion ``asked`` and refused, plain and
    streamed."""
    refusals = []
    for stream in (False, True):
        with pytest.raises(openai.BadRequestError) as refused:
            client.chat.completions.create(messages=USER, stream=stream, **asked)
        refusals.append(refused.value.body)
    return refusals


@contextmanager
def thinking_gateway(raw: dict[str, Any]) -> Iterator[tuple[Gateway, Recorded]]:
    """The gateway with three models on one Ollama backend, after the config's own (which no
    request here reaches): ``schlicht`` (``PLAIN``, no ``thinking`` capability), ``denker``
    (``THINKER``, with it) and ``angeblich`` (``PLAIN``, whose config says it thinks)."""
    with ollama_thinking_server() as upstream:
        add_ollama_backend(raw, upstream.url, "schlicht", like=0)
        plain = {**raw["models"][-1], "upstream": PLAIN}
        raw["models"][-1] = plain
        raw["models"] += [
            thinks({**plain, "upstream": THINKER}, "denker"),
            thinks(plain, "angeblich"),
        ]
        with in_process(raw) as gw:
            yield gw, upstream


def test_an_ollama_models_thinking_reaches_the_openai_client_plain_and_streamed(
    gateway_raw: dict[str, Any],
) -> None:
    """Ollama's ``message.thinking`` is the answer's ``reasoning_content`` (streamed: the
    deltas' ``reasoning_content``, before the content); its tokens are answer tokens, as
    Ollama counts them (``eval_count``), in the usage and in the usage records."""
    with (
        thinking_gateway(gateway_raw) as (gw, _),
        gw.openai(KEYS["research"], max_retries=0) as client,
    ):
        plain = client.chat.completions.create(model="denker", messages=USER)
        chunks = list(
            client.chat.completions.create(
                model="denker",
                messages=USER,
                stream=True,
                stream_options={"include_usage": True},
            )
        )
        records = gw.records(2)
    message = plain.choices[0].message
    assert ((message.model_extra or {}).get("reasoning_content"), message.content) == (
        THOUGHT,
        REPLY,
    )
    deltas = [c.choices[0].delta for c in chunks if c.choices]
    pieces = [(d.model_extra or {}).get("reasoning_content") for d in deltas]
    assert [piece for piece in pieces if piece] == THINKING
    assert "".join(d.content or "" for d in deltas) == REPLY
    answered = len(THINKING) + 1
    assert plain.usage is not None and chunks[-1].usage is not None
    assert (plain.usage.completion_tokens, chunks[-1].usage.completion_tokens) == (answered,) * 2
    assert [(r.prompt_tokens, r.completion_tokens, r.status) for r in records] == [
        (PROMPT_TOKENS, answered, 200)
    ] * 2


def test_think_reaches_the_ollama_backend_and_its_thinking_the_ollama_client(
    gateway_raw: dict[str, Any],
) -> None:
    """``think`` goes to the Ollama server as the client sent it (true, a level, false);
    the thinking comes back as ``message.thinking`` (``/api/generate``: ``thinking``), plain
    and a piece a line streamed; ``false`` gets none."""
    with thinking_gateway(gateway_raw) as (gw, upstream):
        client = gw.ollama(KEYS["research"])
        plain = client.chat(model="denker", messages=USER, think=True)
        streamed = list(client.chat(model="denker", messages=USER, think="high", stream=True))
        generated = client.generate(model="denker", prompt="Hallo", think="low")
        unthought = client.chat(model="denker", messages=USER, think=False)
    assert [body.get("think") for body in upstream.bodies] == [True, "high", "low", False]
    assert (plain.message.thinking, plain.message.content) == (THOUGHT, REPLY)
    assert [part.message.thinking for part in streamed if part.message.thinking] == THINKING
    assert "".join(part.message.content or "" for part in streamed) == REPLY
    assert (generated.thinking, generated.response) == (THOUGHT, REPLY)
    assert (unthought.message.thinking, unthought.message.content) == (None, REPLY)
    assert streamed[-1].eval_count == len(THINKING) + 1


@pytest.mark.parametrize(
    ("effort", "think"),
    [("none", False), ("minimal", "low"), ("low", "low"), ("high", "high"), ("xhigh", "max")],
)
def test_reasoning_effort_is_ollamas_think(
    gateway_raw: dict[str, Any], effort: ReasoningEffort, think: bool | str
) -> None:
    """OpenAI's ``reasoning_effort`` reaches an Ollama server as the ``think`` Ollama's own
    OpenAI endpoint makes of it; ``none`` turns the thinking off."""
    with (
        thinking_gateway(gateway_raw) as (gw, upstream),
        gw.openai(KEYS["research"], max_retries=0) as client,
    ):
        answer = client.chat.completions.create(
            model="denker", messages=USER, reasoning_effort=effort
        )
    assert [body.get("think") for body in upstream.bodies] == [think]
    reasoning = (answer.choices[0].message.model_extra or {}).get("reasoning_content")
    assert reasoning == (None if think is False else THOUGHT)


#: the efforts OpenAI's API takes, as the ``openai`` library's type lists them
EFFORTS = get_args(get_args(ReasoningEffort)[0])
ALLOWED = ", ".join(f"'{effort}'" for effort in EFFORTS[:-1]) + f" or '{EFFORTS[-1]}'"


@pytest.mark.parametrize("model", ["schlicht", "denker"])
def test_a_thinking_value_the_api_does_not_take_is_refused_as_such_whatever_the_model(
    gateway_raw: dict[str, Any], model: str
) -> None:
    """A ``reasoning_effort`` (``reasoning.effort``) or ``think`` that its API does not take is
    a 400 naming the parameter and every value it takes, whether or not the model thinks:
    ``schlicht``, which cannot, is not told so first, and no server is asked."""
    with (
        thinking_gateway(gateway_raw) as (gw, upstream),
        gw.openai(KEYS["research"], max_retries=0) as client,
    ):
        refused = []
        # values the library's types do not take: sent as a client could
        with pytest.raises(openai.BadRequestError) as chat:
            client.chat.completions.create(model=model, messages=USER, reasoning_effort="bogus")  # type: ignore[call-overload]
        refused.append(chat.value)
        with pytest.raises(openai.BadRequestError) as responses:
            client.responses.create(model=model, input="Hallo", reasoning={"effort": "bogus"})  # type: ignore[call-overload]
        refused.append(responses.value)
        speaker = gw.ollama(KEYS["research"])
        said = []
        for ask in (
            lambda: speaker.chat(model=model, messages=USER, think="bogus"),
            lambda: speaker.generate(model=model, prompt="Hallo", think="bogus"),
        ):
            with pytest.raises(ollama.ResponseError) as think:
                ask()
            said.append((think.value.status_code, think.value.error))
    errors: list[Any] = [error.body for error in refused]
    assert [(e["type"], e["code"], e["param"], e["message"]) for e in errors] == [
        (
            "invalid_request_error",
            "invalid_request",
            param,
            f"{param}: Input should be {ALLOWED}",
        )
        for param in ("reasoning_effort", "reasoning.effort")
    ]
    think_said = (
        "think: 'bogus' is not a think value: send true or false, or a level ('low', 'medium',"
        " 'high', 'max')"
    )
    assert said == [(400, think_said)] * 2
    assert upstream.bodies == []


def test_a_model_that_cannot_think_is_refused_in_the_openai_api(
    gateway_raw: dict[str, Any],
) -> None:
    """Ollama's 400 for ``think`` on a model without thinking (one the config says thinks) is
    the client's 400, plain and streamed, naming ``reasoning_effort`` (what it sent) and the
    problem, and recorded so."""
    with (
        thinking_gateway(gateway_raw) as (gw, upstream),
        gw.openai(KEYS["research"], max_retries=0) as client,
    ):
        refusals = refused_by_openai(client, model="angeblich", reasoning_effort="high")
        served = client.chat.completions.create(
            model="angeblich", messages=USER, reasoning_effort="none"
        )
        records = gw.records(3)
    assert [body["think"] for body in upstream.bodies] == ["high", "high", False]
    for error in refusals:
        assert (error["param"], error["code"]) == ("reasoning_effort", "thinking_unsupported")
        assert error["message"] == (
            f"'{PLAIN}' does not support thinking (backend 'ollama-1' refused reasoning_effort);"
            ' send reasoning_effort "none" or leave reasoning_effort out'
        )
    assert served.choices[0].message.content == REPLY
    assert sorted((r.status, r.error_kind) for r in records) == [
        (200, None),
        (400, "thinking_unsupported"),
        (400, "thinking_unsupported"),
    ]


def test_a_model_that_cannot_think_is_refused_in_the_ollama_api(
    gateway_raw: dict[str, Any],
) -> None:
    """Asked with ``think`` of a model the config says thinks and its server says cannot, the
    refusal is Ollama's ``{"error": ...}`` with status 400, plain and streamed, on ``/api/chat``
    and ``/api/generate``, naming ``think``."""
    with thinking_gateway(gateway_raw) as (gw, upstream):
        client = gw.ollama(KEYS["research"])
        errors = refused_by_ollama(
            lambda: client.chat(model="angeblich", messages=USER, think=True),
            lambda: list(client.chat(model="angeblich", messages=USER, think="low", stream=True)),
            lambda: client.generate(model="angeblich", prompt="Hallo", think=True),
        )
    assert len(upstream.bodies) == 3
    assert (
        errors
        == [
            (
                400,
                f"'{PLAIN}' does not support thinking (backend 'ollama-1' refused think); send"
                ' "think": false or leave think out',
            )
        ]
        * 3
    )


def test_an_earlier_answers_thinking_sent_back_reaches_the_ollama_server(
    gateway_raw: dict[str, Any],
) -> None:
    """An assistant message's reasoning sent back (OpenAI's API: ``reasoning_content``,
    Ollama's: ``thinking``) is the message's ``thinking`` on Ollama's wire, which its chat
    templates read."""
    earlier = {"role": "assistant", "content": REPLY}
    with (
        thinking_gateway(gateway_raw) as (gw, upstream),
        gw.openai(KEYS["research"], max_retries=0) as client,
    ):
        history: Any = [*USER, {**earlier, "reasoning_content": THOUGHT}, *USER]
        client.chat.completions.create(model="denker", messages=history)
        history = [*USER, {**earlier, "thinking": THOUGHT}, *USER]
        gw.ollama(KEYS["research"]).chat(model="denker", messages=history)
    assert [body["messages"][1] for body in upstream.bodies] == [
        {**earlier, "thinking": THOUGHT}
    ] * 2


def test_thinking_asked_of_a_model_without_the_capability_is_refused_before_its_server(
    gateway_raw: dict[str, Any],
) -> None:
    """Thinking asked (``think`` true or a level, ``reasoning_effort`` other than ``none``) of a
    model without the ``thinking`` capability is refused as a model without ``tools`` is: a 400
    naming the model and the capability, in each API's format, plain and streamed, before its
    server is asked; ``think: false`` and ``reasoning_effort: "none"`` are served."""
    with (
        thinking_gateway(gateway_raw) as (gw, upstream),
        gw.openai(KEYS["research"], max_retries=0) as client,
    ):
        refusals = refused_by_openai(client, model="schlicht", reasoning_effort="low")
        speaker = gw.ollama(KEYS["research"])
        errors = refused_by_ollama(
            lambda: speaker.chat(model="schlicht", messages=USER, think=True),
            lambda: list(speaker.chat(model="schlicht", messages=USER, think="high", stream=True)),
            lambda: speaker.generate(model="schlicht:latest", prompt="Hallo", think="low"),
        )
        asked = len(upstream.bodies)
        unthought = speaker.chat(model="schlicht", messages=USER, think=False)
        effortless = client.chat.completions.create(
            model="schlicht", messages=USER, reasoning_effort="none"
        )
        records = gw.records(7)
    assert asked == 0
    for error in refusals:
        assert (error["message"], error["param"], error["code"]) == (
            "model 'schlicht' does not support thinking",
            "model",
            "unsupported_capability",
        )
    assert errors == [(400, "model 'schlicht' does not support thinking")] * 3
    assert [unthought.message.content, effortless.choices[0].message.content] == [REPLY] * 2
    assert (
        sorted((r.status, r.error_kind) for r in records)
        == [(200, None)] * 2 + [(400, "unsupported_capability")] * 5
    )


def test_a_route_sends_thinking_asked_for_only_to_a_model_that_thinks(
    gateway_raw: dict[str, Any],
) -> None:
    """``auto`` asked to think chooses among the models with ``thinking`` (here ``denker``,
    though ``schlicht`` comes first in the config): no other model's server is asked. A key
    whose models none think is told so before any server is asked."""
    with (
        thinking_gateway(gateway_raw) as (gw, upstream),
        gw.openai(KEYS["research"], max_retries=0) as client,
    ):
        routed = client.chat.completions.with_raw_response.create(
            model="auto", messages=USER, reasoning_effort="high"
        )
        chat = gw.ollama(KEYS["research"]).chat(model="auto", messages=USER, think=True)
        with pytest.raises(ollama.ResponseError) as refused:
            gw.ollama(KEYS["legal"]).chat(model="auto", messages=USER, think=True)
    answer = routed.parse()
    assert [body["model"] for body in upstream.bodies] == [THINKER] * 2
    assert (routed.headers["x-stellwerk-model"], answer.model, chat.model) == ("denker",) * 3
    assert "x-stellwerk-fallback-from" not in routed.headers
    reasoning = (answer.choices[0].message.model_extra or {}).get("reasoning_content")
    assert (reasoning, chat.message.thinking) == (THOUGHT, THOUGHT)
    assert (refused.value.status_code, refused.value.error) == (
        400,
        "none of the 1 chat model allowed for department 'legal' can serve this request"
        " (needs: chat, thinking)",
    )


def test_api_show_lists_thinking_for_a_model_and_a_route_that_think(
    gateway_raw: dict[str, Any],
) -> None:
    """Ollama's ``/api/show`` lists ``thinking`` (last, as Ollama does) for a model with the
    capability, and for a route when a model the key may use has it, so that Ollama clients
    know they may ask it to think."""
    with thinking_gateway(gateway_raw) as (gw, _):
        research, legal = gw.ollama(KEYS["research"]), gw.ollama(KEYS["legal"])
        shown = {name: research.show(name).capabilities for name in ("denker", "schlicht", "auto")}
        legals = legal.show("auto:latest").capabilities
    assert shown == {
        "denker": ["completion", "tools", "thinking"],
        "schlicht": ["completion", "tools"],
        "auto": ["completion", "tools", "thinking"],
    }
    assert legals == ["completion", "tools"]  # its one model, tiny-small, does not think


def test_a_thinking_model_on_an_openai_compatible_backend_is_refused_think(
    gateway_raw: dict[str, Any],
) -> None:
    """A model that thinks on an OpenAI-compatible backend (which reads no ``think``), whose
    config names no switch of its thinking, is refused ``think`` true or a level, before its
    server is asked; a route goes on to the next model
    that thinks, and says which it passed over."""
    gateway_raw["models"].append(thinks(gateway_raw["models"][0], "tiny-denker"))
    with thinking_gateway(gateway_raw) as (gw, upstream):
        client = gw.ollama(KEYS["research"])
        with pytest.raises(ollama.ResponseError) as refused:
            client.chat(model="tiny-denker", messages=USER, think=True)
        routed = gw.post(
            "/api/chat",
            headers=bearer(KEYS["research"]),
            json={"model": "auto", "messages": USER, "think": "low", "stream": False},
        )
    assert (refused.value.status_code, refused.value.error) == (
        400,
        "'tiny-denker' does not support thinking on request: its backend 'llamacpp' is an"
        " OpenAI-compatible server, which reads no think, and the gateway's config names no"
        ' switch of its thinking (models[].thinking_switch); send "think": false or leave think'
        " out (a model that thinks unasked still answers with its thinking)",
    )
    assert routed.status_code == 200
    assert (routed.json()["model"], routed.headers["x-stellwerk-fallback-from"]) == (
        "denker",
        "tiny-denker",
    )
    assert [body["model"] for body in upstream.bodies] == [THINKER]


def test_a_responses_reasoning_effort_is_chats_reasoning_effort(
    gateway_raw: dict[str, Any],
) -> None:
    """``/v1/responses``' ``reasoning.effort`` is chat's ``reasoning_effort``: it reaches an
    Ollama server as ``think`` and the thinking comes back as the ``reasoning`` item; asked of
    a model without the ``thinking`` capability it is refused before its server, as on chat."""
    with (
        thinking_gateway(gateway_raw) as (gw, upstream),
        gw.openai(KEYS["research"], max_retries=0) as client,
    ):
        answer = client.responses.create(
            model="denker", input="Hallo", reasoning={"effort": "minimal"}
        )
        with pytest.raises(openai.BadRequestError) as refused:
            client.responses.create(model="schlicht", input="Hallo", reasoning={"effort": "low"})
        with pytest.raises(openai.BadRequestError) as unknown:
            client.responses.create(model="denker", input="Hallo", reasoning={"effort": "huge"})  # type: ignore[call-overload]
    assert [body.get("think") for body in upstream.bodies] == ["low"]
    kinds = [item.type for item in answer.output]
    assert kinds == ["reasoning", "message"] and answer.output_text == REPLY
    error: Any = refused.value.body
    assert (error["message"], error["code"]) == (
        "model 'schlicht' does not support thinking",
        "unsupported_capability",
    )
    said: Any = unknown.value.body
    assert said["param"] == "reasoning.effort"
