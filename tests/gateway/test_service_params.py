"""Top-level parameters of OpenAI's chat completions and Responses APIs that configure OpenAI's
service: those that change nothing a local model serves (cache hints, service tier, safety
identifier, reasoning summaries ...) are taken, type-checked, and not passed on; one whose
service the gateway does not run (``moderation``, ``context_management``) is a 400 naming it,
as ignoring it would let the client believe it ran. The real ``openai`` library talks to the
gateway in front of the real llama.cpp server, watched through a recording proxy."""

from __future__ import annotations

import copy
from typing import Any, Literal, TypedDict

import openai
import pytest
from openai.types.chat.completion_create_params import PromptCacheOptions

from tests.fixtures.gateway import KEYS, Gateway, in_process
from tests.fixtures.llama import LlamaBackend
from tests.fixtures.loopback import recording_proxy

pytestmark = pytest.mark.llama

CHAT = {"model": "tiny-small", "messages": [{"role": "user", "content": "Hallo"}], "max_tokens": 2}
RESPONSES = {"model": "tiny-small", "input": "Hallo", "max_output_tokens": 2}
MODERATION = {"model": "omni-moderation-latest"}


@pytest.mark.parametrize(
    ("path", "extra", "param", "said"),
    [
        (
            "/v1/chat/completions",
            {"moderation": MODERATION},
            "moderation",
            "moderation is not supported: no moderation model checks",
        ),
        (
            "/v1/responses",
            {"moderation": MODERATION},
            "moderation",
            "moderation is not supported: no moderation model checks",
        ),
        (
            "/v1/responses",
            {"context_management": [{"type": "compaction", "compact_threshold": 2000}]},
            "context_management",
            "context_management is not supported: the input is not compacted here",
        ),
        ("/v1/responses", {"reasoning": {"effort": 5}}, "reasoning.effort", "be 'none', 'minimal'"),
        ("/v1/responses", {"truncation": "maybe"}, "truncation", "'auto' or 'disabled'"),
        ("/v1/responses", {"service_tier": 1}, "service_tier", "string"),
        ("/v1/responses", {"include": "reasoning"}, "include", "valid array"),
        ("/v1/responses", {"top_logprobs": 21}, "top_logprobs", "less than or equal to 20"),
        (
            "/v1/responses",
            {"prompt_cache_options": {"ttl": "30m", "x": 1}},
            "prompt_cache_options.x",
            "Unrecognized request argument supplied: prompt_cache_options.x",
        ),
        (
            "/v1/chat/completions",
            {"prompt_cache_options": {"ttl": "30m", "x": 1}},
            "prompt_cache_options.x",
            "Unrecognized request argument supplied: prompt_cache_options.x",
        ),
    ],
)
def test_a_service_parameter_the_gateway_cannot_honour_or_of_a_wrong_type_is_refused(
    offline_gateway: Gateway, path: str, extra: dict[str, Any], param: str, said: str
) -> None:
    """Refused before any backend is asked (this gateway's backend is a closed port)."""
    body = {**(CHAT if path.endswith("completions") else RESPONSES), **extra}
    response = offline_gateway.post(
        path, json=body, headers={"Authorization": f"Bearer {KEYS['research']}"}
    )
    error = response.json()["error"]
    assert response.status_code == 400, error
    assert error["param"] == param, error
    assert said in error["message"], error


#: the settings of OpenAI's service a client may send with each endpoint, by the real library
class Cache(TypedDict, total=False):
    """OpenAI's prompt-cache settings of a chat request."""

    prompt_cache_retention: Literal["in_memory", "24h"]
    prompt_cache_options: PromptCacheOptions


CACHE: Cache = {"prompt_cache_retention": "24h", "prompt_cache_options": {"ttl": "30m"}}
SERVICE: dict[str, Any] = {
    "prompt_cache_key": "k",
    "safety_identifier": "u1",
    "service_tier": "auto",
    "truncation": "disabled",
    "reasoning": {"summary": "auto"},  # its effort is chat's reasoning_effort (thinking tests)
    "text": {"format": {"type": "text"}, "verbosity": "low"},
    "max_tool_calls": 3,
    "include": ["reasoning.encrypted_content"],
    "stream_options": {"include_obfuscation": False},
    **CACHE,
}


def test_the_service_settings_are_taken_and_not_passed_on(
    gateway_raw: dict[str, Any], llama_server: LlamaBackend
) -> None:
    """OpenAI's prompt-cache settings on chat, and every service setting of the Responses API,
    streamed and not: the answer comes, and the model server is sent none of them."""
    raw = copy.deepcopy(gateway_raw)
    with recording_proxy(llama_server.base_url) as proxy:
        raw["backends"][0]["base_url"] = proxy.url
        with in_process(raw) as gw, gw.openai(KEYS["research"], max_retries=0) as client:
            chat = client.chat.completions.create(
                model="tiny-small",
                messages=[{"role": "user", "content": "Hallo"}],
                max_tokens=2,
                **CACHE,
            )
            assert chat.choices
            plain = client.responses.create(
                model="tiny-small",
                input="Hallo",
                max_output_tokens=2,
                **{k: v for k, v in SERVICE.items() if k != "stream_options"},
            )
            assert plain.status in ("completed", "incomplete")
            streamed = list(
                client.responses.create(
                    model="tiny-small", input="Hallo", max_output_tokens=2, stream=True, **SERVICE
                )
            )
            assert streamed[-1].type == "response.completed"
    sent = [b for b, p in zip(proxy.bodies, proxy.paths, strict=True) if p.endswith("completions")]
    assert len(sent) >= 3  # and a stream's prompt counted (llama-cpp-python sends no usage)
    own = {"prompt_cache_key", "safety_identifier", "stream_options"}  # the gateway's own use
    for body in sent:
        assert not set(body) & (set(SERVICE) - own), body
        assert "include_obfuscation" not in body.get("stream_options", {}), body
    # chat passes OpenAI's known parameters on as it always did; responses does not
    assert not set(sent[1]) & {"prompt_cache_key", "safety_identifier"}


#: what the Responses API says of a hosted tool, which chat's web search says too
HOSTED = "(OpenAI's service runs it, not this gateway's models)"
AUDIO = {"voice": "alloy", "format": "wav"}


@pytest.mark.parametrize(
    ("asked", "param", "said"),
    [
        (
            {"web_search_options": {}},
            "web_search_options",
            f"web_search_options: web search is not available here {HOSTED}",
        ),
        (
            {"web_search_options": {"search_context_size": "high"}, "stream": True},
            "web_search_options",
            f"web_search_options: web search is not available here {HOSTED}",
        ),
        (
            {"modalities": ["text", "audio"], "audio": AUDIO},
            "modalities",
            "modalities: audio output is not available here: the models here write text, they"
            " do not speak",
        ),
        (
            {"audio": AUDIO},
            "audio",
            "audio: audio output is not available here: the models here write text, they do"
            " not speak",
        ),
        (
            {"store": True},
            "store",
            "store: true is not supported: this gateway stores no prompt and no answer",
        ),
    ],
    ids=["web-search", "web-search-streamed", "audio-modality", "audio", "store"],
)
def test_chat_refuses_what_only_openais_service_does(
    offline_gateway: Gateway, asked: dict[str, Any], param: str, said: str
) -> None:
    """walk21 F2: web search, audio output and a stored completion were answered 200 as plain
    text, as if done, where ``/v1/responses`` refuses a hosted tool and ``store: true``. Refused
    before any backend is asked (this gateway's backend is a closed port), through the real
    ``openai`` library."""
    with (
        offline_gateway.openai(KEYS["research"], max_retries=0) as client,
        pytest.raises(openai.BadRequestError) as caught,
    ):
        client.chat.completions.create(
            model="auto", messages=[{"role": "user", "content": "Wetter in Berlin?"}], **asked
        )
    error: Any = caught.value.body
    assert caught.value.param == param
    assert error["message"].startswith(said), error


def test_the_two_endpoints_refuse_store_and_hosted_services_in_the_same_words(
    offline_gateway: Gateway,
) -> None:
    """``store: true`` and a hosted tool on ``/v1/responses`` are told as chat tells them."""
    with offline_gateway.openai(KEYS["research"], max_retries=0) as client:
        with pytest.raises(openai.BadRequestError) as stored:
            client.responses.create(model="auto", input="Hallo", store=True)
        with pytest.raises(openai.BadRequestError) as searched:
            client.responses.create(model="auto", input="Hallo", tools=[{"type": "web_search"}])
    stored_said: Any = stored.value.body
    assert stored_said["message"].startswith(
        "store: true is not supported: this gateway stores no prompt and no answer"
    )
    searched_said: Any = searched.value.body
    assert HOSTED in searched_said["message"]


def test_what_asks_nothing_of_openais_service_still_passes(gateway: Gateway) -> None:
    """``store: false`` (simonw's ``llm`` sends it to ``/v1/responses``), ``modalities:
    ["text"]`` and a ``null`` web search ask for nothing the gateway does not do: answered."""
    with gateway.openai(KEYS["research"], max_retries=0) as client:
        chat = client.chat.completions.create(
            model="tiny-small",
            messages=[{"role": "user", "content": "Hallo"}],
            max_tokens=2,
            store=False,
            modalities=["text"],
            extra_body={"web_search_options": None, "audio": None},
        )
        assert chat.choices[0].message.content is not None
        answer = client.responses.create(
            model="tiny-small", input="Hallo", max_output_tokens=2, store=False
        )
        assert answer.status in ("completed", "incomplete")
