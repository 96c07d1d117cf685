"""Bad input gets a 4xx in the API's own error format (never a 500), and still a usage record."""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Callable
from contextlib import closing
from typing import Any

import httpx
import ollama
import openai
import pytest

from tests.fixtures.gateway import KEYS, Gateway

AUTH = {"authorization": f"Bearer {KEYS['research']}"}
LEGAL = {"authorization": f"Bearer {KEYS['legal']}"}
CHAT = {"model": "tiny-small", "messages": [{"role": "user", "content": "hi"}]}

CASES: list[tuple[str, dict[str, str], bytes | dict[str, Any], int, str]] = [
    ("malformed JSON", AUTH, b'{"model": "tiny-small", "messages": [', 400, "not valid JSON"),
    ("not an object", AUTH, b"[1, 2]", 400, "JSON object"),
    ("empty body", AUTH, b"", 400, "empty"),
    ("missing messages", AUTH, {"model": "tiny-small"}, 400, "messages"),
    ("empty messages", AUTH, {**CHAT, "messages": []}, 400, "messages"),
    ("wrong type", AUTH, {**CHAT, "max_tokens": "many"}, 400, "max_tokens"),
    ("bad role", AUTH, {**CHAT, "messages": [{"role": "wizard", "content": "x"}]}, 400, "role"),
    ("temperature range", AUTH, {**CHAT, "temperature": 7}, 400, "temperature"),
    ("unknown model", AUTH, {**CHAT, "model": "gpt-17"}, 404, "does not exist"),
    # a model the key does not see (retired, off its lists) is as unknown as one that is not
    ("retired model", AUTH, {**CHAT, "model": "tiny-retired"}, 404, "does not exist"),
    ("forbidden model", LEGAL, {**CHAT, "model": "tiny-large"}, 404, "does not exist"),
    ("no key", {}, CHAT, 401, "no API key"),
    ("unknown key", {"authorization": "Bearer sk-nope"}, CHAT, 401, "unknown API key"),
    ("not bearer", {"authorization": "Basic abc"}, CHAT, 401, "Bearer"),
    (
        "too large",
        AUTH,
        {**CHAT, "messages": [{"role": "user", "content": "x" * 70_000}]},
        413,
        "over the limit",
    ),
]


#: Ollama reads a chat without messages as its load of the model (test_ollama_client.py)
OLLAMA_LOADS = {"missing messages", "empty messages"}


def as_ollama(body: bytes | dict[str, Any]) -> bytes | dict[str, Any]:
    """The same request in Ollama's shape: sampling parameters under ``options``."""
    if isinstance(body, bytes):
        return body
    out = {k: v for k, v in body.items() if k not in {"max_tokens", "temperature"}}
    options = {"num_predict": body.get("max_tokens"), "temperature": body.get("temperature")}
    options = {k: v for k, v in options.items() if v is not None}
    return {**out, "stream": False, **({"options": options} if options else {})}


def _post(
    gateway: Gateway, path: str, headers: dict[str, str], body: bytes | dict[str, Any]
) -> httpx.Response:
    if isinstance(body, bytes):
        return gateway.post(
            path, content=body, headers={**headers, "content-type": "application/json"}
        )
    return gateway.post(path, json=body, headers=headers)


def test_every_bad_request_is_refused_clearly_and_recorded(offline_gateway: Gateway) -> None:
    for name, headers, body, status, text in CASES:
        response = _post(offline_gateway, "/v1/chat/completions", headers, body)
        assert response.status_code == status, name
        error = response.json()["error"]
        assert set(error) == {"message", "type", "param", "code"}, name
        assert text in error["message"], (name, error["message"])

        response = _post(offline_gateway, "/api/chat", headers, as_ollama(body))
        if name in OLLAMA_LOADS:  # no backend asked: the gateway is offline
            assert response.json()["done_reason"] == "load", name
            continue
        assert response.status_code == status, ("ollama", name)
        assert set(response.json()) == {"error"}, name
        expected = {"max_tokens": "num_predict"}.get(text, text)
        assert expected in response.json()["error"], ("ollama", name)


def test_unknown_endpoint_and_method_use_the_envelope(offline_gateway: Gateway) -> None:
    response = offline_gateway.get("/v1/nothing-here", headers=AUTH)
    assert response.status_code == 404
    assert "no such endpoint" in response.json()["error"]["message"]
    response = offline_gateway.get("/v1/chat/completions", headers=AUTH)
    assert response.status_code == 405
    assert response.json()["error"]["type"] == "invalid_request_error"


@pytest.mark.parametrize(
    "path",
    ["/v1/models%0A", "/api/tags%0A", "/metrics%0A", "/readyz%0A", "/v1/models/tiny-small%0A"],
)
def test_a_path_with_a_line_break_at_its_end_is_an_unknown_endpoint(
    offline_gateway: Gateway, path: str
) -> None:
    """walk16 W16-5: ``/v1/models%0A`` was served as ``/v1/models`` (Python's ``$`` matches
    before a final line break), passing a proxy rule that blocks a path by its exact text."""
    answer = offline_gateway.get(path, headers=AUTH)
    assert answer.status_code == 404, answer.text
    shown = repr(path.replace("%0A", "\n"))
    message = answer.json()["error"]
    message = message if path.startswith("/api/") else message["message"]
    assert message.startswith(f"no such endpoint: {shown}"), message


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/admin/keys/"),
        ("GET", "/admin/keys%2F"),
        ("POST", "/v1/chat/completions/"),
        ("GET", "/v1/feedback/"),
        ("GET", "/api/tags/"),
        ("POST", "/api/chat/"),
        ("GET", "/healthz/"),
        ("GET", "/metrics/"),
    ],
)
def test_a_trailing_slash_is_an_unknown_endpoint_not_a_redirect(
    offline_gateway: Gateway, method: str, path: str
) -> None:
    """walk15 LOW-6: ``/admin/keys/`` answered 307 to ``http://<the client's Host>/admin/keys``
    (Starlette's redirect_slashes): behind a TLS proxy a downgrade to http, and a client that
    sends a 307's body again sends it there. Now the 404 every unknown path gets."""
    answer = offline_gateway.request(
        method, path, headers={**AUTH, "host": "evil.example"}, json={}
    )
    assert answer.status_code == 404 and "location" not in answer.headers
    shown = repr(path.replace("%2F", "/"))
    if path.startswith("/api/"):
        assert answer.json() == {"error": f"no such endpoint: {shown}"}
    else:
        assert answer.json()["error"]["message"] == f"no such endpoint: {shown}"


def test_the_dashboard_keeps_its_own_slash_answers(offline_gateway: Gateway) -> None:
    """Below /dashboard a slash too many is the dashboard's HTML 404 page; ``/dashboard/``
    itself is sent to ``/dashboard`` by a relative address, never by the client's Host."""
    page = offline_gateway.get("/dashboard/login/", headers={"host": "evil.example"})
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    home = offline_gateway.get("/dashboard/", headers={"host": "evil.example"})
    assert home.status_code == 307 and home.headers["location"] == "/dashboard"


def test_feedback_on_the_ollama_side_points_to_v1_feedback(offline_gateway: Gateway) -> None:
    """walk14 14-7: Ollama's API has no feedback; ``/api/feedback`` says where it is, in Ollama's
    error shape; other unknown paths are answered as before."""
    response = offline_gateway.post(
        "/api/feedback", json={"request_id": "x", "score": 1}, headers=AUTH
    )
    assert response.status_code == 404
    assert response.json() == {
        "error": "no such endpoint: '/api/feedback'; feedback is POST /v1/feedback,"
        " for the OpenAI and the Ollama API alike"
    }
    other = offline_gateway.post("/api/nothing-here", json={}, headers=AUTH)
    assert other.json() == {"error": "no such endpoint: '/api/nothing-here'"}


def test_embedding_input_errors(offline_gateway: Gateway) -> None:
    url = "/v1/embeddings"
    response = offline_gateway.post(url, json={"model": "tiny-embed", "input": []}, headers=AUTH)
    assert response.status_code == 400
    response = offline_gateway.post(url, json={"model": "tiny-small", "input": "x"}, headers=AUTH)
    assert response.status_code == 400
    assert "does not support embeddings" in response.json()["error"]["message"]
    response = offline_gateway.post(url, json={"model": "auto", "input": "x"}, headers=AUTH)
    assert response.status_code == 400


def test_ollama_embed_refuses_routes_and_empty_input_like_openai(offline_gateway: Gateway) -> None:
    url = "/api/embed"
    response = offline_gateway.post(url, json={"model": "auto", "input": "x"}, headers=AUTH)
    assert response.status_code == 400
    assert "name an embedding model" in response.json()["error"]
    response = offline_gateway.post(url, json={"model": "tiny-embed", "input": [""]}, headers=AUTH)
    assert response.status_code == 400
    assert "non-empty" in response.json()["error"]


OLLAMA_CHAT = {"model": "tiny-small", "messages": [{"role": "user", "content": "hi"}]}


@pytest.mark.parametrize(
    ("path", "body", "text"),
    [
        ("/api/chat", {**OLLAMA_CHAT, "options": [1]}, "options must be a JSON object"),
        ("/v1/chat/completions", {**CHAT, "stream_options": [1]}, "stream_options must be a"),
        (
            "/api/chat",
            {**OLLAMA_CHAT, "messages": [{"role": "user", "content": "x", "images": ["%%"]}]},
            "messages.0.images.0: the image is not valid base64",
        ),
        (
            "/api/generate",
            {"model": "tiny-small", "prompt": "x", "images": ["aGk=", "not base64!"]},
            "images.1: the image is not valid base64",
        ),
        ("/api/show", {"model": "nope"}, "model 'nope' not found"),  # as Ollama says it
        ("/v1/chat/completions", {**CHAT, "model": "nope"}, "GET /v1/models (OpenAI API)"),
    ],
)
def test_an_error_names_what_is_wrong(
    offline_gateway: Gateway, path: str, body: dict[str, Any], text: str
) -> None:
    response = offline_gateway.post(path, json=body, headers=AUTH)
    assert 400 <= response.status_code < 500
    error = response.json()["error"]
    assert text in (error if isinstance(error, str) else error["message"])


ONE = b'{"role": "user", "content": "hi"}'
ONE_MESSAGE = {"role": "user", "content": "hi"}


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity"])
@pytest.mark.parametrize(
    ("path", "body", "place"),
    [
        ("/v1/chat/completions", b'{"model": "m", "messages": [%s], "temperature": %%s}' % ONE,
         "temperature"),
        ("/api/chat", b'{"model": "m", "messages": [%s], "options": {"temperature": %%s}}' % ONE,
         "options.temperature"),
        ("/v1/completions", b'{"model": "tiny-small", "prompt": "x", "top_p": %s}', "top_p"),
    ],
)  # fmt: skip
def test_a_number_that_is_not_finite_is_called_so(
    offline_gateway: Gateway, path: str, body: bytes, place: str, value: str
) -> None:
    """Once: pydantic's "Input should be a finite number" at the same place said it again."""
    response = _post(offline_gateway, path, AUTH, body % value.encode())
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error if isinstance(error, str) else error["message"]) == (
        f"{place}: {value} is not a finite number (NaN and Infinity are not JSON; a backend"
        " cannot read them)"
    )


# A parameter the gateway does not know, NaN or infinite (or past a double's range, which a JSON
# parser reads as infinity): refused by name, never passed on (the backend is a closed port: a
# request passed on would be a 503, not this 400).
@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "1e999", "-1.5e400"])
@pytest.mark.parametrize(
    ("path", "body", "param"),
    [
        ("/v1/chat/completions", b'{"model": "tiny-small", "messages": [%s], "x_boost": %%s}' % ONE,
         "x_boost"),
        ("/v1/chat/completions",
         b'{"model": "tiny-small", "messages": [%s], "x_opts": {"w": [1, %%s]}}' % ONE,
         "x_opts.w.1"),
        ("/v1/completions", b'{"model": "tiny-small", "prompt": "x", "x_boost": %s}', "x_boost"),
        ("/v1/embeddings", b'{"model": "tiny-embed", "input": "x", "x_scale": %s}', "x_scale"),
        ("/v1/responses", b'{"model": "tiny-small", "input": "x", "x_boost": %s}', "x_boost"),
    ],
)  # fmt: skip
def test_an_unknown_parameter_that_is_not_finite_is_refused_by_name(
    offline_gateway: Gateway, path: str, body: bytes, param: str, value: str
) -> None:
    response = _post(offline_gateway, path, AUTH, body % value.encode())
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["param"] == param and error["type"] == "invalid_request_error"
    why = (
        "NaN and Infinity are not JSON; a backend cannot read them"
        if value.strip("-").isalpha()
        else "past the range of a double, ±1.8e308: a backend would read it as infinity, or null"
    )
    assert error["message"] == f"{param}: {value} is not a finite number ({why})"


SURROGATE_HINT = (
    "a character outside the Basic Multilingual Plane is escaped as a pair (\\ud83d\\ude00),"
    " or sent as UTF-8"
)


@pytest.mark.parametrize(
    ("path", "body", "where", "what"),
    [
        ("/v1/chat/completions",
         b'{"model": "tiny-small", "messages": [{"role": "user", "content": "a\\ud800b"}]}',
         "messages.0.content", "a lone surrogate (\\ud800) near line 1 column 74"),
        ("/api/chat",
         b'{"model": "tiny-small", "messages": [{"role": "user", "content": "a\\udc00"}]}',
         "messages.0.content", "a lone surrogate (\\udc00) near line 1 column 73"),
        ("/v1/embeddings", b'{"model": "tiny-embed", "input": ["ok", "\\udfff"]}',
         "input.1", "a lone surrogate (\\udfff) near line 1 column 47"),
        ("/api/generate", b'{"model": "tiny-small", "prompt": "x", "x": {"\\ud83d": 1}}',
         "x", "a lone surrogate (\\ud83d) in a key near line 1 column 53"),
    ],
)  # fmt: skip
def test_a_lone_surrogate_is_named_by_where_it_is(
    offline_gateway: Gateway, path: str, body: bytes, where: str, what: str
) -> None:
    """``"\\ud800"`` alone is JSON no UTF-8 can carry: the 400 says where it is and what is wrong
    (it said ``Invalid JSON: unexpected end of hex escape``), in each API's format."""
    response = _post(offline_gateway, path, AUTH, body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    expected = f"{where}: not valid Unicode: {what}; {SURROGATE_HINT}"
    if path.startswith("/api/"):
        assert error == expected
    else:
        assert error["message"] == expected
        assert (error["param"], error["code"]) == (where, "invalid_unicode")


CHAT_BYTES = json.dumps({**CHAT, "max_tokens": 4}).encode()
NOT_JSON = "request body is not valid JSON: "
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"  # a zstd frame begins so


def _utf(encoding: str) -> Callable[[bytes], bytes]:
    return lambda body: body.decode().encode(encoding)


@pytest.mark.parametrize(
    ("encode", "why"),
    [
        (lambda body: b"\xef\xbb\xbf" + body,
         "it starts with a byte order mark (U+FEFF); send UTF-8 without one"),
        (_utf("utf-16"), "it is UTF-16; send UTF-8"),  # with its byte order mark
        (_utf("utf-16-le"), "it is UTF-16; send UTF-8"),
        (_utf("utf-32-be"), "it is UTF-32; send UTF-8"),
        (gzip.compress,
         "it is gzip-compressed, and the gateway reads no content-encoding; send it uncompressed"),
        (lambda body: ZSTD_MAGIC + body,
         "it is zstd-compressed, and the gateway reads no content-encoding; send it uncompressed"),
    ],
    ids=["bom", "utf-16", "utf-16-le", "utf-32-be", "gzip", "zstd"],
)  # fmt: skip
@pytest.mark.parametrize("path", ["/v1/chat/completions", "/api/chat"])
def test_a_body_no_parser_reads_is_told_why(
    offline_gateway: Gateway, path: str, encode: Callable[[bytes], bytes], why: str
) -> None:
    """A body with a byte order mark, in UTF-16 or UTF-32, or gzip- or zstd-compressed (by a
    client that did not say so: one that says so is refused before its body is read,
    tests/gateway/test_body_text.py) was "not valid JSON: expected value at line 1 column 1":
    the 400 says what is wrong with it, in each API's format."""
    body = CHAT_BYTES if path.startswith("/v1/") else json.dumps(OLLAMA_CHAT).encode()
    headers = {**AUTH, "content-type": "application/json"}
    response = offline_gateway.post(path, content=encode(body), headers=headers)
    assert response.status_code == 400, response.text
    if path.startswith("/api/"):
        assert response.json() == {"error": NOT_JSON + why}
    else:
        assert response.json()["error"] == {
            "message": NOT_JSON + why,
            "type": "invalid_request_error",
            "param": None,
            "code": "invalid_request",
        }


def _nested(levels: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(levels - 1):
        value = {"a": value}
    return value


TOO_DEEP = re.compile(
    r"request body is nested deeper than 200 levels at line 1 column \d+; no parameter nests"
    r" so deep"
)


def test_a_body_nested_too_deep_is_told_so_by_both_apis(offline_gateway: Gateway) -> None:
    """Nesting past pydantic's parser's limit was "not valid JSON: Invalid JSON: recursion
    limit exceeded": it is valid JSON, nested deeper than the gateway reads. The real clients
    send it as a parameter they pass on (OpenAI's ``extra_body``, Ollama's ``format``)."""
    with (
        offline_gateway.openai(KEYS["research"], max_retries=0) as client,
        pytest.raises(openai.BadRequestError) as caught,
    ):
        client.chat.completions.create(
            model="tiny-small",
            messages=[{"role": "user", "content": "hi"}],
            extra_body={"x_schema": _nested(250)},
        )
    assert caught.value.status_code == 400
    error = caught.value.body
    assert isinstance(error, dict)
    assert TOO_DEEP.fullmatch(error["message"]), error
    assert (error["param"], error["type"]) == (None, "invalid_request_error")
    with (
        closing(offline_gateway.ollama(headers=AUTH)) as local,
        pytest.raises(ollama.ResponseError) as refused,
    ):
        local.chat(model="tiny-small", messages=[{"role": "user", "content": "hi"}],
                   format=_nested(250), stream=False)  # fmt: skip
    assert refused.value.status_code == 400
    assert TOO_DEEP.fullmatch(refused.value.error), refused.value.error


MANY_WRONG = {"temperature": "hot", "top_p": 9, "seed": "s", "top_k": "k", "min_p": "m"}


@pytest.mark.parametrize(
    ("extra", "told"),
    [
        ({"temperature": "hot", "top_p": 9}, [
            "temperature: Input should be a valid number",
            "top_p: Input should be less than or equal to 1",
        ]),
        ({**MANY_WRONG, "typical_p": "t", "min_tokens": "n"}, [
            "temperature: Input should be a valid number",
            "top_p: Input should be less than or equal to 1",
            "seed: Input should be a valid integer",
            "top_k: Input should be a valid integer",
            "min_p: Input should be a valid number",
            "and 2 more problems",
        ]),
    ],
    ids=["two", "seven"],
)  # fmt: skip
def test_every_problem_of_a_body_is_told(
    offline_gateway: Gateway, extra: dict[str, Any], told: list[str]
) -> None:
    """A body with several problems is told all of them (the first five in full, then how many
    more), not the first and a count; ``param`` names the first."""
    with (
        offline_gateway.openai(KEYS["research"], max_retries=0) as client,
        pytest.raises(openai.BadRequestError) as caught,
    ):
        client.chat.completions.create(
            model="tiny-small", messages=[{"role": "user", "content": "hi"}], extra_body=extra
        )
    error = caught.value.body
    assert isinstance(error, dict)
    assert error["message"] == "; ".join(told)
    assert error["param"] == "temperature"


def test_every_problem_of_an_ollama_body_is_told(offline_gateway: Gateway) -> None:
    options = {"top_k": "x", "num_ctx": 1.5, "mirostat": "y"}
    with (
        closing(offline_gateway.ollama(headers=AUTH)) as client,
        pytest.raises(ollama.ResponseError) as caught,
    ):
        client.chat(model="tiny-small", messages=[{"role": "user", "content": "hi"}],
                    options=options, stream=False)  # fmt: skip
    assert caught.value.status_code == 400
    assert caught.value.error == (
        "options.top_k: Input should be a valid integer; options.mirostat: Input should be a"
        " valid integer; options.num_ctx: Input should be a valid integer"
    )


LONG = b"7" * 5000  # longer than Python converts to an int (4,300 digits)


# pydantic names the member of a union it tried (``messages.0.user.content``, ``input.list``):
# the param, and each problem, is named by its place in the body, as the client wrote it (where
# a string or a list would do, the problem is told once, by the member that takes the value's
# JSON type)
@pytest.mark.parametrize(
    ("path", "body", "param", "said"),
    [
        ("/v1/chat/completions",
         b'{"model": "tiny-small", "messages": [{"role": "user", "content": 5}]}',
         "messages.0.content", "messages.0.content: must be a string or a list"),
        ("/v1/chat/completions",
         b'{"model": "tiny-small", "messages": [{"role": "user"}]}',
         "messages.0.content", "messages.0.content: Field required"),
        ("/v1/chat/completions",
         b'{"model": "tiny-small", "messages": [{"role": "user", "content": [{"type": "text"}]}]}',
         "messages.0.content.0.text", "messages.0.content.0.text: Field required"),
        ("/v1/chat/completions",
         b'{"model": "tiny-small", "messages": [{"role": "assistant", "content": null,'
         b' "tool_calls": [{"id": "c", "type": "function",'
         b' "function": {"name": 5, "arguments": "{}"}}]}]}',
         "messages.0.tool_calls.0.function.name", "messages.0.tool_calls.0.function.name: "),
        ("/v1/embeddings", b'{"model": "tiny-embed", "input": ["ok", 5]}',
         "input.1", "input.1: Input should be a valid string"),
        ("/v1/completions", b'{"model": "tiny-small", "prompt": ["ok", 5]}',
         "prompt.1", "prompt.1: Input should be a valid string"),  # token ids: test_completions
        ("/v1/responses",
         b'{"model": "tiny-small", "input": [{"role": "user",'
         b' "content": [{"type": "input_text", "text": 5}]}]}',
         "input.0.content.0.text", "input.0.content.0.text: Input should be a valid string"),
        ("/v1/chat/completions",
         b'{"model": "tiny-small", "messages": [%s], "seed": %s}' % (ONE, LONG),
         "seed", "seed: an integer of 5000 digits is too long"),
        ("/v1/chat/completions",
         b'{"model": "tiny-small", "messages": [%s], "x_opts": {"w": [%s]}}' % (ONE, LONG),
         "x_opts.w.0", "x_opts.w.0: an integer of 5000 digits is too long"),
    ],
)  # fmt: skip
def test_a_param_is_the_place_in_the_body(
    offline_gateway: Gateway, path: str, body: bytes, param: str, said: str
) -> None:
    response = _post(offline_gateway, path, AUTH, body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["param"] == param, error
    assert said in error["message"], error["message"]
    for tag in (".user.", ".assistant.", ".text.text", ".list", ".input_text", ".str", "sys."):
        assert tag not in error["message"], error["message"]


# (path, body, param, message): a union's problem told once, at the place of the member that
# takes the value's JSON type (a list: the list's item; an object: its field)
UNION_CASES = [
    ("/v1/embeddings", {"model": "tiny-embed", "input": ["a", 5]},
     "input.1", "input.1: Input should be a valid string"),
    ("/v1/embeddings", {"model": "tiny-embed", "input": [["a"]]},
     "input.0", "input.0: Input should be a valid string"),
    ("/v1/embeddings", {"model": "tiny-embed", "input": 5},
     "input", "input: must be a string or a list"),
    ("/v1/chat/completions",
     {"model": "tiny-small", "messages": [ONE_MESSAGE, {"role": "user",
      "content": [{"type": "text", "text": 5}]}]},
     "messages.1.content.0.text", "messages.1.content.0.text: Input should be a valid string"),
    ("/v1/chat/completions",
     {"model": "tiny-small", "messages": [ONE_MESSAGE],
      "tool_choice": {"type": "function", "function": {"name": 5}}},
     "tool_choice.function.name", "tool_choice.function.name: Input should be a valid string"),
    ("/v1/chat/completions", {"model": "tiny-small", "messages": [ONE_MESSAGE], "tool_choice": 5},
     "tool_choice", "tool_choice: must be 'none', 'auto' or 'required', or a JSON object"),
    ("/v1/chat/completions", {"model": "tiny-small", "messages": [ONE_MESSAGE], "stop": [1]},
     "stop.0", "stop.0: Input should be a valid string"),
    ("/v1/completions", {"model": "tiny-small", "prompt": ["a", 5]},
     "prompt.1", "prompt.1: Input should be a valid string"),
    ("/v1/responses", {"model": "tiny-small", "input": 5},
     "input", "input: must be a string or a list"),
    ("/api/embed", {"model": "tiny-embed", "input": ["a", 5]},
     None, "input.1: Input should be a valid string"),
    ("/api/chat", {"model": "tiny-small", "messages": [ONE_MESSAGE], "format": 5},
     None, 'format: a number is not an output format: send "json", or a JSON schema of the'
     " answer (an object)"),
    # a word was told "Input should be '' or 'json'", as if a JSON schema were not taken
    ("/api/generate", {"model": "tiny-small", "prompt": "x", "format": "xml"},
     None, """format: 'xml' is not an output format: send "json", or a JSON schema of the"""
     " answer (an object)"),
]  # fmt: skip


@pytest.mark.parametrize(("path", "body", "param", "said"), UNION_CASES)
def test_a_union_is_told_once_at_the_place_of_the_matching_member(
    offline_gateway: Gateway, path: str, body: dict[str, Any], param: str | None, said: str
) -> None:
    response = offline_gateway.post(path, json=body, headers=AUTH)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    if path.startswith("/api/"):
        assert error == said
    else:
        assert (error["param"], error["message"]) == (param, said), error


def test_the_openai_library_sees_the_place_of_a_union_problem(offline_gateway: Gateway) -> None:
    """The real openai library, on each API with such a field: the error names the exact place,
    one problem (the ollama library checks these fields itself and sends no such request:
    /api/embed and /api/chat are in ``UNION_CASES``, sent raw)."""
    text = [{"type": "text", "text": 5}]
    calls: list[tuple[Any, str]] = [
        (lambda c: c.embeddings.create(model="tiny-embed", input=["a", 5]), "input.1"),
        (
            lambda c: c.chat.completions.create(
                model="tiny-small", messages=[ONE_MESSAGE, {"role": "user", "content": text}]
            ),
            "messages.1.content.0.text",
        ),
        (
            lambda c: c.chat.completions.create(
                model="tiny-small",
                messages=[ONE_MESSAGE],
                tool_choice={"type": "function", "function": {"name": 5}},
            ),
            "tool_choice.function.name",
        ),
        (lambda c: c.completions.create(model="tiny-small", prompt=["a", 5]), "prompt.1"),
        (lambda c: c.responses.create(model="tiny-small", input=5), "input"),
    ]
    client = offline_gateway.openai(KEYS["research"], max_retries=0)
    with client:
        for call, param in calls:
            with pytest.raises(openai.BadRequestError) as caught:
                call(client)
            assert caught.value.param == param
            body = caught.value.body
            assert isinstance(body, dict)
            message = body["message"]
            assert message.startswith(f"{param}: ") and "; " not in message, message


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/api/chat"])
def test_a_key_named_twice_is_told_with_the_other_problems(
    offline_gateway: Gateway, path: str
) -> None:
    """A key named twice is one of a body's problems, told first (as when it is the only one:
    its ``param`` and ``code``), not hidden by a problem pydantic finds; alone it is told
    alone."""
    twice = b'{"model": "tiny-small", "model": "x", "max_tokens": 2, "messages": %s}'
    named = "request body has the key 'model' twice in one object; send it once"
    # no messages is Ollama's load of the model (a 200), so the other problem is another there
    other, problem = (
        (b"[]", "messages: List should have at least 1 item after validation, not 0")
        if path.startswith("/v1")
        else (b'"x"', "messages: Input should be a valid array")
    )
    answer = _post(offline_gateway, path, AUTH, twice % other)
    assert answer.status_code == 400
    with_other = answer.json()["error"]
    told = with_other if path.startswith("/v1") else {"message": with_other}
    assert told["message"] == f"{named}; {problem}"
    if path.startswith("/v1"):
        assert (with_other["param"], with_other["code"]) == ("model", "duplicate_key")
    alone = _post(offline_gateway, path, AUTH, twice % json.dumps(CHAT["messages"]).encode())
    assert alone.status_code == 400
    error = alone.json()["error"]
    assert (error["message"] if path.startswith("/v1") else error) == named


@pytest.mark.parametrize(
    ("part", "said"),
    [
        (
            {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}},
            "audio input is not supported here",
        ),
        ({"type": "file", "file": {"file_id": "file-1"}}, "file input is not supported here"),
        ({"type": "video_url", "video_url": {"url": "x"}}, "content parts are 'text' or"),
    ],
    ids=["input_audio", "file", "unknown"],
)
def test_a_content_part_no_model_reads_is_refused_in_plain_words(
    offline_gateway: Gateway, part: dict[str, Any], said: str
) -> None:
    content = [{"type": "text", "text": "Was sagt sie?"}, part]
    with (
        offline_gateway.openai(KEYS["research"]) as client,
        pytest.raises(openai.BadRequestError) as err,
    ):
        client.chat.completions.create(
            model="tiny-small",
            messages=[{"role": "user", "content": content}],  # type: ignore[misc,list-item]
        )
    error = err.value.body
    assert isinstance(error, dict)
    assert error["message"].startswith(f"messages.0.content.1: {said}")
    assert error["param"].startswith("messages.0.content.1")
    assert "tag" not in error["message"]  # not the parser's words
