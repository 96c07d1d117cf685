"""Ollama's model management calls get a clear answer in Ollama's format: the gateway does not
download, upload, build or remove models (the official ``ollama`` library)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import closing
from typing import Any

import ollama
import pytest

from tests.fixtures.gateway import KEYS, Gateway


@pytest.fixture
def gateway(offline_gateway: Gateway) -> Gateway:
    """Every answer here is a refusal: no backend is asked (its backend is a closed port)."""
    return offline_gateway


@pytest.fixture
def client(gateway: Gateway) -> Iterator[ollama.Client]:
    with closing(gateway.ollama(headers={"authorization": f"Bearer {KEYS['research']}"})) as made:
        yield made


CALLS: dict[str, Callable[[ollama.Client], Any]] = {
    "pull": lambda c: c.pull("auto"),
    "push": lambda c: c.push("tiny-small"),
    "create": lambda c: c.create(model="mine", from_="tiny-small"),
    "copy": lambda c: c.copy("tiny-small", "mine"),
    "delete": lambda c: c.delete("tiny-small"),
}


@pytest.mark.parametrize("action", list(CALLS))
def test_model_management_is_refused_with_a_reason(client: ollama.Client, action: str) -> None:
    with pytest.raises(ollama.ResponseError) as info:
        CALLS[action](client)
    assert info.value.status_code == 403
    assert "models are managed on the model servers" in info.value.error


@pytest.mark.parametrize("name", ["auto", "auto:latest"])  # as /api/tags lists it
def test_pulling_a_route_says_it_is_one(client: ollama.Client, name: str) -> None:
    with pytest.raises(ollama.ResponseError, match=f"'{name}' is a route"):
        client.pull(name, stream=True).__next__()


def test_without_a_key_it_is_a_401(gateway: Gateway) -> None:
    answer = gateway.post("/api/pull", json={"model": "auto"})
    assert answer.status_code == 401
    assert isinstance(answer.json()["error"], str)
