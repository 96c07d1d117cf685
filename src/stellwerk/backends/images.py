"""Which images a backend is given: inline ones (``data:`` URLs) always, URLs only where allowed.

An image part of a chat (``{"type": "image_url", "image_url": {"url": ...}}``) may name a URL.
The gateway does not fetch it; the model server does: llama-cpp-python's vision chat handlers
open any URL they are given (``urllib``, ``file:`` too), vLLM fetches http(s) URLs. The server
fetches it from where it runs, inside the organisation's network, so a client could make it ask
an internal address and read what comes back through the model (server-side request forgery).
So a backend is given images inline only, as ``data:`` URLs, unless its config lets remote URLs
through (``backends[].remote_image_urls``), and then http(s) ones only. Ollama's API takes
images inline only (base64): an Ollama backend is never given a URL.

A refused URL is ``Untranslatable``: a 400 naming the part, unless a routed request has a
candidate on a backend that takes it (``stellwerk.gateway.calls``); the part is named in the
chat request's messages, which an API of another shape names in its own (``/v1/responses``:
``gateway.responses_places``).
"""

from __future__ import annotations

from stellwerk.backends.types import JSON
from stellwerk.errors import Untranslatable

_INLINE = "data:"
_REMOTE = ("http://", "https://")


def refuse_image_urls(messages: list[JSON], *, remote: bool, inline_only: str) -> None:
    """Raise ``Untranslatable`` for the first image part of ``messages`` whose URL the backend
    may not be given: any but a ``data:`` URL (``inline_only`` says why), or, with ``remote``,
    any but an http(s) one."""
    for i, message in enumerate(messages):
        content = message.get("content")
        if not isinstance(content, list):
            continue
        for j, part in enumerate(content):
            if not isinstance(part, dict) or part.get("type") != "image_url":
                continue
            image = part.get("image_url")
            url = image.get("url") if isinstance(image, dict) else None
            if not isinstance(url, str) or url[: len(_INLINE)].lower() == _INLINE:
                continue
            if remote and url.lower().startswith(_REMOTE):
                continue
            why = "only http(s) image URLs are passed on" if remote else inline_only
            where = f"messages.{i}.content.{j}.image_url.url"
            raise Untranslatable(
                f"{where}: an image URL is not passed on here ({why}); send the image inline as"
                " a data URL (data:image/png;base64,...)",
                param=where,
            )
