"""The headers a request is judged by (``Authorization``, ``x-stellwerk-classification``): sent
once or refused, echoed cut and readable; and the request id on every answer that leaves a usage
record, refused ones included, in both APIs. No model server is needed: every request here is
refused before a backend is asked."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from stellwerk.errors import SHOWN_CHARS
from tests.fixtures.gateway import (
    KEYS,
    OFFLINE_BACKEND,
    Gateway,
    in_process,
    migrated_copy,
    raw_config,
)

AUTH = {"authorization": f"Bearer {KEYS['research']}"}
OTHER = f"Bearer {KEYS['legal']}"
CLASS = "x-stellwerk-classification"
CHAT = {"model": "nope", "messages": [{"role": "user", "content": "hi"}], "stream": False}
PATHS = ("/v1/chat/completions", "/api/chat")


@pytest.fixture
def database_url(tmp_path: Path, ledger_template: Path) -> str:
    return migrated_copy(ledger_template, tmp_path / "ledger.db")


@pytest.fixture
def offline(database_url: str) -> Iterator[Gateway]:
    with in_process(raw_config(OFFLINE_BACKEND, database_url)) as gw:
        yield gw


def message(response: httpx.Response) -> str:
    error: Any = response.json()["error"]
    return error if isinstance(error, str) else str(error["message"])


@pytest.mark.parametrize("path", PATHS)
def test_a_long_classification_is_echoed_cut(offline: Gateway, path: str) -> None:
    response = offline.post(path, json=CHAT, headers={**AUTH, CLASS: "a" * 5000})
    assert response.status_code == 400
    text = message(response)
    assert "a" * SHOWN_CHARS in text and "a" * (SHOWN_CHARS + 1) not in text
    assert "(5000 characters)" in text and len(text) < 300


@pytest.mark.parametrize("path", PATHS)
def test_a_non_ascii_classification_is_echoed_as_sent(offline: Gateway, path: str) -> None:
    headers = [*AUTH.items(), (CLASS, "ünïcode".encode())]
    response = offline.post(path, json=CHAT, headers=headers)
    assert response.status_code == 400
    assert "'ünïcode'" in message(response)
    assert "Ã" not in message(response)


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(
    ("sent", "echo"),
    [
        (b"\xffsecret", r"'\xffsecret'"),
        ("café".encode() + b"\xff", r"'café\xff'"),
        # a backslash the client wrote is shown escaped, so it cannot pass for a byte
        (rb"a\xff", r"'a\\xff'"),
    ],
)
def test_bytes_that_are_not_utf8_are_echoed_as_escapes_once(
    offline: Gateway, path: str, sent: bytes, echo: str
) -> None:
    """A byte that is not UTF-8 reads ``\\xNN`` in the echo (docs/api.md), escaped once."""
    headers = [*AUTH.items(), (CLASS, sent)]
    response = offline.post(path, json=CHAT, headers=headers)
    assert response.status_code == 400
    assert f"{CLASS}: unknown classification {echo};" in message(response)


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(
    ("name", "values"),
    [
        ("authorization", [AUTH["authorization"], OTHER]),
        ("authorization", [AUTH["authorization"], AUTH["authorization"]]),
        (CLASS, ["secret", "public"]),
        (CLASS, ["public", "secret"]),
    ],
)
def test_a_security_header_sent_twice_is_refused(
    offline: Gateway, path: str, name: str, values: list[str]
) -> None:
    headers = [(k, v) for k, v in AUTH.items() if k != name] + [(name, v) for v in values]
    response = offline.post(path, json=CHAT, headers=headers)
    assert response.status_code == 400
    assert f"the header {name} is sent more than once" in message(response)
    if path.startswith("/v1"):
        error = response.json()["error"]
        assert error["param"] == name and error["code"] == "duplicate_header"


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("value", ["", "  "])
def test_an_empty_classification_is_refused(offline: Gateway, path: str, value: str) -> None:
    response = offline.post(path, json=CHAT, headers={**AUTH, CLASS: value})
    assert response.status_code == 400
    assert f"{CLASS} is empty" in message(response)


def test_a_refusal_names_its_usage_record(database_url: str) -> None:
    """Refusals of a known key by the gate (two classes), by the pipeline (unknown model, a
    budget), in both APIs and through the openai client: each answer's request id is its
    record's. A refusal before the key was known (no key, two keys) has no record, and its
    answer names none (tests/gateway/test_keyless.py)."""
    raw = raw_config(OFFLINE_BACKEND, database_url)
    raw["departments"][0]["limits"] = {"monthly_budget": 0}  # research may spend nothing
    ids: dict[str, str] = {}
    with in_process(raw) as gw:
        client = gw.openai(KEYS["research"], max_retries=0)
        with client, pytest.raises(openai.RateLimitError) as refused:
            client.chat.completions.create(
                model="tiny-small", messages=[{"role": "user", "content": "hi"}]
            )
        ids["openai budget"] = refused.value.response.headers["x-stellwerk-request-id"]
        for path in PATHS:
            for name, headers in [
                ("unknown model", {"authorization": f"Bearer {KEYS['legal']}"}),
                ("two classes", [*AUTH.items(), (CLASS, "public"), (CLASS, "secret")]),
            ]:
                response = gw.post(path, json=CHAT, headers=headers)
                assert response.status_code in (400, 404), (path, name)
                ids[f"{path} {name}"] = response.headers["x-stellwerk-request-id"]
            for name, headers in [
                ("no key", {}),
                ("two keys", [*AUTH.items(), ("authorization", OTHER)]),
            ]:
                response = gw.post(path, json=CHAT, headers=headers)
                assert response.status_code in (400, 401), (path, name)
                assert "x-stellwerk-request-id" not in response.headers, (path, name)
    ledger = gw.ledger()
    try:
        records = {r.request_id: r for r in ledger.recent_usage(limit=100)}
    finally:
        ledger.close()
    assert set(ids.values()) <= set(records), ids
    assert records[ids["openai budget"]].error_kind == "budget_exceeded"
    assert records[ids["/api/chat two classes"]].error_kind == "duplicate_header"
    assert len(records) == len(ids)  # the refusals without a known key left none
