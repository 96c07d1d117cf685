"""A streamed chat answer as the Responses API's server-sent events.

The sequence, as OpenAI sends it and the ``openai`` library reads it (every event numbered by
``sequence_number``)::

    response.created, response.in_progress
    for the reasoning:  output_item.added (reasoning), content_part.added (reasoning_text),
                        reasoning_text.delta ..., reasoning_text.done, content_part.done,
                        output_item.done (only when the backend sent reasoning)
    for the text:       output_item.added (message), content_part.added (output_text),
                        output_text.delta ..., output_text.done, content_part.done,
                        output_item.done
    for each tool call: output_item.added (function_call), function_call_arguments.delta ...,
                        function_call_arguments.done, output_item.done
    response.completed  (its response's status is "incomplete" when the answer reached
                        max_output_tokens: clients read the end and the usage from this event)

Items are numbered (``output_index``) in the order their first piece arrives and are closed
together when the answer ends. A backend failure after the first token ends the stream with an
``error`` event.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from stellwerk.backends.types import ChatChunk, Usage
from stellwerk.errors import StellwerkError
from stellwerk.gateway import responses_wire as wire
from stellwerk.gateway.openai_wire import error_body
from stellwerk.gateway.responses_schema import ResponseRequest

JSON = dict[str, Any]


@dataclass(slots=True)
class _Call:
    item_id: str
    call_id: str
    name: str
    output_index: int
    arguments: list[str] = field(default_factory=list)


@dataclass(slots=True)
class ResponseEvents:
    """The events of one streamed response, numbered as they are rendered."""

    body: ResponseRequest
    request_id: str
    created: int
    model: str
    sequence: int = 0
    text: list[str] | None = None  # None until the answer's first text
    logprobs: list[JSON] = field(default_factory=list)  # the text's tokens', if asked for
    text_index: int = -1
    thought: list[str] | None = None  # None until the answer's first reasoning
    thought_index: int = -1
    calls: dict[int, _Call] = field(default_factory=dict)
    outputs: int = 0

    def event(self, kind: str, **fields: Any) -> bytes:
        payload = {"type": kind, **fields, "sequence_number": self.sequence}
        self.sequence += 1
        return b"event: " + kind.encode() + b"\ndata: " + orjson.dumps(payload) + b"\n\n"

    def response(self, status: str, usage: Usage | None = None) -> JSON:
        return wire.response_json(
            self.body,
            self.request_id,
            self.created,
            self.model,
            status=status,
            output=self._items(status) if status != "in_progress" else [],
            usage=usage,
        )

    def opening(self) -> list[bytes]:
        response = self.response("in_progress")
        return [
            self.event("response.created", response=response),
            self.event("response.in_progress", response=response),
        ]

    def chunk(self, chunk: ChatChunk) -> list[bytes]:
        out: list[bytes] = []
        if chunk.reasoning:
            out += self._reasoning_delta(chunk.reasoning)
        if chunk.content:
            if self.text is None:
                out += self._open_text()
            assert self.text is not None
            self.text.append(chunk.content)
            self.logprobs += chunk.logprobs or ()
            out.append(
                self.event(
                    "response.output_text.delta",
                    item_id=f"msg_{self.request_id}",
                    output_index=self.text_index,
                    content_index=0,
                    delta=chunk.content,
                    logprobs=chunk.logprobs or [],
                )
            )
        for delta in chunk.tool_calls or ():
            out += self._tool_delta(delta)
        return out

    def closing(self, finish_reason: str | None, usage: Usage | None) -> list[bytes]:
        status = "incomplete" if finish_reason == "length" else "completed"
        # an empty answer is an empty message, as when not streamed
        out = self._open_text() if self.text is None and not self.calls else []
        if self.thought is not None:
            out += self._close_reasoning(status)
        if self.text is not None:
            text, logprobs = "".join(self.text), self.logprobs
            common = {"item_id": f"msg_{self.request_id}", "output_index": self.text_index}
            out += [
                self.event(
                    "response.output_text.done",
                    **common,
                    content_index=0,
                    text=text,
                    logprobs=logprobs,
                ),
                self.event(
                    "response.content_part.done",
                    **common,
                    content_index=0,
                    part=wire.output_text(text, logprobs),
                ),
                self.event(
                    "response.output_item.done",
                    output_index=self.text_index,
                    item=wire.message_item(self.request_id, text, status, logprobs),
                ),
            ]
        for call in self.calls.values():
            arguments = "".join(call.arguments)
            out += [
                self.event(
                    "response.function_call_arguments.done",
                    item_id=call.item_id,
                    output_index=call.output_index,
                    name=call.name,
                    arguments=arguments,
                ),
                self.event(
                    "response.output_item.done",
                    output_index=call.output_index,
                    item=wire.call_item(call.item_id, call.call_id, call.name, arguments, status),
                ),
            ]
        # The last event is response.completed even when the answer was cut (its status then
        # says incomplete): the openai library's stream helper and Open WebUI take the final
        # response and its usage from response.completed only.
        out.append(self.event("response.completed", response=self.response(status, usage)))
        return out

    def error(self, exc: StellwerkError) -> bytes:
        error = error_body(exc)["error"]
        return self.event(
            "error", code=error["code"], message=error["message"], param=error["param"]
        )

    def _reasoning_delta(self, delta: str) -> list[bytes]:
        out: list[bytes] = []
        item_id = f"rs_{self.request_id}"
        if self.thought is None:
            self.thought, self.thought_index = [], self.outputs
            self.outputs += 1
            item = wire.reasoning_item(self.request_id, None, "in_progress")
            out += [
                self.event(
                    "response.output_item.added", output_index=self.thought_index, item=item
                ),
                self.event(
                    "response.content_part.added",
                    item_id=item_id,
                    output_index=self.thought_index,
                    content_index=0,
                    part=wire.reasoning_text(""),
                ),
            ]
        self.thought.append(delta)
        out.append(
            self.event(
                "response.reasoning_text.delta",
                item_id=item_id,
                output_index=self.thought_index,
                content_index=0,
                delta=delta,
            )
        )
        return out

    def _close_reasoning(self, status: str) -> list[bytes]:
        text = "".join(self.thought or ())
        common = {"item_id": f"rs_{self.request_id}", "output_index": self.thought_index}
        return [
            self.event("response.reasoning_text.done", **common, content_index=0, text=text),
            self.event(
                "response.content_part.done",
                **common,
                content_index=0,
                part=wire.reasoning_text(text),
            ),
            self.event(
                "response.output_item.done",
                output_index=self.thought_index,
                item=wire.reasoning_item(self.request_id, text, status),
            ),
        ]

    def _open_text(self) -> list[bytes]:
        self.text, self.text_index = [], self.outputs
        self.outputs += 1
        item = {**wire.message_item(self.request_id, "", "in_progress"), "content": []}
        return [
            self.event("response.output_item.added", output_index=self.text_index, item=item),
            self.event(
                "response.content_part.added",
                item_id=item["id"],
                output_index=self.text_index,
                content_index=0,
                part=wire.output_text(""),
            ),
        ]

    def _tool_delta(self, delta: JSON) -> list[bytes]:
        index = delta.get("index", len(self.calls))
        function = delta.get("function") or {}
        call = self.calls.get(index)
        out: list[bytes] = []
        if call is None:
            number = len(self.calls)
            call = _Call(
                item_id=f"fc_{self.request_id}_{number}",
                call_id=str(delta.get("id") or f"call_{self.request_id}_{number}"),
                name=str(function.get("name") or ""),
                output_index=self.outputs,
            )
            self.outputs += 1
            self.calls[index] = call
            item = wire.call_item(call.item_id, call.call_id, call.name, "", "in_progress")
            out.append(
                self.event("response.output_item.added", output_index=call.output_index, item=item)
            )
        arguments = function.get("arguments")
        if isinstance(arguments, str) and arguments:
            call.arguments.append(arguments)
            out.append(
                self.event(
                    "response.function_call_arguments.delta",
                    item_id=call.item_id,
                    output_index=call.output_index,
                    delta=arguments,
                )
            )
        return out

    def _items(self, status: str) -> list[JSON]:
        items: list[tuple[int, JSON]] = []
        if self.thought is not None:
            thought = wire.reasoning_item(self.request_id, "".join(self.thought), status)
            items.append((self.thought_index, thought))
        if self.text is not None:
            text = "".join(self.text)
            item = wire.message_item(self.request_id, text, status, self.logprobs)
            items.append((self.text_index, item))
        for call in self.calls.values():
            item = wire.call_item(
                call.item_id, call.call_id, call.name, "".join(call.arguments), status
            )
            items.append((call.output_index, item))
        return [item for _, item in sorted(items, key=lambda pair: pair[0])]


async def render(
    events: ResponseEvents, chunks: AsyncIterator[ChatChunk], usage: Callable[[], Usage | None]
) -> AsyncGenerator[bytes, None]:
    """The event stream of an answer's ``chunks``; ``usage`` tells its usage once they ended."""
    for event in events.opening():
        yield event
    finish: str | None = None
    async for chunk in chunks:
        finish = chunk.finish_reason or finish
        for event in events.chunk(chunk):
            yield event
    for event in events.closing(finish, usage()):
        yield event
