"""What Ollama refuses, the gateway refuses (walk 19, O1 and O2): a ``keep_alive`` that is no
duration Go's ``time.ParseDuration`` reads (``"forever"``, ``"300"``, ``"1d"``) and a ``format``
object that is no JSON schema (``{"type": "nonsense"}``, a ``$ref`` to another document) are a 400
in Ollama's error format naming the field, and a ``response_format.json_schema.schema`` (or the
Responses API's ``text.format.schema``) that is none a 400 naming its place; so is a tool's
``parameters`` on chat completions, the Responses API and Ollama's ``/api/chat``. Before, each
passed: the model server turned the schema into no grammar, and the answer merely started with
``{`` (a tool call's arguments followed no schema).

Through the real ``ollama`` and ``openai`` libraries; every refusal is answered before a backend is
asked (the backend is a closed port), and so are Ollama's loads, which take any valid duration.
"""

from __future__ import annotations

from typing import Any

import ollama
import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam

from stellwerk.gateway.ollama_duration import duration_ns
from tests.fixtures.gateway import KEYS, Gateway

HI: list[ChatCompletionMessageParam] = [{"role": "user", "content": "hi"}]
DURATION_SAID = (
    "send a number of seconds, or a duration such as '5m', '1h30m' or '300ms' (negative: keep"
    " the model loaded; 0: unload it)"
)


@pytest.mark.parametrize(
    ("keep_alive", "why"),
    [
        ("forever", "'forever' does not begin with a number"),
        ("300", "a number has no unit (ns, us, ms, s, m, h)"),
        ("1d", "'d' is not a unit (ns, us, ms, s, m, h)"),
        ("5 m", "' m' is not a unit (ns, us, ms, s, m, h)"),
        ("", "it is empty"),
        ("3000000h", "it is longer than Go's longest duration, about 292 years"),
    ],
)
def test_a_keep_alive_ollama_refuses_is_refused_naming_it(
    offline_gateway: Gateway, keep_alive: str, why: str
) -> None:
    client = offline_gateway.ollama(KEYS["research"])
    for ask in (
        lambda: client.chat(model="tiny-small", messages=HI, keep_alive=keep_alive),
        lambda: client.generate(model="tiny-small", keep_alive=keep_alive),  # a load
        lambda: client.embed(model="tiny-embed", input="hi", keep_alive=keep_alive),
    ):
        with pytest.raises(ollama.ResponseError) as refused:
            ask()
        assert refused.value.status_code == 400
        assert refused.value.error == (
            f"keep_alive: {keep_alive!r} is not a duration Ollama reads: {why}; {DURATION_SAID}"
        )


def test_a_keep_alive_ollama_takes_is_taken_and_only_such(offline_gateway: Gateway) -> None:
    """Every form Ollama reads loads (the check refuses no more than Ollama does); the word
    beside them does not."""
    client = offline_gateway.ollama(KEYS["research"])
    for taken in ("5m", "1h30m", "-1m", "+5m", ".5s", "10ms", "1µs", -1, 300, 2.5):
        loaded = client.chat(model="tiny-small", messages=[], keep_alive=taken)
        assert loaded.done_reason == "load", taken
    with pytest.raises(ollama.ResponseError) as refused:
        client.chat(model="tiny-small", messages=[], keep_alive="forever")
    assert refused.value.status_code == 400


@pytest.mark.parametrize(
    ("text", "nanoseconds"),
    [("1h30m", 5_400_000_000_000), ("-1.5s", -1_500_000_000), ("1µs", 1_000), ("0", 0)],
)
def test_a_duration_is_read_as_go_reads_it(text: str, nanoseconds: int) -> None:
    assert duration_ns(text) == nanoseconds


#: (format, where and why it is none)
NOT_SCHEMAS = [
    ({"type": "nonsense"},
     "type: 'nonsense' is not a JSON Schema type (array, boolean, integer, null, number, object,"
     " string)"),
    ({"$ref": "http://evil.example/schema.json"},
     "$ref: 'http://evil.example/schema.json' is not a reference inside the schema (one that"
     " starts with '#', such as '#/$defs/address'); a model server would fetch another document"),
    ({"type": "object", "properties": {"age": {"type": "integer", "minimum": "5"}}},
     "properties.age.minimum: a number, not a string"),
    ({"type": "object", "required": "age"}, "required: a list of property names (strings)"),
    ({"anyOf": []}, "anyOf: a list of schemas (one or more)"),
]  # fmt: skip


@pytest.mark.parametrize(("schema", "why"), NOT_SCHEMAS)
def test_a_format_that_is_no_json_schema_is_refused_naming_it(
    offline_gateway: Gateway, schema: dict[str, Any], why: str
) -> None:
    client = offline_gateway.ollama(KEYS["research"])
    with pytest.raises(ollama.ResponseError) as refused:
        client.chat(model="tiny-small", messages=HI, format=schema)
    assert refused.value.status_code == 400
    assert refused.value.error == f"format: not a JSON schema of the answer: {why}"


@pytest.mark.parametrize(("schema", "why"), NOT_SCHEMAS)
def test_a_response_format_schema_that_is_none_is_refused_naming_its_place(
    offline_gateway: Gateway, schema: dict[str, Any], why: str
) -> None:
    with offline_gateway.openai(KEYS["research"], max_retries=0) as client:
        with pytest.raises(openai.BadRequestError) as chat:
            client.chat.completions.create(
                model="tiny-small",
                messages=HI,
                response_format={
                    "type": "json_schema",
                    "json_schema": {"name": "a", "schema": schema},
                },
            )
        with pytest.raises(openai.BadRequestError) as responses:
            client.responses.create(
                model="tiny-small",
                input="hi",
                text={"format": {"type": "json_schema", "name": "a", "schema": schema}},
            )
    assert chat.value.param == "response_format.json_schema.schema"
    assert chat.value.body["message"] == f"response_format.json_schema: schema.{why}"  # type: ignore[index]
    assert responses.value.param == "text.format.schema"
    assert responses.value.body["message"] == f"text.format: schema.{why}"  # type: ignore[index]


def _tools(schema: dict[str, Any]) -> list[Any]:
    """Two tools in chat's (and Ollama's) shape, the second's parameters ``schema``."""
    fine = {"type": "object", "properties": {"city": {"type": "string"}}}
    return [
        {"type": "function", "function": {"name": name, "parameters": parameters}}
        for name, parameters in (("weather", fine), ("heat", schema))
    ]


@pytest.mark.parametrize(("schema", "why"), NOT_SCHEMAS)
def test_a_tools_parameters_that_are_no_schema_are_refused_naming_the_place(
    offline_gateway: Gateway, schema: dict[str, Any], why: str
) -> None:
    """On chat completions and the Responses API (the real ``openai`` library) and on Ollama's
    ``/api/chat`` (its wire, as a client sends it: the ``ollama`` library drops the keywords
    its tool model does not name), each in its API's error format."""
    place = why.split(": ")[0]
    tools = _tools(schema)
    flat: Any = [{"type": "function", **tool["function"]} for tool in tools]  # Responses API
    with offline_gateway.openai(KEYS["research"], max_retries=0) as client:
        with pytest.raises(openai.BadRequestError) as chat:
            client.chat.completions.create(model="tiny-small", messages=HI, tools=tools)
        with pytest.raises(openai.BadRequestError) as responses:
            client.responses.create(model="tiny-small", input="hi", tools=flat)
    ollama_chat = offline_gateway.post(
        "/api/chat",
        headers={"authorization": f"Bearer {KEYS['research']}"},
        json={"model": "tiny-small", "messages": HI, "tools": tools, "stream": False},
    )
    assert chat.value.param == f"tools[1].function.parameters.{place}"
    assert chat.value.body["message"] == f"tools[1].function.parameters.{why}"  # type: ignore[index]
    assert responses.value.param == f"tools.1.parameters.{place}"
    assert responses.value.body["message"] == f"tools.1.parameters.{why}"  # type: ignore[index]
    assert (ollama_chat.status_code, ollama_chat.json()) == (
        400,
        {"error": f"tools[1].function.parameters.{why}"},
    )


def test_an_ollama_clients_tool_whose_parameters_are_no_schema_is_refused(
    offline_gateway: Gateway,
) -> None:
    """The real ``ollama`` library passes a property's ``type`` on as it is given."""
    schema = {"type": "object", "properties": {"age": {"type": "nonsense"}}}
    with pytest.raises(ollama.ResponseError) as refused:
        offline_gateway.ollama(KEYS["research"]).chat(
            model="tiny-small", messages=HI, tools=_tools(schema)
        )
    assert refused.value.status_code == 400
    assert refused.value.error == (
        "tools[1].function.parameters.properties.age.type: 'nonsense' is not a JSON Schema type"
        " (array, boolean, integer, null, number, object, string)"
    )
