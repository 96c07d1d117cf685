"""One tenant cannot hurt another through its requests (issue 15): a backend's error that a request
caused never opens the backend's circuit for everyone, the client reads a clean short reason (the
log the whole text, never the prompt), and a prompt over the context is the same 400 streamed or
not, without trying every other model."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import httpx
import openai
import pytest

from stellwerk.backends.transport import raise_for_status
from stellwerk.errors import BackendAnswered
from tests.fixtures.gateway import KEYS, Gateway
from tests.fixtures.llama import LlamaBackend

pytestmark = pytest.mark.llama

RESEARCH = {"authorization": f"Bearer {KEYS['research']}"}
LEGAL = {"authorization": f"Bearer {KEYS['legal']}"}
# a valid request (token 1000 is a token id) that the tiny model's 258-token vocabulary cannot
# take: llama-cpp-python fails on it with HTTP 500, from a healthy server
POISON = {
    "model": "tiny-small",
    "messages": [{"role": "user", "content": "hello"}],
    "max_tokens": 2,
    "logit_bias": {"1000": 5},
}


def _attack(url: str, stop: threading.Event, answers: list[int]) -> None:
    """Four poisoned requests a second, plain and streamed, until ``stop``."""
    with httpx.Client(timeout=60) as client:
        while not stop.is_set():
            body = {**POISON, "stream": len(answers) % 2 == 1}
            answers.append(client.post(url, json=body, headers=RESEARCH).status_code)
            stop.wait(0.25)


def test_one_keys_failing_requests_leave_the_model_to_the_other_keys(gateway: Gateway) -> None:
    url = gateway.openai_url + "/chat/completions"
    victim = openai.OpenAI(base_url=gateway.openai_url, api_key=KEYS["legal"], max_retries=0)
    stop, attacks = threading.Event(), list[int]()
    attacker = threading.Thread(target=_attack, args=(url, stop, attacks))
    attacker.start()
    served: list[str] = []
    try:
        for i in range(10):  # another department at its own pace, plain and streamed
            messages = [{"role": "user", "content": f"Question {i}"}]
            if i % 2:
                chunks = victim.chat.completions.create(
                    model="tiny-small", messages=messages, max_tokens=2, stream=True
                )  # type: ignore[call-overload]
                served.append(
                    "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
                )
            else:
                reply = victim.chat.completions.create(
                    model="tiny-small", messages=messages, max_tokens=2
                )  # type: ignore[call-overload]
                served.append(reply.choices[0].message.content or "")
            time.sleep(0.8)
    finally:
        stop.set()
        attacker.join()
        victim.close()
    assert len(served) == 10  # every request of the other key answered (none 503)
    assert len(attacks) >= 6 and set(attacks) == {502}  # the sender's own requests fail
    ready = httpx.get(gateway.url + "/readyz", timeout=30).json()
    assert ready["backends"]["llamacpp"]["circuit"] == "closed"


def test_a_backends_error_reaches_the_client_short_and_clean_and_the_log_whole(
    gateway: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    canary = "Kanarienvogel-4f1e secret prompt text"
    body = {**POISON, "messages": [{"role": "user", "content": canary}]}
    with caplog.at_level(logging.DEBUG):
        response = httpx.post(
            gateway.openai_url + "/chat/completions", json=body, headers=RESEARCH, timeout=60
        )
    assert response.status_code == 502
    error = response.json()["error"]
    assert error["code"] == "backend_failed"
    assert error["message"].startswith("backend 'llamacpp': HTTP 500: ")
    assert "out of bounds" in error["message"]
    logged = [r.getMessage() for r in caplog.records]
    assert any("HTTP 500" in line and "out of bounds" in line for line in logged)
    assert not any(canary in line or canary[:24] in line for line in logged)


def test_the_real_servers_traceback_and_paths_stay_in_the_log(
    llama_server: LlamaBackend, caplog: pytest.LogCaptureFixture
) -> None:
    # what llama-cpp-python answers to a parameter of the wrong type (which the gateway no
    # longer passes on): its 500 holds the validation error with its handler's file
    canary = "Kanarienvogel-9b2d another secret prompt"
    sent: dict[str, Any] = {
        "model": "tiny-small",
        "messages": [{"role": "user", "content": canary}],
        "top_k": "x",
    }
    answer = httpx.post(llama_server.openai_base_url + "/chat/completions", json=sent, timeout=60)
    assert answer.status_code == 500
    with caplog.at_level(logging.WARNING), pytest.raises(BackendAnswered) as caught:
        raise_for_status("llamacpp", answer.status_code, answer.content, sent)
    message = caught.value.message
    assert message.startswith("backend 'llamacpp': HTTP 500: ")
    assert len(message) < 220
    assert "Traceback" not in message and ".py" not in message
    assert "site-packages" not in message and "/" not in message.split("HTTP 500", 1)[1]
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "top_k" in logged
    assert canary not in logged and canary[:24] not in logged


LONG_PROMPT = " ".join(f"w{i}" for i in range(500))  # 2,000 bytes: 2,000 tokens of a 1,024 context


def _upstream_errors(gateway: Gateway) -> list[str]:
    metrics = httpx.get(gateway.url + "/metrics", timeout=30).text
    return [line for line in metrics.splitlines() if line.startswith("stellwerk_upstream_errors")]


@pytest.mark.parametrize("model", ["tiny-small", "auto"])
def test_a_prompt_over_the_context_is_the_same_400_streamed_or_not(
    gateway: Gateway, model: str
) -> None:
    client = openai.OpenAI(base_url=gateway.openai_url, api_key=KEYS["research"], max_retries=0)
    errors = []
    for stream in (False, True):
        with pytest.raises(openai.BadRequestError) as caught:
            client.chat.completions.create(
                model=model,
                messages=[{"role": "user", "content": LONG_PROMPT}],
                max_tokens=4,
                stream=stream,
            )  # type: ignore[call-overload]
        errors.append(caught.value.body)
    client.close()
    assert errors[0] == errors[1]
    assert isinstance(errors[0], dict)
    assert errors[0]["code"] == "context_length_exceeded"
    assert "over the model's context of 1024 tokens" in errors[0]["message"]

    ollama_errors = []
    for stream in (False, True):
        response = httpx.post(
            gateway.url + "/api/chat",
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
    ledger = gateway.ledger()
    records = ledger.recent_usage()
    ledger.close()
    assert len(records) == 4
    assert all(r.status == 400 and not r.fallback_from for r in records)
