"""Where a part of the chat request made of a Responses body is in that body (pure).

``/v1/responses`` is served as a chat request (``responses_wire``), and what refuses it after
the translation (the chat request's validation, a backend's dialect, an image URL, the context)
names the part by its place in the chat request: ``messages.3.content.1.image_url.url``,
``tools[0].function.parameters.default``, ``response_format.json_schema.name``, ``max_tokens``.
``Places.rename`` is the one mapping from such a place to the same part's place in the
Responses body, as the client sent it: ``input.2.content.1.image_url``,
``tools.0.parameters.default``, ``text.format.name``, ``max_output_tokens``. A place it has no
other name for is its own (a parameter passed on under its own name: ``seed``, ``top_k``).

The chat request's messages are the body's ``instructions`` and ``input`` items, each message
kept with where it came from (``Source``): the item (``input.2``), where its content is
(``input.2.content``, a function call output's ``output``, all of ``input`` when it is a
string), whether its content parts are the item's one to one (a user message's), and the
``function_call`` item of each of its tool calls (several items in a row are one message).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

Path = tuple[str | int, ...]

_PART = re.compile(r"\[([0-9]+)\]|([^.\[\]]+)")

#: the chat request's part of a call (``tool_calls.<k>.<key>``) -> the ``function_call`` item's
_CALL_KEYS = {"id": "call_id"}


def path(place: str) -> Path:
    """A place's parts: ``tools[0].function`` and ``tools.0.function`` are ``tools, 0,
    function``."""
    return tuple(
        int(bracket or dotted) if _index(bracket or dotted) else dotted
        for bracket, dotted in _PART.findall(place)
    )


def _index(part: str) -> bool:
    """Whether a place's part is an index: ASCII digits only (``"²"`` is a digit to
    ``str.isdigit`` but no number to ``int``: a key of ``logit_bias`` may be anything)."""
    return part.isascii() and part.isdecimal()


def text(parts: Path) -> str:
    """The place of ``parts``, joined by dots (``input.2.content.1.image_url``)."""
    return ".".join(map(str, parts))


@dataclass(frozen=True, slots=True)
class Source:
    """Where one chat message came from in the Responses body."""

    item: Path  # ("instructions",), ("input",) when it is a string, ("input", 2)
    content: Path  # where the item holds what became the message's content
    parts: bool = False  # its content parts are the item's, one to one (a user message's)
    calls: tuple[Path, ...] = ()  # the function_call item of each of its tool_calls

    def called(self, item: Path) -> Source:
        """The same message with one more tool call, made of the function call ``item``."""
        return replace(self, calls=(*self.calls, item))


@dataclass(frozen=True, slots=True)
class Places:
    """The places of a Responses body's parts, by their places in its chat request."""

    sources: Sequence[Source]
    #: chat parameters made of a Responses parameter of another name (``max_tokens`` of
    #: ``max_output_tokens``) -> that parameter's place; one passed on as sent is not here
    fields: dict[str, Path]

    def rename(self, place: str) -> str:
        """The Responses body's place of the chat request's ``place``."""
        parts = path(place)
        moved = self.of(parts)
        return place if moved == parts else text(moved)

    def of(self, parts: Path) -> Path:
        if not parts:
            return parts
        head, rest = parts[0], parts[1:]
        if head == "messages":
            return self._in_message(rest)
        if head == "tools" and rest[1:2] == ("function",):  # Responses tools are flat
            return ("tools", rest[0], *rest[2:])
        if head == "tool_choice" and rest[:1] == ("function",):
            return ("tool_choice", *rest[1:])
        if isinstance(head, str) and head in self.fields:
            if head == "response_format" and rest[:1] == ("json_schema",):
                rest = rest[1:]  # text.format holds the schema's name and schema itself
            return (*self.fields[head], *rest)
        return parts

    def _in_message(self, rest: Path) -> Path:
        if not rest:
            return ("input",)
        index, key = rest[0], rest[1:]
        if not isinstance(index, int) or index >= len(self.sources):
            return ("input",)
        source = self.sources[index]
        if not key:
            return source.item
        if key[0] == "content":
            return _in_content(source, key[1:])
        call = key[1] if key[0] == "tool_calls" and key[1:] else None
        if isinstance(call, int) and call < len(source.calls):
            return _in_call(source.calls[call], key[2:])
        if key[0] == "tool_call_id":
            return (*source.item, "call_id")
        return (*source.item, *key) if len(source.item) > 1 else source.item


def _in_content(source: Source, rest: Path) -> Path:
    """A place in a message's content: a part of a user message is the item's part (its image
    URL the part's ``image_url``, a string in Responses), any other the content as a whole."""
    if not source.parts or not rest:
        return source.content
    part, key = rest[0], rest[1:]
    if key[:1] == ("image_url",):
        key = ("image_url",) if key[1:2] in ((), ("url",)) else key[1:]  # detail
    return (*source.content, part, *key)


def _in_call(item: Path, key: Path) -> Path:
    """A place in a tool call: the ``function_call`` item's (``name``, ``arguments``,
    ``call_id``)."""
    if key[:1] == ("function",):
        key = key[1:]
    elif key:
        key = (_CALL_KEYS.get(str(key[0]), key[0]), *key[1:])
    return (*item, *key)
