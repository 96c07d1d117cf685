"""Images reach a model server inline (``data:`` URLs); a URL only where the config lets the
server fetch it (``backends[].remote_image_urls``), and then an http(s) one only: the server
fetches it from inside the network, so a client could make it ask an internal address. The real
``openai`` and ``ollama`` libraries against the llama.cpp server, through a proxy that notes
what the server was sent."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing, contextmanager
from typing import Any

import openai
import pytest

from stellwerk.config import parse_config
from stellwerk.errors import ConfigError
from tests.fixtures.gateway import KEYS, Gateway, in_process
from tests.fixtures.llama import LlamaBackend
from tests.fixtures.loopback import Recorded, recording_proxy

pytestmark = pytest.mark.llama

PNG = "iVBORw0KGgo="  # a PNG's signature: the text model reads no image, the gateway no pixel
INLINE = f"data:image/png;base64,{PNG}"
INTERNAL = "http://127.0.0.1:9/internal.png"


def _asked(url: str) -> dict[str, Any]:
    part = {"type": "image_url", "image_url": {"url": url}}
    content = [{"type": "text", "text": "Was ist das?"}, part]
    return {"model": "tiny-small", "messages": [{"role": "user", "content": content}]}


@contextmanager
def _vision_gateway(
    raw: dict[str, Any], llama: LlamaBackend, **backend: Any
) -> Iterator[tuple[Gateway, Recorded]]:
    """The test gateway with tiny-small able to read images, its backend behind a proxy."""
    raw["models"][0]["capabilities"].append("vision")
    with recording_proxy(llama.base_url) as upstream:
        raw["backends"][0].update(base_url=upstream.url, **backend)
        with in_process(raw) as gw:
            yield gw, upstream


def _sent_urls(upstream: Recorded) -> list[str]:
    """The image URLs the model server was sent, in every chat request it got."""
    return [
        part["image_url"]["url"]
        for body in upstream.bodies
        for message in body.get("messages") or ()
        if isinstance(message.get("content"), list)
        for part in message["content"]
        if part.get("type") == "image_url"
    ]


@pytest.mark.parametrize(
    ("url", "stream"),
    [
        (INTERNAL, False),
        (INTERNAL, True),
        ("https://example.org/cat.png", False),
        ("file:///etc/passwd", False),
    ],
    ids=["http", "http-streamed", "https", "file"],
)
def test_an_image_url_is_refused_by_default_naming_the_part(
    gateway_raw: dict[str, Any], llama_server: LlamaBackend, url: str, stream: bool
) -> None:
    with (
        _vision_gateway(gateway_raw, llama_server) as (gw, upstream),
        gw.openai(KEYS["research"]) as client,
        pytest.raises(openai.BadRequestError) as err,
    ):
        client.chat.completions.create(**_asked(url), max_tokens=4, stream=stream)
    error = err.value.body
    assert isinstance(error, dict)
    assert error["param"] == "messages.0.content.1.image_url.url"
    assert "send the image inline as a data URL" in error["message"]
    assert "fetch a URL itself" in error["message"]
    assert _sent_urls(upstream) == []  # the model server never saw it


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "streamed"])
def test_responses_name_a_refused_image_url_by_its_place_in_input(
    gateway_raw: dict[str, Any], llama_server: LlamaBackend, stream: bool
) -> None:
    """The image is named where the Responses body holds it (``input.<i>.content.<j>.image_url``,
    counted as the client sent it, past the instructions and the items before it), not where
    the chat messages it became hold it."""
    image = {"type": "input_image", "image_url": INTERNAL}
    items = [
        {"role": "user", "content": "Hallo"},
        {"role": "assistant", "content": "Hallo! Was kann ich tun?"},
        {"role": "user", "content": [{"type": "input_text", "text": "Was ist das?"}, image]},
    ]
    with (
        _vision_gateway(gateway_raw, llama_server) as (gw, upstream),
        gw.openai(KEYS["research"]) as client,
        pytest.raises(openai.BadRequestError) as err,
    ):
        client.responses.create(
            model="tiny-small",
            instructions="Antworte kurz.",
            input=items,  # type: ignore[arg-type]
            max_output_tokens=4,
            stream=stream,
        )
    error = err.value.body
    assert isinstance(error, dict)
    assert error["param"] == "input.2.content.1.image_url"
    assert error["message"].startswith(
        "input.2.content.1.image_url: an image URL is not passed on here (backend 'llamacpp'"
    )
    assert _sent_urls(upstream) == []


def test_an_inline_image_is_passed_on(
    gateway_raw: dict[str, Any], llama_server: LlamaBackend
) -> None:
    with (
        _vision_gateway(gateway_raw, llama_server) as (gw, upstream),
        gw.openai(KEYS["research"]) as client,
    ):
        answer = client.chat.completions.create(**_asked(INLINE), max_tokens=4)
    assert answer.choices[0].message.content is not None
    assert _sent_urls(upstream) == [INLINE]


def test_remote_image_urls_lets_http_urls_through_and_no_other_scheme(
    gateway_raw: dict[str, Any], llama_server: LlamaBackend
) -> None:
    """With the setting on, the server is sent the URL (this one fetches nothing: its model
    reads no images); a ``file:`` URL, which llama-cpp-python would open, stays refused."""
    with (
        _vision_gateway(gateway_raw, llama_server, remote_image_urls=True) as (gw, upstream),
        gw.openai(KEYS["research"]) as client,
    ):
        answer = client.chat.completions.create(**_asked(INTERNAL), max_tokens=4)
        with pytest.raises(openai.BadRequestError) as err:
            client.chat.completions.create(**_asked("file:///etc/passwd"), max_tokens=4)
    assert answer.choices[0].message.content is not None
    assert INTERNAL in _sent_urls(upstream)
    assert "file:///etc/passwd" not in _sent_urls(upstream)
    assert "only http(s) image URLs are passed on" in str(err.value)


def test_ollama_api_images_are_inline_and_pass(
    gateway_raw: dict[str, Any], llama_server: LlamaBackend
) -> None:
    """Ollama's API takes images as base64 only: they reach the server as data URLs."""
    with (
        _vision_gateway(gateway_raw, llama_server) as (gw, upstream),
        closing(gw.ollama(KEYS["research"])) as client,
    ):
        reply = client.chat(
            model="tiny-small",
            messages=[{"role": "user", "content": "Was ist das?", "images": [PNG]}],
            options={"num_predict": 4},
        )
    assert reply.done
    assert _sent_urls(upstream) == [INLINE]


def test_remote_image_urls_is_for_openai_backends_only(gateway_raw: dict[str, Any]) -> None:
    gateway_raw["backends"][0].update(kind="ollama", dialect="generic", remote_image_urls=True)
    with pytest.raises(ConfigError, match="remote_image_urls applies to kind 'openai' only"):
        parse_config(gateway_raw)
