"""A request can only fail for its own sender: every known parameter of both APIs is
type-checked before a backend sees it (a wrong type used to make llama-cpp-python answer 500, the
gateway 502, and count against the backend's circuit), a body naming a key twice is refused, and
a name a client sends is echoed in errors only cut short (issue 15)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import closing
from typing import Any

import ollama
import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam

from tests.fixtures.gateway import ENVIRON, KEYS, Gateway, in_process

pytestmark = pytest.mark.llama

AUTH = {"authorization": f"Bearer {KEYS['research']}"}
USER: list[ChatCompletionMessageParam] = [{"role": "user", "content": "hi"}]

# (parameter as sent, the name the 400 must give); each one a type llama-cpp-python fails on
# with HTTP 500 or one the published API does not allow
OPENAI_CASES: list[tuple[dict[str, Any], str]] = [
    ({"top_k": "x"}, "top_k"),
    ({"logit_bias": {"abc": "x"}}, "logit_bias"),
    ({"logit_bias": {"abc": 5}}, "logit_bias"),
    ({"logit_bias": {"12": 500}}, "logit_bias"),
    ({"min_p": "x"}, "min_p"),
    ({"repeat_penalty": [1]}, "repeat_penalty"),
    ({"mirostat_mode": "x"}, "mirostat_mode"),
    ({"grammar": 5}, "grammar"),
    ({"grammar": "root ::= ("}, "grammar"),  # a malformed grammar stops llama-cpp-python
    ({"stop": [1, 2]}, "stop"),
    # a part's type that is a list: it was a 500 (an unhashable kind; found by the fuzz test)
    ({"messages": [{"role": "user", "content": [{"type": ["text"], "text": "x"}]}]}, "messages"),
    ({"logprobs": "yes"}, "logprobs"),
    ({"top_logprobs": "x"}, "top_logprobs"),
    ({"min_tokens": "x"}, "min_tokens"),
    ({"n_probs": 100000}, "n_probs"),  # llama.cpp's top_logprobs, past its bound of 20
    # llama.cpp's sampling parameters, known since unknown ones are refused
    ({"mirostat": 3}, "mirostat"),
    ({"repeat_last_n": -2}, "repeat_last_n"),
    ({"dry_sequence_breakers": []}, "dry_sequence_breakers"),  # llama-server's own 400
    ({"dry_base": 0.5}, "dry_base"),
    ({"xtc_probability": 2}, "xtc_probability"),
    ({"dynatemp_range": "x"}, "dynatemp_range"),
    ({"stop_token_ids": [-1]}, "stop_token_ids"),
    ({"function_call": 5}, "function_call"),
    ({"parallel_tool_calls": "x"}, "parallel_tool_calls"),
    ({"metadata": {"team": 1}}, "metadata"),
    ({"response_format": {"type": "json_schema"}}, "response_format"),
    ({"response_format": {"type": "json_schema", "json_schema": {"schema": 5}}}, "response_format"),
    ({"tools": [{"type": "function", "function": {"name": 5}}]}, "tools"),
    ({"tools": [{"type": "function", "function": {"name": "f", "parameters": "x"}}]}, "tools"),
    (
        {
            "messages": [
                {"role": "user", "content": "hi"},
                {"role": "assistant", "tool_calls": [
                    {"id": "c", "type": "function", "function": {"name": "f", "arguments": {}}}
                ]},
            ]
        },
        "messages",
    ),
]  # fmt: skip


@pytest.fixture
def gateway(offline_gateway: Gateway) -> Gateway:
    """The refusals are answered before any backend is asked: its backend is a closed port (a
    wrong type let through would be a 503 there, not the 400 these tests expect)."""
    return offline_gateway


@pytest.fixture
def client(gateway: Gateway) -> Iterator[openai.OpenAI]:
    made = gateway.openai(KEYS["research"], max_retries=0)
    yield made
    made.close()


@pytest.mark.parametrize(("extra", "name"), OPENAI_CASES, ids=[n for _, n in OPENAI_CASES])
def test_a_wrong_type_of_a_known_openai_parameter_is_a_400_naming_it(
    client: openai.OpenAI, extra: dict[str, Any], name: str
) -> None:
    messages = extra.get("messages", USER)
    rest = {k: v for k, v in extra.items() if k != "messages"}
    for stream in (False, True):
        with pytest.raises(openai.BadRequestError) as caught:
            client.chat.completions.create(
                model="tiny-small", messages=messages, stream=stream, max_tokens=2, extra_body=rest
            )
        error = caught.value.body
        assert isinstance(error, dict)
        assert error["param"].startswith(name), error
        assert error["code"] == "invalid_request"


# what the gateway governs itself and an open-model server would also take from the request:
# llama.cpp's server reads n_predict before max_tokens (past the cap, the rate limit and the
# budget's reservation); lora answers with another model than the one permitted
GOVERNED: list[dict[str, object]] = [
    {"n_predict": 30000},
    {"n_predict": -1},
    {"max_new_tokens": 30000},
    {"lora": [{"id": 0, "scale": 1.0}]},
    {"id_slot": 0},
    {"n_cmpl": 8},
    {"grammar": 'root ::= "a"'},
    {"priority": -10},
    {"kv_transfer_params": {"do_remote_prefill": True, "remote_host": "10.0.0.5"}},
]


@pytest.mark.parametrize("extra", GOVERNED, ids=[next(iter(e)) for e in GOVERNED])
def test_what_the_gateway_governs_is_refused_on_every_endpoint_that_passes_parameters_on(
    client: openai.OpenAI, extra: dict[str, Any]
) -> None:
    """Chat, completions and responses alike, plain and streamed: a 400 naming the parameter and
    the parameter to use, before a backend is asked (the gateway's backend is a closed port)."""
    (name,) = extra
    calls: list[Callable[[bool], object]] = [
        lambda stream: client.chat.completions.create(
            model="tiny-small", messages=USER, stream=stream, max_tokens=2, extra_body=extra
        ),
        lambda stream: client.completions.create(
            model="tiny-small", prompt="hi", stream=stream, max_tokens=2, extra_body=extra
        ),
        lambda stream: client.responses.create(
            model="tiny-small", input="hi", stream=stream, max_output_tokens=16, extra_body=extra
        ),
    ]
    for call in calls:
        for stream in (False, True):
            with pytest.raises(openai.BadRequestError) as caught:
                call(stream)
            error = caught.value.body
            assert isinstance(error, dict)
            assert error["param"] == name, error
            assert "is not passed on" in error["message"], error
            if name in ("n_predict", "max_new_tokens"):
                assert "max_tokens" in error["message"]


COMPLETION_CASES = [
    ({"top_k": "x"}, "top_k"),
    ({"min_p": 2}, "min_p"),
    ({"logit_bias": {"abc": 5}}, "logit_bias"),
    ({"mirostat": 3}, "mirostat"),
]


@pytest.mark.parametrize(("extra", "name"), COMPLETION_CASES, ids=[n for _, n in COMPLETION_CASES])
def test_a_text_completion_checks_the_sampling_parameters_chat_checks(
    client: openai.OpenAI, extra: dict[str, Any], name: str
) -> None:
    """``/v1/completions`` passed them on unchecked (llama-cpp-python's HTTP 500 for a wrong
    type counted against the backend): a 400 naming the parameter, before a backend is asked."""
    for stream in (False, True):
        with pytest.raises(openai.BadRequestError) as caught:
            client.completions.create(
                model="tiny-small", prompt="hi", stream=stream, max_tokens=2, extra_body=extra
            )
        error = caught.value.body
        assert isinstance(error, dict)
        assert error["param"].startswith(name), error
        assert error["code"] == "invalid_request"


OLLAMA_CASES: list[tuple[dict[str, Any], str]] = [
    (  # an assistant tool call whose function name is a number: llama-cpp-python's 500
        {"messages": [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": "", "tool_calls": [
                {"function": {"name": 7, "arguments": {}}}
            ]},
        ]},
        "messages.1.tool_calls.0.function.name",
    ),
    (
        {"messages": [
            {"role": "assistant", "content": "", "tool_calls": [
                {"function": {"name": "f", "arguments": "x"}}
            ]},
        ]},
        "messages.0.tool_calls.0.function.arguments",
    ),
    ({"options": {"top_k": "x"}}, "options.top_k"),
    ({"options": {"num_ctx": 1.5}}, "options.num_ctx"),
    ({"options": {"stop": [1]}}, "options.stop"),
    ({"format": "yaml"}, "format"),
    ({"think": "very"}, "think"),
    ({"tools": [{"type": "function", "function": {"name": 5}}]}, "tools"),
]  # fmt: skip


@pytest.mark.parametrize(("extra", "where"), OLLAMA_CASES, ids=[w for _, w in OLLAMA_CASES])
def test_a_wrong_type_of_a_known_ollama_parameter_is_a_400_naming_it(
    gateway: Gateway, extra: dict[str, Any], where: str
) -> None:
    # sent as raw JSON: the ollama library checks these types itself before sending
    for stream in (False, True):
        body = {"model": "tiny-small", "messages": USER, "stream": stream, **extra}
        response = gateway.post("/api/chat", json=body, headers=AUTH, timeout=60)
        assert response.status_code == 400, response.text
        assert response.json()["error"].startswith(where), response.json()


def test_ollama_options_of_the_wrong_type_are_refused_through_the_ollama_library(
    gateway: Gateway,
) -> None:
    with closing(gateway.ollama(headers=AUTH)) as client:
        with pytest.raises(ollama.ResponseError) as caught:
            client.chat(model="tiny-small", messages=USER, options={"top_k": "x"}, stream=False)
        assert caught.value.status_code == 400
        assert "options.top_k" in caught.value.error
        with pytest.raises(ollama.ResponseError) as caught:
            client.generate(
                model="tiny-small", prompt="hi", options={"mirostat": "x"}, stream=False
            )
        assert caught.value.status_code == 400
        assert "options.mirostat" in caught.value.error


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/chat/completions", b'{"model": "tiny-small", "model": "tiny-large", "messages": []}'),
        ("/v1/embeddings", b'{"model": "tiny-embed", "input": "a", "input": ["b"]}'),
        ("/api/chat", b'{"model": "tiny-small", "stream": false, "messages": [{"role": "user",'
         b' "content": "hi", "role": "system"}]}'),
        ("/api/generate", b'{"model": "tiny-small", "prompt": "a", "options": {"seed": 1,'
         b' "seed": 2}}'),
        ("/api/embed", b'{"model": "tiny-embed", "input": "a", "model": "tiny-small"}'),
        ("/api/show", b'{"model": "tiny-small", "model": "tiny-large"}'),
    ],
)  # fmt: skip
def test_a_body_naming_a_key_twice_is_a_400(gateway: Gateway, path: str, body: bytes) -> None:
    if path == "/v1/chat/completions":
        body = body.replace(b'"messages": []', b'"messages": [{"role": "user", "content": "x"}]')
    response = gateway.post(
        path, content=body, headers={**AUTH, "content-type": "application/json"}
    )
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    message = error if isinstance(error, str) else error["message"]
    assert "twice" in message


def test_the_admin_api_refuses_a_key_named_twice_after_checking_the_key(
    gateway_raw: dict[str, Any],
) -> None:
    admin = "sk-stw-test-admin-7d1c0e9f2b3a4e55"
    raw = {**gateway_raw}
    raw["departments"] = [
        *gateway_raw["departments"],
        {"name": "it", "keys": [{"id": "it-1", "key_env": "STW_TEST_ADMIN", "role": "admin"}]},
    ]
    body = b'{"department": "research", "department": "legal"}'
    with in_process(raw, {**ENVIRON, "STW_TEST_ADMIN": admin}) as gw:
        url = "/admin/keys"
        headers = {"content-type": "application/json"}
        assert gw.post(url, content=body, headers=headers).status_code == 401
        answer = gw.post(url, content=body, headers={**headers, "authorization": f"Bearer {admin}"})
        assert answer.status_code == 400, answer.text
        assert "'department' twice" in answer.json()["error"]["message"]


def test_a_long_name_is_echoed_cut_short(gateway_raw: dict[str, Any]) -> None:
    raw = {**gateway_raw, "server": {**gateway_raw["server"], "max_body_bytes": 1_000_000}}
    with in_process(raw) as gw:
        client = gw.openai(KEYS["research"], max_retries=0)
        with pytest.raises(openai.BadRequestError) as caught:
            client.chat.completions.create(model="m" * 100_000, messages=USER)
        client.close()
        assert len(caught.value.message) < 300
        response = gw.post(
            "/api/chat",
            json={"model": "x" * 200, "messages": USER, "stream": False},
            headers=AUTH,
        )
        assert response.status_code == 404
        assert len(response.json()["error"]) < 300
        long_key = "9" * 5000 + "x"
        response = gw.post(
            "/v1/chat/completions",
            json={"model": "tiny-small", "messages": USER, "logit_bias": {long_key: 1}},
            headers=AUTH,
        )
        assert response.status_code == 400
        assert len(response.json()["error"]["message"]) < 400
