"""One tenant cannot hurt another through its requests (issue 15): a backend's error that a request
caused never opens the backend's circuit for everyone, the client reads a clean short reason (the
log the whole text, never the prompt), and a prompt over the context is the same 400 streamed or
not, without trying every other model."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

import openai
import pytest

from stellwerk.ledger.record import UsageRecord
from tests.fixtures.gateway import KEYS, Gateway, in_process

pytestmark = pytest.mark.llama

RESEARCH = {"authorization": f"Bearer {KEYS['research']}"}
# A valid request that a healthy llama-cpp-python answers with HTTP 500 (its text holding the
# file of its handler): structured outputs, sent as they are to a backend left at
# ``dialect: generic`` (docs/reliability.md, known gaps).
POISON = {
    "model": "generic-small",
    "messages": [{"role": "user", "content": "hello"}],
    "max_tokens": 2,
    "response_format": {
        "type": "json_schema",
        "json_schema": {"name": "answer", "schema": {"type": "object"}},
    },
}


@pytest.fixture
def shared(gateway_raw: dict[str, Any]) -> Iterator[Gateway]:
    """The llama.cpp server also as backend ``generic`` (no dialect), model ``generic-small``,
    which both departments may use."""
    generic = {**gateway_raw["backends"][0], "name": "generic", "dialect": "generic"}
    model = {**gateway_raw["models"][0], "id": "generic-small", "backend": "generic"}
    departments = [
        {**d, "allowed_models": [*d["allowed_models"], "generic-small"]}
        if "allowed_models" in d
        else d
        for d in gateway_raw["departments"]
    ]
    raw = {
        **gateway_raw,
        "backends": [*gateway_raw["backends"], generic],
        "models": [*gateway_raw["models"], model],
        "departments": departments,
    }
    with in_process(raw) as gw:
        yield gw


def _attack(gw: Gateway, stop: threading.Event, answers: list[int]) -> None:
    """Four poisoned requests a second, plain and streamed, until ``stop``."""
    url = "/v1/chat/completions"
    with gw.client() as client:
        while not stop.is_set():
            body = {**POISON, "stream": len(answers) % 2 == 1}
            answers.append(client.post(url, json=body, headers=RESEARCH).status_code)
            stop.wait(0.25)


def test_one_keys_failing_requests_leave_the_model_to_the_other_keys(shared: Gateway) -> None:
    victim = shared.openai(KEYS["legal"], max_retries=0)
    stop, attacks = threading.Event(), list[int]()
    attacker = threading.Thread(target=_attack, args=(shared, stop, attacks))
    attacker.start()
    served: list[str] = []
    try:
        for i in range(10):  # another department at its own pace, plain and streamed
            messages: Any = [{"role": "user", "content": f"Question {i}"}]
            if i % 2:
                chunks = victim.chat.completions.create(
                    model="generic-small", messages=messages, max_tokens=2, stream=True
                )
                served.append(
                    "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
                )
            else:
                reply = victim.chat.completions.create(
                    model="generic-small", messages=messages, max_tokens=2
                )
                served.append(reply.choices[0].message.content or "")
            time.sleep(0.8)
    finally:
        stop.set()
        attacker.join()
        victim.close()
    assert len(served) == 10  # every request of the other key answered (none 503)
    assert len(attacks) >= 6 and set(attacks) == {502}  # the sender's own requests fail
    ready = shared.get("/readyz", timeout=30).json()
    assert ready["backends"]["generic"]["circuit"] == "closed"


def test_a_backends_error_reaches_the_client_short_and_clean_and_the_log_whole(
    shared: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    canary = "Kanarienvogel-4f1e secret prompt text"
    body = {**POISON, "messages": [{"role": "user", "content": canary}]}
    for stream in (False, True):
        caplog.clear()
        with caplog.at_level(logging.DEBUG):
            response = shared.post(
                "/v1/chat/completions",
                json={**body, "stream": stream},
                headers=RESEARCH,
                timeout=60,
            )
        assert response.status_code == 502
        error = response.json()["error"]
        assert error["code"] == "backend_failed"
        message = error["message"]
        assert message.startswith("backend 'generic': HTTP 500: 1 validation error: ")
        assert "response_format" in message
        assert len(message) < 220
        assert "File" not in message and ".py" not in message and "site-packages" not in message
        logged = [r.getMessage() for r in caplog.records]
        whole = [line for line in logged if "HTTP 500" in line and "llama_cpp/server" in line]
        assert whole, logged  # the whole text, with the handler's file, is in the log
        assert not any(canary in line or canary[:24] in line for line in logged)


LONG_PROMPT = " ".join(f"w{i}" for i in range(500))  # 2,000 bytes: 2,000 tokens of a 1,024 context


def _upstream_errors(gateway: Gateway) -> list[str]:
    metrics = gateway.get("/metrics", timeout=30).text
    return [line for line in metrics.splitlines() if line.startswith("stellwerk_upstream_errors")]


@pytest.mark.parametrize("model", ["tiny-small", "auto"])
def test_a_prompt_over_the_context_is_the_same_400_streamed_or_not(
    gateway: Gateway, model: str
) -> None:
    errors: list[object] = []
    with gateway.openai(KEYS["research"], max_retries=0) as client:
        for stream in (False, True):
            with pytest.raises(openai.BadRequestError) as caught:
                client.chat.completions.create(
                    model=model,
                    messages=[{"role": "user", "content": LONG_PROMPT}],
                    max_tokens=4,
                    stream=stream,
                )
            errors.append(caught.value.body)
    assert errors[0] == errors[1]
    assert isinstance(errors[0], dict)
    assert errors[0]["code"] == "context_length_exceeded"
    assert errors[0]["message"].startswith("This model's maximum context length is 1024 tokens;")

    ollama_errors = []
    for stream in (False, True):
        response = gateway.post(
            "/api/chat",
            json={
                "model": model,
                "messages": [{"role": "user", "content": LONG_PROMPT}],
                "stream": stream,
            },
            headers=RESEARCH,
            timeout=60,
        )
        assert response.status_code == 400, response.text
        ollama_errors.append(response.json())
    assert ollama_errors[0] == ollama_errors[1] == {"error": errors[0]["message"]}

    # no candidate holds it (every model has a context of 1,024): no fallback, no upstream error
    assert _upstream_errors(gateway) == []
    records = _records(gateway, 4)
    assert all(r.status == 400 and not r.fallback_from for r in records)


def _records(gateway: Gateway, count: int) -> list[UsageRecord]:
    """The usage records, once ``count`` are written (the writer flushes every 200 ms)."""
    ledger = gateway.ledger()
    try:
        for _ in range(100):
            records = ledger.recent_usage()
            if len(records) >= count:
                return records
            time.sleep(0.1)
        raise AssertionError(f"{count} usage records expected, found {len(records)}")
    finally:
        ledger.close()
