"""Shadow grading pays for a reference answer only when its judging call can fit the judge's
context, learns from a judge that refused one as too long, and shares its rate between the
departments (docs/router.md, "Shadow grading")."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from typing import Any

import pytest

from stellwerk.backends.build import build_backends, build_client
from stellwerk.backends.tokens import prompt_bound
from stellwerk.config import parse_config
from stellwerk.config.schema import ShadowConfig
from stellwerk.gateway.auth import Principal
from stellwerk.gateway.shadow import ShadowGrader
from stellwerk.gateway.shadow_fit import JUDGE_MAX_TOKENS, judging_request, judging_tokens
from stellwerk.ledger.record import UsageRecord
from stellwerk.routing.base import Decision
from tests.dashboard.client import login
from tests.dashboard.conftest import ADMIN_KEY, DASHBOARD_ENV
from tests.dashboard.test_learning_page import _section
from tests.dashboard.test_rendering import problems
from tests.fixtures.gateway import (
    KEYS,
    OFFLINE_BACKEND,
    Gateway,
    add_ollama_backend,
    in_process,
    raw_config,
)
from tests.gateway.test_shadow import _shadow_rows, _wait_for_grade, _with_shadow

# words the shipped router knows (so the request is gradable), in a question whose answer the
# tiny models write until ``max_tokens``
LONG = "Write a long story about the history of the railway signal box and its workers."
# unfamiliar to the router (German contract words): taken whenever one grading's rate is left
SHORT = "Bitte fasse den Vertrag über die Lieferung von Schrauben zusammen."


def _chat(gw: Gateway, text: str, max_tokens: int) -> str:
    with gw.openai(KEYS["research"], max_retries=0) as client:
        raw = client.chat.completions.with_raw_response.create(
            model="auto-economy",
            messages=[{"role": "user", "content": text}],
            max_tokens=max_tokens,
            temperature=0,
        )
        assert raw.parse().model == "tiny-small"  # the reference is tiny-large: a judging call
    return raw.headers["x-stellwerk-request-id"]


def _skipped(gw: Gateway, reason: str) -> float:
    found = re.search(
        rf'^stellwerk_shadow_skipped_total\{{reason="{reason}"\}} (\S+)$',
        gw.get("/metrics").text,
        re.M,
    )
    return float(found[1]) if found else 0.0


def _wait_for_skips(gw: Gateway, reason: str, count: float, calls: int = 0) -> None:
    """Until ``count`` skips for ``reason`` are counted, or more than ``calls`` shadow calls
    are recorded (what happened before the skips were made)."""
    for _ in range(300):  # the grading runs in the background, after the answer
        if _skipped(gw, reason) >= count or len(_shadow_calls(gw)) > calls:
            return
        time.sleep(0.2)
    raise AssertionError(f"no {count:g} skips for {reason}")


def _shadow_calls(gw: Gateway) -> list[UsageRecord]:
    ledger = gw.ledger()
    try:
        return [r for r in ledger.recent_usage(limit=100) if r.endpoint == "shadow"]
    finally:
        ledger.close()


@pytest.mark.llama
def test_a_grading_whose_judging_call_cannot_fit_is_skipped_before_anything_is_paid(
    gateway_raw: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    """walk10 finding 5: a long answer (the client's ``max_tokens``) plus the reference's
    ``reference_max_tokens`` plus the rubric overflow the judge's 1,024 tokens. The reference
    answer was paid for and the judging call failed, every time; now the grading is skipped
    before the reference is asked, counted and logged, and its rate given back (one grading a
    minute: the next request is graded)."""
    caplog.set_level(logging.INFO, logger="stellwerk.gateway.shadow")
    raw = _with_shadow(gateway_raw, requests_per_minute=1)
    with in_process(raw) as gw:
        skipped = _chat(gw, LONG, 700)
        _wait_for_skips(gw, "judge_context", 1)
        assert _shadow_calls(gw) == []  # no reference answer paid for, no judging call
        assert _skipped(gw, "judge_context") == 1
        graded = _chat(gw, SHORT, 3)
        rows = _wait_for_grade(gw)
    assert [r.request_id for r in rows] == [graded]
    ledger = gw.ledger()
    try:
        (record,) = [r for r in ledger.recent_usage(limit=100) if r.request_id == graded]
    finally:
        ledger.close()
    assert record.unfamiliar  # so the rate given back is what let it be picked
    assert f"shadow grading of request {skipped} skipped (judge_context)" in caplog.text
    assert {(r.status, r.model) for r in _shadow_calls(gw)} == {(200, "tiny-large")}


@pytest.mark.llama
def test_a_judge_that_refused_a_grading_as_too_long_is_not_asked_that_size_again(
    gateway_raw: dict[str, Any],
) -> None:
    """The configured context (4,096) is larger than the server's (1,024): the count fits it,
    the reference answers, and the server refuses the judging call. The same kind of request
    after it is skipped before its reference is paid for, not failed again."""
    raw = _with_shadow(gateway_raw)
    for model in raw["models"]:
        if model["id"] == "tiny-large":
            model["context_length"] = 4096
    with in_process(raw) as gw:
        _chat(gw, LONG, 700)
        for _ in range(300):
            failed = [r for r in _shadow_calls(gw) if r.status != 200]
            if failed:
                break
            time.sleep(0.2)
        assert [(r.status, r.error_kind) for r in failed] == [(502, "shadow_failed")]
        paid = len(_shadow_calls(gw))
        _chat(gw, LONG, 700)
        _wait_for_skips(gw, "judge_context", 1, calls=paid)
        assert len(_shadow_calls(gw)) == paid
        assert _skipped(gw, "judge_context") == 1
        assert _shadow_rows(gw) == []


def _decision(unfamiliar: bool) -> Decision:
    return Decision(
        model_id="m", ranking=("m",), scores=(), reason="", router="x", unfamiliar=unfamiliar
    )


def test_a_department_gets_half_the_rate_while_another_waits() -> None:
    """walk10 finding 6: one department's unfamiliar prompts (taken first) took the whole rate
    while another's familiar requests waited; now it takes half a minute's rate, the rest is
    left for the one that waited. Alone, a department may take the whole rate."""
    now = [0.0]
    grader = ShadowGrader(
        ShadowConfig(share=1.0, account="legal", requests_per_minute=4), clock=lambda: now[0]
    )
    legal = Principal("k1", "legal", "user", "internal", None)
    sales = Principal("k2", "sales", "user", "internal", None)
    salad, familiar = _decision(True), _decision(False)

    def legal_wants() -> bool:
        return grader.wants(legal, "auto", salad, {"chat"})

    def sales_wants() -> bool:
        return grader.wants(sales, "auto", familiar, {"chat"})

    # alone: legal takes all four of the minute's gradings
    assert [legal_wants() for _ in range(5)] == [True, True, True, True, False]
    now[0] = 15.0  # one more grading's worth of rate; a familiar prompt needs half a minute's
    assert not sales_wants()  # sales waits
    now[0] = 60.0  # a new minute, the bucket full again
    assert legal_wants() and legal_wants()
    # legal had its half while sales waited: the rest of the minute's rate is not legal's
    assert not legal_wants()
    assert not sales_wants()  # still under half a minute's rate left: sales waits on
    now[0] = 75.0
    assert not legal_wants()
    assert sales_wants()

    def skips(reason: str) -> float | None:
        return grader.metrics.registry.get_sample_value(
            "stellwerk_shadow_skipped_total", {"reason": reason}
        )

    assert (skips("rate"), skips("department_share")) == (3, 2)


def test_a_judge_without_a_tokenizer_is_held_to_the_bound() -> None:
    """An Ollama server has no tokenizer the gateway can ask: the judging call is counted at its
    bound (a token per byte), which no real count exceeds."""
    raw = raw_config(OFFLINE_BACKEND, "sqlite://")
    add_ollama_backend(raw, OFFLINE_BACKEND, "ollama-judge", 2)
    config = parse_config(raw)
    judge = next(m for m in config.models if m.id == "ollama-judge")

    async def count() -> int:
        client = build_client()
        try:
            backend = build_backends(config, client, {})["ollama-1"]
            return await judging_tokens(backend, judge, LONG, "ünïcödé " * 10, 200)
        finally:
            await client.aclose()

    request = judging_request(LONG, "", "ünïcödé " * 10)
    assert asyncio.run(count()) == prompt_bound(request) + 200 + JUDGE_MAX_TOKENS


def test_a_request_asking_to_think_is_graded_as_a_plain_chat() -> None:
    """A routed request that asks the model to think (it needs ``thinking``: it went to a model
    that thinks) is picked for grading as a plain chat is: the reference answers the same
    prompt as it does unasked (``think`` is not passed to it)."""
    grader = ShadowGrader(ShadowConfig(share=1.0, account="legal", requests_per_minute=60))
    asker = Principal("k1", "research", "user", "internal", None)
    assert grader.wants(asker, "auto", _decision(True), {"chat", "thinking"})


@pytest.mark.llama
@pytest.mark.parametrize(
    ("language", "reason"),
    [
        ("en", "the judging call (question, both answers, rubric) would not fit the reference"),
        ("de", "der Bewertungsaufruf (Frage, beide Antworten, Anleitung) passt nicht in den"),
    ],
)
def test_the_learning_page_says_why_gradings_were_skipped(
    gateway_raw: dict[str, Any], language: str, reason: str
) -> None:
    """walk24 4: every grading skipped (``judge_context``) left the page at "0 Calls" with no
    reason; it now counts this replica's skips per reason, in words."""
    raw = _with_shadow(gateway_raw, requests_per_minute=1)
    raw["departments"].append(
        {
            "name": "it",
            "keys": [{"id": "it-admin", "key_env": "STW_TEST_KEY_ADMIN", "role": "admin"}],
        }
    )
    raw["dashboard"] = {"session_secret_env": "STW_TEST_DASHBOARD"}
    with in_process(raw, DASHBOARD_ENV) as gw, login(gw, ADMIN_KEY) as (admin, answer):
        assert answer.status_code == 303
        admin.cookies.set("stw_lang", language, path="/dashboard")
        before = _section(admin.get("/dashboard/learning").text, "l-shadow")
        assert ("no grading since its start" if language == "en" else "keine Bewertung") in before
        _chat(gw, LONG, 700)
        _wait_for_skips(gw, "judge_context", 1)
        html = admin.get("/dashboard/learning").text
    assert problems(html) == []
    shadow = _section(html, "l-shadow")
    assert f"1 judge_context {reason}" in shadow
    # walk26: the fix it names is the one that helps (an answer bounded by max_tokens)
    assert "max_tokens" in shadow.split("judge_context", 1)[1].split("reference_max_tokens")[0]
    assert ("this gateway replica" if language == "en" else "dieses Gateway-Replikats") in shadow
