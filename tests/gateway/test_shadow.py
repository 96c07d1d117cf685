"""Shadow grading on a real gateway: a routed answer is graded against the best permitted model,
off the client's path, charged to the configured account, and no prompt text is kept."""

from __future__ import annotations

import json
import logging
import re
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select
from typer.testing import CliRunner

from stellwerk.cli.main import build_app
from stellwerk.config import parse_config
from stellwerk.config.schema import ShadowConfig
from stellwerk.errors import ConfigError
from stellwerk.gateway.auth import Principal
from stellwerk.gateway.shadow import ShadowGrader
from stellwerk.ledger.graded_tables import graded_records
from stellwerk.ledger.ledger import open_ledger
from stellwerk.ledger.record import UsageRecord
from stellwerk.routing.base import Decision
from tests.fixtures.gateway import ENVIRON, Gateway, _model, in_process, raw_config
from tests.gateway.test_feedback import _ask, _found_in_files, _found_in_tables

# the tiny models' tokenizer takes about a token a character: with the default 512 tokens of
# reference answer, no judging call (the rubric, the question, both answers) fits their 1,024
SHADOW = {
    "share": 1.0,
    "account": "legal",
    "requests_per_minute": 60,
    "reference_max_tokens": 200,
}


def _with_shadow(raw: dict[str, Any], **shadow: Any) -> dict[str, Any]:
    out = {k: v for k, v in raw.items() if k != "router"}  # the shipped learned router
    out["router"] = {"shadow": {**SHADOW, **shadow}}
    return out


def _shadow_rows(gw: Gateway) -> list[Any]:
    ledger = gw.ledger()
    try:
        with ledger.connect() as connection:
            return list(connection.execute(select(graded_records)))
    finally:
        ledger.close()


def _wait_for_grade(gw: Gateway) -> list[Any]:
    for _ in range(300):  # the grading runs in the background, after the answer
        rows = _shadow_rows(gw)
        if rows:
            return rows
        time.sleep(0.2)
    return []


@pytest.mark.llama
@pytest.mark.parametrize("db", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_routed_answer_is_graded_against_the_best_allowed_model_and_charged_to_the_account(
    db: str,
    gateway_raw: dict[str, Any],
    tmp_path: Path,
    request: pytest.FixtureRequest,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    canary = f"zebracanary{secrets.token_hex(8)}"
    caplog.set_level(logging.DEBUG)
    raw = _with_shadow(gateway_raw)
    if db == "postgres":
        raw["server"] = {**raw["server"], "database_url": request.getfixturevalue("pg_schema_url")}
    with in_process(raw) as gw:
        # auto-economy sends it to the cheapest model; the reference is the best rated, larger one
        request_id, model = _ask(gw, "auto-economy", f"Summarise the memo {canary} in a line.")
        rows = _wait_for_grade(gw)
    ledger = gw.ledger()  # once the gateway has stopped: its usage writer is drained
    try:
        usage = ledger.recent_usage(limit=10)
    finally:
        ledger.close()
    assert model == "tiny-small"
    (row,) = rows
    assert (row.request_id, row.source, row.model, row.route) == (
        request_id,
        "shadow",
        "tiny-small",
        "auto-economy",
    )
    # the grade is relative to the reference's answer, which is kept as the yardstick (1)
    assert set(row.grades) == {"tiny-small", "tiny-large"} and row.grades["tiny-large"] == 1.0
    assert 0.0 <= row.grades["tiny-small"] <= 1.0
    shadow_calls = [r for r in usage if r.endpoint == "shadow"]
    # the reference's answer, then (unless the answers were equal) its verdict
    assert 1 <= len(shadow_calls) <= 2
    assert {(r.department, r.key_id, r.model) for r in shadow_calls} == {
        ("legal", "shadow", "tiny-large")
    }
    assert all(r.prompt_tokens > 0 for r in shadow_calls)
    client = [r for r in usage if r.endpoint != "shadow"]
    assert [(r.request_id, r.department) for r in client] == [(request_id, "research")]
    # the routed request's record says how familiar its prompt was (a number, never text)
    assert client[0].familiarity is not None and 0.0 <= client[0].familiarity <= 1.0
    assert isinstance(client[0].unfamiliar, bool)
    assert all(r.familiarity is None and r.unfamiliar is None for r in shadow_calls)
    url = raw["server"]["database_url"]
    assert "graded_records.request_id" in _found_in_tables(url, request_id)
    assert _found_in_tables(url, canary) == []
    assert _found_in_files(tmp_path, canary) == []
    out, err = capfd.readouterr()
    assert canary not in out + err + caplog.text


@pytest.mark.llama
def test_a_familiar_prompt_is_graded_at_a_rate_of_one(gateway_raw: dict[str, Any]) -> None:
    """left29: ``requests_per_minute: 1`` graded no familiar prompt, ever (the unit test below
    says why); a gateway started with it grades the first one."""
    raw = _with_shadow(gateway_raw, requests_per_minute=1)
    with in_process(raw) as gw:
        request_id, _ = _ask(gw, "auto-economy", "Explain the proof of the prime number theorem.")
        rows = _wait_for_grade(gw)
    ledger = gw.ledger()
    try:
        (client,) = [r for r in ledger.recent_usage(limit=10) if r.endpoint != "shadow"]
    finally:
        ledger.close()
    assert (client.request_id, client.unfamiliar) == (request_id, False)  # a familiar prompt
    assert [(row.request_id, row.source) for row in rows] == [(request_id, "shadow")]


@pytest.mark.llama
def test_departments_and_routes_not_listed_are_not_graded(gateway_raw: dict[str, Any]) -> None:
    raw = _with_shadow(gateway_raw, departments=["research"], routes=["auto-quality"])
    with in_process(raw) as gw:
        _ask(gw, "auto-economy", "What is the capital of France?")  # route not listed
        _ask(gw, "auto-quality", "What is the capital of France?", dept="legal")  # dept not listed
        listed, model = _ask(gw, "auto-quality", "What is the capital of France?")
        assert _wait_for_grade(gw)
        time.sleep(0.5)  # any other grading, started before the listed one's, has ended too
        rows = _shadow_rows(gw)
    assert [r.request_id for r in rows] == [listed]
    # the router chose the best-rated model itself: graded 1 without calling anything
    assert model == "tiny-large" and rows[0].grades == {"tiny-large": 1.0}
    ledger = gw.ledger()
    try:
        assert {r.endpoint for r in ledger.recent_usage()} == {"chat"}
    finally:
        ledger.close()


ACCOUNT = "router-learning"


def _usage(gw: Gateway) -> list[UsageRecord]:
    ledger = gw.ledger()
    try:
        return ledger.recent_usage(limit=100)
    finally:
        ledger.close()


def _with_account(raw: dict[str, Any], budget: Decimal) -> dict[str, Any]:
    out = _with_shadow(raw, account=ACCOUNT)
    out["departments"] = [
        *raw["departments"],
        {"name": ACCOUNT, "limits": {"monthly_budget": str(budget)}},
    ]
    return out


@pytest.mark.llama
def test_shadow_grading_stops_when_its_accounts_budget_is_spent(
    gateway_raw: dict[str, Any], tmp_path: Path
) -> None:
    prompt = "Summarise the memo about the new parking rules in a line."
    # a budget with room: the request is graded, its calls charged to the account
    with in_process(_with_account(gateway_raw, Decimal(1))) as gw:
        graded, _ = _ask(gw, "auto-economy", prompt)
        assert [r.request_id for r in _wait_for_grade(gw)] == [graded]
    first = [r for r in _usage(gw) if r.endpoint == "shadow"]
    assert first and all(r.status == 200 and r.department == ACCOUNT for r in first)
    spent = sum((r.cost for r in first), Decimal(0))
    assert spent > 0

    # the same month, the budget set to what is spent: the next grading is refused before its
    # first call, the refusal recorded like any other, and no request is picked after it
    raw = _with_account(gateway_raw, spent)
    with in_process(raw) as gw:
        refused, _ = _ask(gw, "auto-economy", prompt)
        for _ in range(300):
            if any(r.status == 429 for r in _usage(gw) if r.endpoint == "shadow"):
                break
            time.sleep(0.2)
        later, _ = _ask(gw, "auto-economy", prompt)
        time.sleep(1.0)  # a grading of it, had one started, would have called by now
    calls = [r for r in _usage(gw) if r.endpoint == "shadow"]
    (refusal,) = [r for r in calls if r not in first]
    assert (refusal.status, refusal.error_kind, refusal.model) == (429, "budget_exceeded", None)
    assert (refusal.department, refusal.key_id, refusal.cost) == (ACCOUNT, "shadow", Decimal(0))
    assert [r.request_id for r in _shadow_rows(gw)] == [graded]
    client = {r.request_id: r.status for r in _usage(gw) if r.endpoint != "shadow"}
    assert client[refused] == client[later] == 200  # the clients never noticed

    # the report shows what grading cost, in the account's row
    config = tmp_path / "stellwerk.yaml"
    config.write_text(yaml.safe_dump(raw), encoding="utf-8")
    month = f"{refusal.time:%Y-%m}"
    result = CliRunner().invoke(
        build_app(), ["report", "usage", "-c", str(config), "--month", month, "--format", "json"]
    )
    assert result.exit_code == 0, result.stderr
    rows = {r["group"]: r for r in json.loads(result.stdout)["rows"]}
    assert rows[ACCOUNT]["requests"] == len(first) + 1
    assert Decimal(rows[ACCOUNT]["cost"]) == spent


def _decision(unfamiliar: bool) -> Decision:
    return Decision(
        model_id="m", ranking=("m",), scores=(), reason="", router="x", unfamiliar=unfamiliar
    )


def test_unfamiliar_prompts_are_graded_first_within_the_rate() -> None:
    now = [0.0]
    grader = ShadowGrader(
        ShadowConfig(share=1.0, account="legal", requests_per_minute=2), clock=lambda: now[0]
    )
    who = Principal("k", "research", "user", "internal", None)
    familiar, unfamiliar = _decision(False), _decision(True)
    assert grader.wants(who, "auto", familiar, {"chat"})
    # half the minute's rate is kept for unfamiliar prompts
    assert not grader.wants(who, "auto", familiar, {"chat"})
    assert grader.wants(who, "auto", unfamiliar, {"chat"})
    assert not grader.wants(who, "auto", unfamiliar, {"chat"})
    now[0] = 30.0  # one more grading's worth of rate
    assert grader.wants(who, "auto", unfamiliar, {"chat"})
    secret = Principal("k", "research", "user", "secret", None)
    now[0] = 300.0
    assert not grader.wants(secret, "auto", unfamiliar, {"chat"})  # not an allowed class
    assert not grader.wants(who, "auto", unfamiliar, {"chat", "tools"})  # tool calls: no
    off = ShadowGrader(ShadowConfig())
    assert not off.wants(who, "auto", unfamiliar, {"chat"})


def test_familiar_prompts_are_graded_at_a_rate_of_one() -> None:
    """left29: at ``requests_per_minute: 1`` a familiar prompt needs a grading and half a
    minute's reserve (1.5) of a bucket that held one minute's rate (1): none was ever graded,
    whatever ``share`` promised. The bucket now holds 1.5 there."""
    now = [0.0]
    grader = ShadowGrader(
        ShadowConfig(share=1.0, account="legal", requests_per_minute=1), clock=lambda: now[0]
    )
    who = Principal("k", "research", "user", "internal", None)
    familiar, unfamiliar = _decision(False), _decision(True)
    picked = []
    for second in range(0, 600, 10):  # ten minutes of familiar traffic, one every 10 s
        now[0] = float(second)
        if grader.wants(who, "auto", familiar, {"chat"}):
            picked.append(second)
    # the whole rate, about one a minute, and never more
    assert picked[:1] == [0] and len(picked) >= 9
    assert all(later - earlier >= 60 for earlier, later in pairwise(picked))
    # the half minute's reserve is kept for unfamiliar prompts: one is taken 30 s after
    now[0] = 700.0
    assert grader.wants(who, "auto", familiar, {"chat"})
    now[0] = 720.0
    assert not grader.wants(who, "auto", unfamiliar, {"chat"})
    now[0] = 731.0
    assert grader.wants(who, "auto", unfamiliar, {"chat"})
    # unfamiliar prompts coming every half minute take the whole rate, first
    taken = []
    for second in range(741, 1341, 10):
        now[0] = float(second)
        kind = unfamiliar if second % 30 == 21 else familiar
        if grader.wants(who, "auto", kind, {"chat"}):
            taken.append(kind.unfamiliar)
    assert len(taken) >= 9 and all(taken)


@pytest.mark.parametrize(
    ("shadow", "message"),
    [
        ({"share": 0.1}, "router.shadow.account"),
        ({"share": 0.1, "account": "nobody"}, "'nobody' is not a configured department"),
        ({"account": "legal", "departments": ["x"]}, "router.shadow.departments"),
        ({"account": "legal", "routes": ["nowhere"]}, "router.shadow.routes"),
        ({"account": "legal", "classifications": ["open"]}, "classifications"),
    ],
)
def test_bad_shadow_config_is_refused(shadow: dict[str, Any], message: str) -> None:
    raw = {**raw_config("http://127.0.0.1:9/v1", "sqlite://"), "router": {"shadow": shadow}}
    with pytest.raises(ConfigError, match=message):
        parse_config(raw)


@pytest.mark.llama
def test_shadow_grades_made_by_the_gateway_adapt_and_promote_a_version(
    gateway_raw: dict[str, Any], tmp_path: Path
) -> None:
    """The loop as it runs: shadow grades that the gateway made, of models the router was
    trained on, are records an adaptation judges a candidate's routing on (two grades of one
    prompt each, not one), and the candidate is promoted through the audit log."""
    raw = _with_shadow(gateway_raw)
    # two models the shipped router was trained on, served by the tiny test models
    cheap, best = "mistral-7b-instruct-v0.3", "llama-3.3-nemotron-super-49b-v1"
    raw["models"] = [
        _model(cheap, "tiny-small", 7, "small"),
        _model(best, "tiny-large", 49, "large"),
    ]
    raw["departments"] = [{**d, "allowed_models": None} for d in raw["departments"]]
    topics = ["parking rules", "travel costs", "the printer", "holidays", "the budget", "safety"]
    prompts = [
        f"Summarise the memo about {t} for team {i} in a line." for i in range(5) for t in topics
    ]
    with in_process(raw) as gw:
        asked: list[Any] = []
        rows: list[Any] = []
        for prompt in prompts:  # one at a time: at most 4 gradings run at once, and on a loaded
            asked.append(_ask(gw, "auto-economy", prompt))  # machine more would be skipped
            for _ in range(300):  # the grading runs in the background, after the answer
                rows = _shadow_rows(gw)
                if len(rows) == len(asked):
                    break
                time.sleep(0.2)
    assert {model for _, model in asked} == {cheap}  # auto-economy took the cheap one
    assert len(rows) == len(asked)
    assert all(set(r.grades) == {cheap, best} and r.grades[best] == 1.0 for r in rows)
    # the tiny judge grades the tiny cheap model's answers below its own: something to learn
    assert max(r.grades[cheap] for r in rows) < 1.0

    config = tmp_path / "stellwerk.yaml"
    config.write_text(yaml.safe_dump(raw), encoding="utf-8")
    result = CliRunner().invoke(build_app(), ["router", "adapt", "-c", str(config)], env=ENVIRON)
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    # every record is judged (its two grades tell which pick routes better), and the candidate
    # that sends more of these prompts to the reference routes better: promoted, audited
    assert out["records"] == out["comparison"]["records"] == len(rows)
    assert out["promoted"] and out["new_version"] == 1
    ledger = open_ledger(raw["server"]["database_url"])
    try:
        (entry,) = ledger.list_audit(action="router.adapt")
    finally:
        ledger.close()
    assert entry.details["promoted"] and entry.details["version"] == 1


@pytest.mark.llama
def test_a_spent_budget_is_refused_once_not_once_per_grading_in_flight(
    gateway_raw: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    """walk24 6: with the account's budget spent, the gradings already picked each had their
    first call refused (5 refusals within half a second, 5 "paused" lines); the first refusal now
    pauses the others before they ask, as docs/router.md says: one refusal a minute at most."""
    caplog.set_level(logging.INFO, logger="stellwerk.gateway.shadow")
    raw = _with_account(gateway_raw, Decimal("0.000001"))
    topics = ["parking rules", "travel costs", "the printer", "holidays"]
    with in_process(raw) as gw, ThreadPoolExecutor(len(topics)) as pool:
        asked = list(
            pool.map(lambda t: _ask(gw, "auto-economy", f"Summarise the memo on {t}."), topics)
        )
        for _ in range(300):  # each grading refused, or ended (or not picked) for the pause
            if len(_refusals(gw)) + _paused(gw) >= len(topics):
                break
            time.sleep(0.2)
        time.sleep(1.0)  # a refusal still to come would have come by now
        paused = _paused(gw)
    assert len(asked) == len(topics)
    (refusal,) = _refusals(gw)
    assert (refusal.status, refusal.error_kind) == (429, "budget_exceeded")
    assert caplog.text.count("shadow grading paused for 60 s") == 1
    assert paused == len(topics) - 1  # the others ended by the pause, or not picked


def _paused(gw: Gateway) -> int:
    found = re.search(
        r'^stellwerk_shadow_skipped_total\{reason="paused"\} (\S+)$', gw.get("/metrics").text, re.M
    )
    return int(float(found[1])) if found else 0


def _refusals(gw: Gateway) -> list[UsageRecord]:
    return [r for r in _usage(gw) if r.endpoint == "shadow" and r.status == 429]
