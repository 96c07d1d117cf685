"""The Responses API as a chat request and back (pure functions).

A Responses request becomes the body of a chat completion request: ``instructions`` the system
message, the input items messages (``function_call`` items an assistant message's
``tool_calls``, their arguments a JSON object; ``function_call_output`` items tool messages,
each answering a call before it; a ``reasoning`` item's text the ``reasoning_content`` of the
assistant message after it), ``max_output_tokens``
``max_tokens``, function tools chat tools, ``text.format`` the ``response_format``. The answer
becomes a ``response`` object whose ``output`` holds a ``reasoning`` item when the backend sent
the model's reasoning apart, one ``message`` item for the text and one ``function_call`` item
per tool call; a streamed answer becomes the Responses event sequence
(:mod:`stellwerk.gateway.responses_events`).

The tokens' log probabilities are asked for as OpenAI's Responses API asks for them, by
``include: ["message.output_text.logprobs"]`` (and ``top_logprobs``, 0 to 20, for the
alternatives; without that ``include`` it asks for nothing, as on OpenAI): they go on as the
chat request's ``logprobs`` and ``top_logprobs`` and come back in each ``output_text`` part's
``logprobs`` (and in each streamed ``output_text.delta`` event's), else that list is empty.

Conversation state is not kept: ``store: true`` and ``previous_response_id`` are refused, so a
client sends the whole conversation as input, as it does with chat (docs/api.md).

A key inside the body's objects that the API does not define is refused naming its place
(``input[1].content[0].foo``, ``nested_params``), unless the operator lets it pass
(``backends[].pass_params``) by its place as the Responses API spells it. Such a key is passed on
where the object that holds it becomes one of the chat request: a message item's
(``input[].foo``) on its chat message, a ``function_call`` item's on its tool call, a
``function_call_output`` item's on its ``tool`` message, a user message's part's
(``input[].content[].foo``) on its chat content part, a function tool's (``tools[].foo``) on the
chat tool's ``function`` (``PASSABLE``). Another place (``text.format``, ``reasoning``,
``tool_choice``, a tool output's parts) becomes nothing the backend receives, so a key there is
always refused.
"""

from __future__ import annotations

from typing import Any

import orjson

from stellwerk.backends.types import ChatResult, Usage
from stellwerk.errors import InvalidRequest, shown
from stellwerk.gateway.responses_places import Path, Places, Source
from stellwerk.gateway.responses_schema import (
    FunctionCallItem,
    FunctionCallOutputItem,
    FunctionChoice,
    FunctionTool,
    InputImage,
    Message,
    ReasoningItem,
    ResponseRequest,
)
from stellwerk.gateway.unserved import UNSERVED, store_refused

JSON = dict[str, Any]

#: Responses parameters that need state or services Stellwerk does not keep: a 400 naming them.
#: Any other parameter the schema does not know goes to the chat request unchanged, as on
#: ``/v1/chat/completions`` (``seed``, ``top_k``, ``response_format`` from clients that convert
#: their chat requests, such as Open WebUI).
_STATEFUL = {
    "conversation": "conversations are not kept",
    "prompt": "stored prompt templates are not kept",
    **UNSERVED,
    "context_management": "the input is not compacted here; send what fits the model's context",
}

#: what ``include`` names to ask for the text's tokens with their log probabilities
LOGPROBS = "message.output_text.logprobs"

#: the places of the keys an operator may let pass, by the chat request's places they go to
PASSABLE = {
    "input[]": ("messages[]", "messages[].tool_calls[]"),
    "input[].content[]": ("messages[].content[]",),
    "tools[]": ("tools[].function",),
}


def chat_names(name: str) -> tuple[str, ...]:
    """The names in the chat request of the key ``name`` inside a Responses body's objects
    (``input[].foo``: ``messages[].foo`` or ``messages[].tool_calls[].foo``); none if no object
    of the chat request holds it (``text.format.foo``), or it is a top-level parameter (which
    goes to the chat request as sent)."""
    place, _, key = name.rpartition(".")
    if "[" in key:
        return ()
    return tuple(f"{chat}.{key}" for chat in PASSABLE.get(place, ()))


def chat_body(body: ResponseRequest, passed: frozenset[str] = frozenset()) -> JSON:
    """The chat completion request body (``ChatCompletionRequest``) of a Responses request."""
    return translated(body, passed)[0]


def translated(body: ResponseRequest, passed: frozenset[str] = frozenset()) -> tuple[JSON, Places]:
    """The chat completion request body of a Responses request, and the place in the Responses
    body of each of its parts (``responses_places``), by which a refusal raised over the chat
    request names the part as the client sent it. ``passed``: the keys inside its objects
    that the operator lets pass, by name (``input[].foo``), carried to the chat request's
    object each object becomes (``PASSABLE``)."""
    _refuse_state(body)
    messages: list[JSON] = []
    sources: list[Source] = []
    if body.instructions:
        messages.append({"role": "system", "content": body.instructions})
        sources.append(Source(("instructions",), ("instructions",)))
    if isinstance(body.input, str):
        messages.append({"role": "user", "content": body.input})
        sources.append(Source(("input",), ("input",)))
    else:
        thought: list[str] = []  # of the reasoning items before the next item
        for index, item in enumerate(body.input):
            if isinstance(item, ReasoningItem):
                thought += (part.text for part in item.content or ())
                continue
            before = len(messages)
            _add_item(messages, item, f"input.{index}", passed)
            _add_source(sources, item, ("input", index), merged=len(messages) == before)
            if thought and messages[-1]["role"] == "assistant":
                messages[-1].setdefault("reasoning_content", "".join(thought))
            thought = []
    chat = {**_passed_on(body), "model": body.model, "messages": messages}
    fields: dict[str, Path] = {}
    for key in ("temperature", "top_p"):
        value = getattr(body, key)
        if value is not None:
            chat[key] = value
    if body.max_output_tokens is not None or "max_tokens" not in chat:
        fields["max_tokens"] = ("max_output_tokens",)  # the field to name, set or not
    if body.max_output_tokens is not None:
        if chat.get("max_tokens") is not None:  # it would replace chat's, unread
            raise InvalidRequest(
                "max_tokens: give max_output_tokens only (the Responses API's cap on the"
                " answer); both were given",
                param="max_tokens",
            )
        chat["max_tokens"] = body.max_output_tokens
    if body.tools:
        chat["tools"] = [
            _tool(tool, passed) for tool in body.tools if isinstance(tool, FunctionTool)
        ]
    if body.tool_choice is not None:
        choice = _tool_choice(body)
        if body.tools:  # without tools, "auto" and "none" ask for nothing (OpenAI takes them)
            chat["tool_choice"] = choice
    response_format = _response_format(body)
    if response_format is not None:
        chat["response_format"] = response_format
        fields["response_format"] = ("text", "format")
    if body.reasoning is not None and body.reasoning.effort is not None:
        chat["reasoning_effort"] = body.reasoning.effort  # checked and sent as chat's
        fields["reasoning_effort"] = ("reasoning", "effort")
    if LOGPROBS in (body.include or ()):
        chat["logprobs"] = True
        fields["logprobs"] = ("include",)
        if body.top_logprobs is not None:
            chat["top_logprobs"] = body.top_logprobs
    return chat, Places(sources, fields)


def _passed_on(body: ResponseRequest) -> JSON:
    """The top-level parameters of ``body`` that its schema does not know, which go to the chat
    request as sent (checked there as chat's)."""
    extra: JSON = body.model_extra or {}
    return {key: value for key, value in extra.items() if key not in _STATEFUL}


def _add_source(sources: list[Source], item: Any, where: Path, *, merged: bool) -> None:
    """Where the message ``item`` became came from (``merged``: a function call added to the
    assistant message before it)."""
    if merged:
        sources[-1] = sources[-1].called(where)
    elif isinstance(item, FunctionCallItem):
        sources.append(Source(where, where, calls=(where,)))
    elif isinstance(item, FunctionCallOutputItem):
        sources.append(Source(where, (*where, "output")))
    else:
        parts = item.role == "user" and not isinstance(item.content, str)
        sources.append(Source(where, (*where, "content"), parts=parts))


def _refuse_state(body: ResponseRequest) -> None:
    if body.store:
        raise InvalidRequest(
            store_refused(
                " and keeps no conversation state (send the whole conversation as input, or"
                " leave store out or false)"
            ),
            param="store",
        )
    if body.previous_response_id is not None:
        raise InvalidRequest(
            "previous_response_id is not supported: this gateway keeps no conversation state;"
            " send the earlier items (including the output you received) as input",
            param="previous_response_id",
        )
    extra = body.model_extra or {}
    for key, why in _STATEFUL.items():
        if extra.get(key) is not None:
            raise InvalidRequest(f"{key} is not supported: {why}", param=key)
    if body.background:
        raise InvalidRequest(
            "background responses are not supported: nothing is kept to fetch them later",
            param="background",
        )


def _carried(item: Any, name: str, passed: frozenset[str]) -> JSON:
    """The keys of ``item`` (at ``name``: ``input[]``) that it has beyond its schema's and the
    operator lets pass (``passed``), as sent."""
    extra: dict[str, Any] = item.model_extra or {}
    return {k: v for k, v in extra.items() if v is not None and f"{name}.{k}" in passed}


def _add_item(messages: list[JSON], item: Any, where: str, passed: frozenset[str]) -> None:
    """Add one input item to ``messages`` (each ``function_call_output`` answers a
    ``function_call`` before it, once: the schema's rule, ``call_answers``), with the keys
    the operator lets pass (``passed``) on the object it becomes."""
    if isinstance(item, Message):
        messages.append({**_message(item, where, passed), **_carried(item, "input[]", passed)})
    elif isinstance(item, FunctionCallItem):
        cut = item.status == "incomplete"
        arguments = item.arguments if cut else _arguments(item.arguments, f"{where}.arguments")
        call = {
            "id": item.call_id,
            "type": "function",
            "function": {"name": item.name, "arguments": arguments},
            **_carried(item, "input[]", passed),
        }
        last = messages[-1] if messages else None
        if last is not None and last["role"] == "assistant" and "tool_calls" in last:
            last["tool_calls"].append(call)
        elif last is not None and last["role"] == "assistant":
            last["tool_calls"] = [call]  # the text and the calls of one answer
        else:
            messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
    elif isinstance(item, FunctionCallOutputItem):
        output = item.output
        text = output if isinstance(output, str) else "".join(part.text for part in output)
        carried = _carried(item, "input[]", passed)
        messages.append({"role": "tool", "tool_call_id": item.call_id, "content": text, **carried})


def _arguments(arguments: str, where: str) -> str:
    """A complete call's arguments, a JSON object as a string (as the answer gave them; none,
    ``""``, is ``{}``): the model servers read them as JSON, and other text would be a backend's
    500 or a call the model never made. A call cut at ``max_output_tokens`` (``status:
    "incomplete"``) is passed on as the model wrote it, as chat passes one cut at ``max_tokens``."""
    if not arguments:
        return "{}"
    try:
        parsed = orjson.loads(arguments)
    except orjson.JSONDecodeError:
        parsed = None
    if not isinstance(parsed, dict):
        raise InvalidRequest(
            f"{where}: a function call's arguments are a JSON object in a string (such as"
            f' "{{\\"city\\": \\"Bern\\"}}"), not {shown(arguments)}; a call cut off at'
            ' max_output_tokens is sent back with its status "incomplete"',
            param=where,
        )
    return arguments


def _message(item: Message, where: str, passed: frozenset[str]) -> JSON:
    if isinstance(item.content, str):
        return {"role": item.role, "content": item.content}
    if item.role != "user":
        texts = []
        for index, part in enumerate(item.content):
            if isinstance(part, InputImage):
                raise InvalidRequest(
                    f"only user messages can hold images, not {item.role} messages",
                    param=f"{where}.content.{index}",
                )
            texts.append(part.refusal if part.type == "refusal" else part.text)
        return {"role": item.role, "content": "".join(texts)}
    parts: list[JSON] = []
    for part in item.content:
        if isinstance(part, InputImage):
            image: JSON = {"url": part.image_url}
            if part.detail in ("low", "high", "auto"):
                image["detail"] = part.detail
            parts.append({"type": "image_url", "image_url": image})
        else:
            text = part.refusal if part.type == "refusal" else part.text
            parts.append({"type": "text", "text": text})
        parts[-1].update(_carried(part, "input[].content[]", passed))
    return {"role": "user", "content": parts}


def _tool(tool: FunctionTool, passed: frozenset[str]) -> JSON:
    function: JSON = {"name": tool.name}
    if tool.description is not None:
        function["description"] = tool.description
    if tool.parameters is not None:
        function["parameters"] = tool.parameters
    function.update(_carried(tool, "tools[]", passed))
    return {"type": "function", "function": function}


def _tool_choice(body: ResponseRequest) -> Any:
    choice = body.tool_choice
    if isinstance(choice, FunctionChoice):
        # every tool is a function tool here (a hosted one is refused by the schema)
        if choice.name not in {t.name for t in body.tools or () if isinstance(t, FunctionTool)}:
            raise InvalidRequest(
                f"tool_choice names {choice.name!r}, not one of tools", param="tool_choice"
            )
        return {"type": "function", "function": {"name": choice.name}}
    if choice == "required" and not body.tools:
        raise InvalidRequest("tool_choice 'required' needs tools", param="tool_choice")
    return choice


def _response_format(body: ResponseRequest) -> JSON | None:
    text_format = body.text.format if body.text is not None else None
    if text_format is None or text_format.type == "text":
        return None
    if text_format.type == "json_object":
        return {"type": "json_object"}
    spec: JSON = {"name": text_format.name, "schema": text_format.schema_}
    for key in ("description", "strict"):
        value = getattr(text_format, key)
        if value is not None:
            spec[key] = value
    return {"type": "json_schema", "json_schema": spec}


def usage_json(usage: Usage | None) -> JSON | None:
    if usage is None:
        return None
    return {
        "input_tokens": usage.prompt_tokens,
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": usage.completion_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": usage.total_tokens,
    }


def message_item(
    request_id: str, text: str, status: str = "completed", logprobs: list[JSON] | None = None
) -> JSON:
    return {
        "id": f"msg_{request_id}",
        "type": "message",
        "role": "assistant",
        "status": status,
        "content": [output_text(text, logprobs)],
    }


def output_text(text: str, logprobs: list[JSON] | None = None) -> JSON:
    """The text part; ``logprobs`` its tokens' (``stellwerk.backends.logprobs``, the same
    shape), when they were asked for."""
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": logprobs or []}


def call_item(item_id: str, call_id: str, name: str, arguments: str, status: str) -> JSON:
    return {
        "id": item_id,
        "type": "function_call",
        "call_id": call_id,
        "name": name,
        "arguments": arguments,
        "status": status,
    }


def reasoning_item(request_id: str, text: str | None, status: str) -> JSON:
    """The model's reasoning as the Responses API's ``reasoning`` item: its text the one
    ``reasoning_text`` part of ``content`` (none yet: ``text`` None), no summary."""
    content = [] if text is None else [reasoning_text(text)]
    return {
        "id": f"rs_{request_id}",
        "type": "reasoning",
        "summary": [],
        "content": content,
        "status": status,
    }


def reasoning_text(text: str) -> JSON:
    return {"type": "reasoning_text", "text": text}


def output_items(request_id: str, result: ChatResult) -> list[JSON]:
    """The ``output`` of a whole answer: its reasoning, when the backend sent it apart, then its
    text as a message, then its tool calls."""
    status = "incomplete" if result.finish_reason == "length" else "completed"
    items: list[JSON] = []
    if result.reasoning:
        items.append(reasoning_item(request_id, result.reasoning, status))
    if result.content or not result.tool_calls:
        items.append(message_item(request_id, result.content or "", status, result.logprobs))
    for index, call in enumerate(result.tool_calls or ()):
        function = call.get("function") or {}
        items.append(
            call_item(
                f"fc_{request_id}_{index}",
                str(call.get("id") or f"call_{request_id}_{index}"),
                str(function.get("name") or ""),
                str(function.get("arguments") or ""),
                status,
            )
        )
    return items


def response_json(
    body: ResponseRequest,
    request_id: str,
    created: int,
    model: str,
    *,
    status: str,
    output: list[JSON],
    usage: Usage | None,
) -> JSON:
    """The ``response`` object; ``status`` ``in_progress``, ``completed`` or ``incomplete``
    (the answer reached ``max_output_tokens``)."""
    text_format = body.text.format if body.text is not None else None
    return {
        "id": f"resp_{request_id}",
        "object": "response",
        "created_at": created,
        "status": status,
        "error": None,
        "incomplete_details": {"reason": "max_output_tokens"} if status == "incomplete" else None,
        "instructions": body.instructions,
        "max_output_tokens": body.max_output_tokens,
        "model": model,
        "output": output,
        "parallel_tool_calls": body.parallel_tool_calls is not False,
        "previous_response_id": None,
        "store": False,
        "temperature": body.temperature,
        "text": {
            "format": text_format.model_dump(by_alias=True) if text_format else {"type": "text"}
        },
        "tool_choice": _choice_json(body),
        "tools": [tool.model_dump(by_alias=True) for tool in body.tools or ()],
        "top_p": body.top_p,
        "truncation": "disabled",
        "usage": usage_json(usage),
        "metadata": body.metadata or {},
        "user": body.user,
    }


def _choice_json(body: ResponseRequest) -> Any:
    choice = body.tool_choice
    if isinstance(choice, FunctionChoice):
        return {"type": "function", "name": choice.name}
    return choice or "auto"
