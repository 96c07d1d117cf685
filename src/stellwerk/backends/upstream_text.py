"""What a backend's error text becomes: a short, clean reason for the client, the whole text for
the log, and never the prompt in either place the gateway writes.

A model server's error may carry a Python traceback, the paths of its installation or the
request it refused (llama-cpp-python answers a request it fails on with ``str(exception)``,
which for a validation error holds the value refused and the file of its handler). The client
gets the text before any traceback, without paths, cut to ``REASON_CHARS``; the gateway's log
gets the whole text with every string of the request taken out (the request is the prompt, and
the log never holds it).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import orjson

#: the most characters of a backend's own words that reach the client
REASON_CHARS = 160
#: strings of the request shorter than this are not taken out of the log (a role, a number)
_SECRET_MIN = 6
_PREFIX = 24

_PATH = re.compile(r"""(?:[A-Za-z]:)?(?:[\\/][^\s'"(),:\\/]+){2,}[\\/]?""")
_TRACEBACK = re.compile(r"Traceback \(most recent call last\)|\bFile \"")
_SPACE = re.compile(r"\s+")


def message_of(body: bytes) -> str:
    """The error text of a backend's answer: ``error.message`` (OpenAI), ``error`` (Ollama),
    ``detail`` (FastAPI servers), else the body itself."""
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        return body.decode("utf-8", "replace").strip()
    if isinstance(value, dict):
        error = value.get("error", value.get("detail", value))
        if isinstance(error, dict):
            error = error.get("message", error)
        return error if isinstance(error, str) else orjson.dumps(error).decode()
    return orjson.dumps(value).decode()


def code_of(body: bytes) -> str | None:
    """The error's ``code`` where the backend gives one (OpenAI's ``context_length_exceeded``)."""
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    error = value.get("error") if isinstance(value, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    return code if isinstance(code, str) else None


def reason(text: str) -> str:
    """The part of a backend's error text a client may read: up to a traceback or a source
    file's line, paths replaced by ``<path>``, blank space folded, at most ``REASON_CHARS``."""
    cut = _TRACEBACK.search(text)
    head = text[: cut.start()] if cut else text
    clean = _SPACE.sub(" ", _PATH.sub("<path>", head)).strip(" :")
    if len(clean) > REASON_CHARS:
        clean = clean[: REASON_CHARS - 3].rstrip() + "..."
    return clean or "no details"


def for_log(text: str, request: Any) -> str:
    """The whole error text with every string of ``request`` (its messages, prompt, tools)
    taken out, as it was sent, JSON-escaped, Python-escaped, or its beginning alone (servers
    cut long values they echo)."""
    secrets = sorted(set(_strings(request)), key=len, reverse=True)
    for secret in secrets:
        for form in _forms(secret):
            text = text.replace(form, "<request text>")
    return text


def _forms(secret: str) -> Iterator[str]:
    yield secret
    yield orjson.dumps(secret).decode()[1:-1]
    yield repr(secret)[1:-1]
    if len(secret) > _PREFIX:
        yield secret[:_PREFIX]
        yield repr(secret)[1 : _PREFIX + 1]


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        if len(value) >= _SECRET_MIN:
            yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)
