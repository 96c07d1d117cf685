"""``POST /v1/responses``: OpenAI's Responses API, served as a chat request
(:mod:`stellwerk.gateway.pipeline`, translated by :mod:`stellwerk.gateway.responses_wire`)."""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import replace
from functools import partial

import orjson
from starlette.requests import Request
from starlette.responses import Response

from stellwerk.backends.tokens import estimate_tokens, prompt_text
from stellwerk.backends.transport import encode
from stellwerk.backends.types import ChatChunk, ChatRequest, ChatResult
from stellwerk.errors import ContextExceeded, StellwerkError
from stellwerk.gateway import responses_wire as wire
from stellwerk.gateway.body import parse
from stellwerk.gateway.calls import Call
from stellwerk.gateway.deps import runtime_of
from stellwerk.gateway.nested_params import nested_unknown
from stellwerk.gateway.openai_api import chat_request
from stellwerk.gateway.openai_schema import ChatCompletionRequest
from stellwerk.gateway.pipeline import Exchange, serve
from stellwerk.gateway.responses_events import ResponseEvents, render
from stellwerk.gateway.responses_schema import ResponseRequest
from stellwerk.gateway.unknown_params import Allowed, nothing, refuse_unknown


class ResponsesExchange(Exchange):
    answer_param = "max_output_tokens"
    prompt_param = "input"

    def __init__(self, raw: bytes, request_id: str, allowed: Allowed = nothing) -> None:
        self.body = parse(ResponseRequest, raw)
        self.model, self.stream = self.body.model, self.body.stream
        passed = _passed(self.body, allowed(self.model))
        # the chat request's own checks (message shapes, tool choice) apply as to chat, and
        # name what they refuse by its place in this body; encoding it is a 400 for what JSON
        # cannot pass on
        chat, self.places = wire.translated(self.body, passed)
        as_chat = parse(ChatCompletionRequest, encode(chat), rename=self.place)
        self.chat = _named_as_sent(as_chat, allowed(self.model), passed)
        newer = chat.get("max_tokens") is None and chat.get("max_completion_tokens") is not None
        self.answer_param = self.place("max_completion_tokens" if newer else "max_tokens")
        if self.body.instructions:
            from_input = len(self.places.sources) - 1  # one chat message a source
            self.counted = f"; {from_input} of them from input and one from instructions"
        self.request_id = request_id
        self.created = int(time.time())
        self._events: ResponseEvents | None = None

    def place(self, param: str) -> str:
        """The place in this body of the chat request's part at ``param``
        (``responses_places``): ``tools[0].function.parameters.x`` is
        ``tools.0.parameters.x``, ``messages.3.content.1.image_url.url``
        ``input.2.content.1.image_url``."""
        return self.places.rename(param)

    @contextmanager
    def own_words(self) -> Iterator[None]:
        """As every exchange's, and a prompt over the context names ``instructions`` when they
        hold most of it (by the router's estimate), else ``input``."""
        try:
            with super().own_words():
                yield
        except ContextExceeded as exc:
            if self.body.instructions:
                instructions = estimate_tokens(self.body.instructions)
                rest = estimate_tokens(prompt_text(self.chat.messages[1:]))
                if instructions > rest:
                    exc.param = "instructions"
            raise

    def plain(self, call: Call, result: ChatResult) -> bytes:
        assert call.model is not None
        status = "incomplete" if result.finish_reason == "length" else "completed"
        return orjson.dumps(
            wire.response_json(
                self.body,
                self.request_id,
                self.created,
                call.model.id,
                status=status,
                output=wire.output_items(self.request_id, result),
                usage=result.usage,
            )
        )

    def events(self, call: Call, chunks: AsyncIterator[ChatChunk]) -> AsyncGenerator[bytes, None]:
        assert call.model is not None
        self._events = ResponseEvents(self.body, self.request_id, self.created, call.model.id)
        return render(self._events, chunks, lambda: call.usage)

    def error_event(self, exc: StellwerkError) -> bytes:
        assert self._events is not None
        return self._events.error(exc)


def _passed(body: ResponseRequest, allowed: frozenset[str]) -> frozenset[str]:
    """The keys inside ``body``'s objects that its schema does not know, by name
    (``input[].foo``), when the operator lets each pass (``allowed``) and the chat request has
    an object to carry it (``responses_wire.chat_names``); else a 400 naming the first other
    one by its place (``input[1].content[0].foo``). The top-level parameters it does not know
    are the chat request's, checked there (``seed`` is chat's, ``n_keep`` no one's)."""
    places = nested_unknown(body)
    carried = frozenset(name for name in allowed if wire.chat_names(name))
    refuse_unknown(places, carried, places)
    return frozenset(places)


def _named_as_sent(
    as_chat: ChatCompletionRequest, allowed: frozenset[str], passed: frozenset[str]
) -> ChatRequest:
    """The chat request, its keys the gateway does not know (``ChatRequest.unknown``) named as
    the Responses body has them (``input[].foo``, not ``messages[].foo``): the backend's
    ``pass_params`` lists them so (``unknown_params.refuse_unpassable``)."""
    sent = {chat: name for name in passed for chat in wire.chat_names(name)}
    chat = chat_request(as_chat, allowed | sent.keys())
    return replace(chat, unknown=frozenset(sent.get(name, name) for name in chat.unknown))


async def create_response(request: Request) -> Response:
    """A model response (OpenAI's Responses API) from a model id or a route (``auto`` ...);
    ``stream`` for the Responses events. Conversation state is not kept: ``store: true`` and
    ``previous_response_id`` are refused."""
    read = partial(ResponsesExchange, allowed=runtime_of(request).allowed)
    return await serve(request, "openai", "responses", read)
