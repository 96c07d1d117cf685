"""The official ``openai`` library's Responses API (``client.responses``) through the gateway, in
front of the real llama.cpp server: plain, streamed (the library reads every event), a function
tool round trip, structured output, and the refusals of what the gateway does not keep."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from openai.types.responses import ResponseInputImageParam

from tests.fixtures.gateway import KEYS, Gateway, in_process

pytestmark = pytest.mark.llama

CHAT_MODELS = {"tiny-small", "tiny-medium", "tiny-large"}

WEATHER: Any = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather of a city",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}


@pytest.fixture
def client(gateway: Gateway) -> Iterator[openai.OpenAI]:
    with gateway.openai(KEYS["research"], max_retries=0) as made:
        yield made


def test_plain_response_through_auto(client: openai.OpenAI) -> None:
    raw = client.responses.with_raw_response.create(
        model="auto",
        instructions="Antworte kurz.",
        input="Hallo, wie geht es?",
        max_output_tokens=8,
    )
    response = raw.parse()
    assert response.object == "response"
    assert response.model in CHAT_MODELS
    assert raw.headers["x-stellwerk-model"] == response.model
    assert raw.headers["x-stellwerk-decision"].startswith("route=auto; router=")
    assert response.status in ("completed", "incomplete")
    assert response.output[0].type == "message"
    assert isinstance(response.output_text, str)
    assert response.usage is not None
    assert response.usage.input_tokens > 0
    assert 0 < response.usage.output_tokens <= 8
    assert response.usage.total_tokens == (
        response.usage.input_tokens + response.usage.output_tokens
    )
    assert response.model_dump()["store"] is False  # not a field of the SDK's Response


def test_instructions_and_input_are_the_chat_the_model_reads(client: openai.OpenAI) -> None:
    """The same conversation costs as many prompt tokens as a response and as a chat: the
    instructions became the system message, the items the messages."""
    response = client.responses.create(
        model="tiny-small",
        instructions="Antworte kurz.",
        input=[
            {"role": "user", "content": "Hallo"},
            {"role": "assistant", "content": "Guten Tag."},
            {"role": "user", "content": [{"type": "input_text", "text": "Wie geht es?"}]},
        ],
        max_output_tokens=4,
    )
    chat = client.chat.completions.create(
        model="tiny-small",
        messages=[
            {"role": "system", "content": "Antworte kurz."},
            {"role": "user", "content": "Hallo"},
            {"role": "assistant", "content": "Guten Tag."},
            {"role": "user", "content": "Wie geht es?"},
        ],
        max_tokens=4,
    )
    assert response.usage is not None and chat.usage is not None
    assert response.usage.input_tokens == chat.usage.prompt_tokens


def test_streamed_response_is_the_responses_event_sequence(client: openai.OpenAI) -> None:
    events = list(
        client.responses.create(
            model="auto", input="Zähle bis fünf.", max_output_tokens=6, stream=True
        )
    )
    kinds = [event.type for event in events]
    assert kinds[:5] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
    ]
    assert kinds[-1] == "response.completed"
    assert kinds[-4:-1] == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
    ]
    assert set(kinds[4:-4]) == {"response.output_text.delta"}
    assert [event.sequence_number for event in events] == list(range(len(events)))
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    done = next(e for e in events if e.type == "response.output_text.done")
    assert done.text == text
    response = events[-1].response  # type: ignore[union-attr]
    assert response.output_text == text
    assert response.usage is not None
    # llama-cpp-python sends no usage on streams: one output token per streamed piece
    assert response.usage.output_tokens == kinds.count("response.output_text.delta")
    assert response.usage.input_tokens > 0


VERDICT: Any = {
    "type": "json_schema",
    "name": "verdict",
    "schema": {
        "type": "object",
        "properties": {"approved": {"type": "boolean"}, "colour": {"enum": ["red", "blue"]}},
        "required": ["approved", "colour"],
        "additionalProperties": False,
    },
}


def test_stream_helper_accumulates_the_final_response(client: openai.OpenAI) -> None:
    """The library's ``responses.stream`` helper builds the response from the events; the
    schema's grammar makes even the random tiny model finish (``response.completed``)."""
    with client.responses.stream(
        model="auto", input="Urteil?", text={"format": VERDICT}, max_output_tokens=200
    ) as stream:
        deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert final.status == "completed"
    assert final.output_text == "".join(deltas)
    answer = json.loads(final.output_text)
    assert isinstance(answer["approved"], bool) and answer["colour"] in ("red", "blue")
    assert final.model in CHAT_MODELS


#: an earlier answer's call, as a client sends it back
CALL = {
    "type": "function_call",
    "call_id": "c1",
    "name": "get_weather",
    "arguments": '{"city": "Bern"}',
}


@pytest.mark.parametrize("choice", ["auto", "none"])
def test_a_tool_choice_without_tools_asks_for_nothing(client: openai.OpenAI, choice: Any) -> None:
    """OpenAI's Responses API takes ``tool_choice`` ``auto`` or ``none`` without tools (chat
    completions refuses it): answered with a message, as without the parameter."""
    response = client.responses.create(
        model="tiny-small", input="Hallo", tool_choice=choice, max_output_tokens=4
    )
    assert response.output[0].type == "message"
    assert response.tool_choice == choice


def _forced_call(client: openai.OpenAI, **extra: Any) -> Any:
    return client.responses.create(
        model="auto",
        input="Wie ist das Wetter in Bern?",
        tools=[WEATHER],
        tool_choice={"type": "function", "name": "get_weather"},
        max_output_tokens=40,
        **extra,
    )


def test_function_tool_round_trip(client: openai.OpenAI) -> None:
    first = _forced_call(client)
    assert first.model == "tiny-small"  # the only model with the tools capability
    calls = [item for item in first.output if item.type == "function_call"]
    assert len(calls) == 1
    call = calls[0]
    assert call.name == "get_weather" and call.call_id
    # random weights may run out of tokens inside the arguments: the shape is what counts
    assert call.arguments.startswith("{")
    try:
        json.loads(call.arguments)
    except ValueError:  # cut short: sent back whole (arguments that are no JSON are refused)
        call = call.model_copy(update={"arguments": '{"city": "Bern"}'})

    second = client.responses.create(
        model="auto",
        input=[
            {"role": "user", "content": "Wie ist das Wetter in Bern?"},
            call,  # the item as it came back
            {"type": "function_call_output", "call_id": call.call_id, "output": "sonnig, 21 °C"},
        ],
        tools=[WEATHER],
        max_output_tokens=8,
    )
    assert second.output[0].type == "message"
    assert second.usage is not None
    # the call and its output reached the model as part of the prompt
    assert second.usage.input_tokens > first.usage.input_tokens


def test_streamed_function_call_events(client: openai.OpenAI) -> None:
    events = list(_forced_call(client, stream=True))
    kinds = [event.type for event in events]
    added = next(e for e in events if e.type == "response.output_item.added")
    assert added.item.type == "function_call" and added.item.name == "get_weather"
    assert "response.function_call_arguments.delta" in kinds
    done = next(e for e in events if e.type == "response.function_call_arguments.done")
    deltas = [e.delta for e in events if e.type == "response.function_call_arguments.delta"]
    assert done.arguments == "".join(deltas)
    final = events[-1].response
    (item,) = [i for i in final.output if i.type == "function_call"]
    assert item.arguments == done.arguments and item.call_id == added.item.call_id


def test_json_schema_text_format(client: openai.OpenAI) -> None:
    response = client.responses.create(
        model="tiny-small",
        input="Gib ein Urteil.",
        text={"format": VERDICT},
        max_output_tokens=200,
    )
    assert response.status == "completed"
    answer = json.loads(response.output_text)
    assert isinstance(answer["approved"], bool) and answer["colour"] in ("red", "blue")


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ({"store": True}, "store"),
        ({"previous_response_id": "resp_123"}, "previous_response_id"),
        ({"tools": [{"type": "web_search"}]}, "tools.0.type"),
        ({"input": [{"type": "input_file", "file_id": "f"}]}, "input.0"),
    ],
)
def test_what_is_not_kept_or_run_is_refused(
    offline_gateway: Gateway, extra: dict[str, Any], named: str
) -> None:
    body = {"model": "auto", "input": "Hallo", **extra}
    answer = offline_gateway.post(
        "/v1/responses",
        json=body,
        headers={"authorization": f"Bearer {KEYS['research']}"},
    )
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["param"] == named
    if named in ("store", "previous_response_id"):
        assert "keeps no conversation state" in error["message"]
    if named == "tools.0.type":  # by its name, not as a function tool missing its name
        assert error["message"].startswith("tools.0: the hosted tool 'web_search' is not")
        assert "name" not in error["message"].split(";")[0].split("(")[0]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/responses", {"input": "Hallo"}),
        ("/v1/chat/completions", {"messages": [{"role": "user", "content": "Hallo"}]}),
    ],
)
@pytest.mark.parametrize("retention", ["bogus", "in-memory", "24H"])
def test_a_prompt_cache_retention_openai_does_not_name_is_refused_naming_it(
    offline_gateway: Gateway, path: str, body: dict[str, Any], retention: str
) -> None:
    """OpenAI's values are ``in_memory`` and ``24h``: another is told, not taken silently."""
    answer = offline_gateway.post(
        path,
        json={"model": "auto", **body, "prompt_cache_retention": retention},
        headers={"authorization": f"Bearer {KEYS['research']}"},
    )
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["param"] == "prompt_cache_retention"
    assert "'in_memory'" in error["message"] and "'24h'" in error["message"]


@pytest.mark.parametrize(
    ("items", "named", "said"),
    [
        (
            [{"type": "function_call_output", "call_id": "c1", "output": "sonnig"}],
            "input.1.call_id",
            "no tool call before it has the id 'c1'",
        ),
        (
            [CALL, {"type": "function_call_output", "call_id": "c2", "output": "sonnig"}],
            "input.2.call_id",
            "the id 'c2'",
        ),
        ([{**CALL, "arguments": "city=Bern"}], "input.1.arguments", "not 'city=Bern'"),
        ([{**CALL, "arguments": '["Bern"]'}], "input.1.arguments", "JSON object"),
        ([{**CALL, "arguments": '{"city": "Be'}], "input.1.arguments", 'status "incomplete"'),
    ],
)
def test_calls_and_outputs_that_do_not_fit_are_refused(
    client: openai.OpenAI, items: list[dict[str, Any]], named: str, said: str
) -> None:
    """An output answers a call before it (as OpenAI requires), and a call's arguments are a
    JSON object: else the model would read a result of a call it never made, or the backend
    arguments it cannot parse."""
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(
            model="tiny-small",
            input=[{"role": "user", "content": "Wie ist das Wetter in Bern?"}, *items],  # type: ignore[list-item]
            tools=[WEATHER],
            max_output_tokens=2,
        )
    assert caught.value.param == named
    assert said in caught.value.message


def test_a_call_cut_at_max_output_tokens_is_taken_back_as_chat_takes_it(
    client: openai.OpenAI,
) -> None:
    """The gateway's own answer, a call cut off at ``max_output_tokens`` (its arguments not
    complete JSON), sent back as the next input with its result: an agent loop goes on."""
    cut = {**CALL, "arguments": '{"city": "Be', "status": "incomplete"}
    answer = client.responses.create(
        model="tiny-small",
        input=[
            {"role": "user", "content": "Wie ist das Wetter in Bern?"},
            cut,  # type: ignore[list-item]
            {"type": "function_call_output", "call_id": "c1", "output": "sonnig"},
        ],
        tools=[WEATHER],
        max_output_tokens=2,
    )
    assert answer.status in ("completed", "incomplete")


def test_refused_like_chat(client: openai.OpenAI, gateway: Gateway) -> None:
    with (
        gateway.openai(KEYS["legal"]) as legal,
        pytest.raises(openai.NotFoundError, match="'tiny-medium' does not exist"),
    ):  # not legal's to see: as an unknown one
        legal.responses.create(model="tiny-medium", input="Hallo", max_output_tokens=2)
    with pytest.raises(openai.BadRequestError, match="does not support tools"):
        client.responses.create(model="tiny-medium", input="Hallo", tools=[WEATHER])
    # as clients send it, without "detail" (the SDK's type asks for it)
    image: ResponseInputImageParam = {  # type: ignore[typeddict-item]
        "type": "input_image",
        "image_url": "data:image/png;base64,iVBORw0KGgo=",
    }
    with pytest.raises(openai.BadRequestError, match="vision"):
        client.responses.create(
            model="auto", input=[{"role": "user", "content": [image]}], max_output_tokens=2
        )


def test_usage_records_of_responses(gateway_raw: dict[str, Any]) -> None:
    with (
        in_process(gateway_raw) as gw,
        gw.openai(KEYS["research"]) as client,
    ):
        client.responses.create(model="tiny-small", input="Hallo", max_output_tokens=3)
        stream = client.responses.create(
            model="tiny-small", input="Hallo", max_output_tokens=3, stream=True
        )
        list(stream)
    ledger = gw.ledger()
    records = [r for r in ledger.recent_usage(limit=10) if r.endpoint == "responses"]
    ledger.close()
    assert sorted(r.stream for r in records) == [False, True]
    for record in records:
        assert record.api == "openai" and record.model == "tiny-small" and record.status == 200
        assert record.prompt_tokens > 0 and 0 < record.completion_tokens <= 3
