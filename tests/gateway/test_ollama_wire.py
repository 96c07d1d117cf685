"""Ollama's requests as the gateway reads them, without a server: which ask for no answer."""

from __future__ import annotations

import orjson
import pytest

from stellwerk.errors import InvalidRequest
from stellwerk.gateway import ollama_load as load
from stellwerk.gateway import ollama_wire as wire
from stellwerk.gateway.body import parse


@pytest.mark.parametrize(
    ("keep_alive", "kind"),
    [
        (None, "load"),
        (0, "unload"),
        (0.0, "unload"),
        ("0", "unload"),
        ("0s", "unload"),
        ("0m0s", "unload"),
        ("0.0h", "unload"),
        ("-0s", "unload"),
        (-1, "load"),  # Ollama's "keep it loaded"
        ("-1m", "load"),
        ("5m", "load"),
        ("1ms", "load"),
    ],
)
def test_a_request_without_a_prompt_is_a_load_or_with_keep_alive_zero_an_unload(
    keep_alive: object, kind: str
) -> None:
    fields = {"model": "m"} if keep_alive is None else {"model": "m", "keep_alive": keep_alive}
    generate = parse(wire.OllamaGenerateRequest, orjson.dumps(fields))
    chat = parse(wire.OllamaChatRequest, orjson.dumps({**fields, "messages": []}))
    assert load.idle_kind(generate) == load.idle_kind(chat) == kind


def test_a_keep_alive_go_does_not_read_is_refused() -> None:
    """ "0x" was read as a load; Ollama refuses it (``time: unknown unit "x"``), and so does the
    gateway now, naming the field."""
    with pytest.raises(InvalidRequest, match=r"^keep_alive: '0x' is not a duration Ollama reads"):
        parse(wire.OllamaGenerateRequest, b'{"model": "m", "keep_alive": "0x"}')


def test_a_request_with_a_prompt_or_messages_asks_for_an_answer() -> None:
    generate = parse(wire.OllamaGenerateRequest, b'{"model": "m", "prompt": "x", "keep_alive": 0}')
    chat = parse(
        wire.OllamaChatRequest,
        b'{"model": "m", "messages": [{"role": "user", "content": ""}], "keep_alive": 0}',
    )
    assert load.idle_kind(generate) is None and load.idle_kind(chat) is None
