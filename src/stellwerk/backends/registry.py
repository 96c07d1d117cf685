"""The built-in backends by config ``kind``: the one module that knows them all, so that the
backend base knows none (``base`` <- ``openai``, ``ollama`` <- ``registry``)."""

from __future__ import annotations

from collections.abc import Mapping

from stellwerk.backends.base import BackendFactory
from stellwerk.backends.ollama import OllamaBackend
from stellwerk.backends.openai import OpenAIBackend


def builtin_backends() -> Mapping[str, BackendFactory]:
    """The registry of wire protocols by config ``kind``."""
    return {"openai": OpenAIBackend, "ollama": OllamaBackend}
