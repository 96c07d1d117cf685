"""Keys a client sends inside a request's objects (a message, a content part, a tool call, a
tool and its function, ``response_format``, ``stream_options`` ...) that the gateway does not
know: refused as an unknown top-level parameter is (``stellwerk.gateway.unknown_params``),
named by their place, ``messages[2].foo``.

Passed on unread, such a key reaches a model server that may act on it: a chat template reads
what a message holds, and the servers read more than OpenAI's fields (vLLM's ``uuid`` of an
image part, the key of its cache of images; Mistral's ``prefix`` of an assistant message). The
OpenAI API refuses them too (``Additional properties are not allowed ('id' was unexpected) -
'messages.0'``; its Responses API ``Unknown parameter: 'input[1].metadata'``, code
``unknown_parameter``). So:

1. the keys the schema knows (OpenAI's, and those the open-model servers and common clients
   use, ``reasoning_content``) are checked, and passed on unless no server reads them
   (``openai_schema``, ``openai_api``);
2. an unknown one whose value is ``null`` asks for nothing and is not passed on;
3. any other is refused with the top-level ones, under the name its place has in every
   request, ``messages[].foo`` (the indexes left out), which is also how an operator lets it
   pass to a backend (``backends[].pass_params``).

The walk enters only the fields that may hold a model (``Keyed.nested_fields``) and lists of
them: a free-form object (a function's ``parameters``, ``metadata``, ``logit_bias``) is not a
place of keys, and a string or ``null`` ends it at once. Places are written only for a request
that holds an unknown key: a request of 20 messages pays some 25 microseconds of CPU time
for the walk, against 80 for parsing it.
"""

from __future__ import annotations

from typing import Any, ClassVar, get_args

from pydantic import BaseModel

#: values that hold no keys: the walk stops at them without building a place
_LEAVES = (str, int, float, bool, dict, type(None))


class Keyed(BaseModel):
    """A model whose extra keys the walk reads: ``known_extras`` are those that are its own,
    kept as extras only for their names (``schema`` would shadow pydantic's);
    ``nested_fields`` its fields that may hold a model, the only ones the walk enters (found
    once, when the class is made: a message's strings are not looked at)."""

    known_extras: ClassVar[frozenset[str]] = frozenset()
    nested_fields: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        fields = cls.model_fields.items()
        cls.nested_fields = tuple(name for name, field in fields if _holds_models(field.annotation))


def _holds_models(annotation: object) -> bool:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return True
    return any(_holds_models(inner) for inner in get_args(annotation))


def nested_unknown(body: Keyed) -> dict[str, str]:
    """The keys of ``body``'s nested objects that its schema does not know and that ask for
    something, each by its name (``messages[].foo``) and the first place it was sent
    (``messages[2].foo``), in the body's order. The top-level extras are ``body``'s own
    (``unknown_params.unknown_of``)."""
    found: dict[str, str] = {}
    if _has_unknown(body):  # places are written only when there is one to name
        for name in body.nested_fields:
            _walk(getattr(body, name), name, name, found)
    return found


# A model is told by its ``__pydantic_extra__``, which every pydantic model has; a string or
# ``null`` is let go first (a missing attribute costs an exception inside ``getattr``).
_NO_MODEL: Any = object()


def _unknown(model: object, extra: dict[str, Any]) -> list[str]:
    """``model``'s extra keys (``extra``) that ask for something and are not its own."""
    known: frozenset[str] = getattr(model, "known_extras", frozenset())
    return [key for key, given in extra.items() if given is not None and key not in known]


def _fields(model: object) -> tuple[str, ...]:
    """The fields of ``model`` the walk enters: all of a model that is not ``Keyed``."""
    fields: tuple[str, ...] | None = getattr(model, "nested_fields", None)
    return tuple(model.__dict__) if fields is None else fields


def _has_unknown(body: Keyed) -> bool:
    """Whether a nested object of ``body`` holds an unknown key: the walk of every request, in
    one loop, without places."""
    todo: list[object] = [getattr(body, name) for name in body.nested_fields]
    while todo:
        value = todo.pop()
        if isinstance(value, _LEAVES):
            continue
        if isinstance(value, list):
            todo.extend(value)
            continue
        extra = getattr(value, "__pydantic_extra__", _NO_MODEL)
        if extra is _NO_MODEL:
            continue
        if extra and _unknown(value, extra):
            return True
        todo.extend(getattr(value, name) for name in _fields(value))
    return False


def _walk(value: object, place: str, name: str, found: dict[str, str]) -> None:
    if isinstance(value, list):
        for index, item in enumerate(value):
            _walk(item, f"{place}[{index}]", f"{name}[]", found)
        return
    if isinstance(value, _LEAVES):
        return
    extra = getattr(value, "__pydantic_extra__", _NO_MODEL)
    if extra is _NO_MODEL:
        return
    for key in _unknown(value, extra or {}):
        found.setdefault(f"{name}.{key}", f"{place}.{key}")
    for field in _fields(value):
        _walk(getattr(value, field), f"{place}.{field}", f"{name}.{field}", found)
