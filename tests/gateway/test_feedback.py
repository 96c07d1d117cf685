"""``POST /v1/feedback`` on a real gateway: the caller grades its own routed answers, once, and
nothing of the prompt is kept anywhere (canary)."""

from __future__ import annotations

import logging
import re
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from sqlalchemy import String, cast, column, inspect, select, table

from stellwerk.backends.tokens import prompt_text
from stellwerk.errors import ConfigError
from stellwerk.ledger.graded_tables import graded_records
from stellwerk.routing import record_noise
from stellwerk.routing.graded_record import GradedRecord
from stellwerk.routing.loader import load_learned
from tests.fixtures.gateway import (
    ENVIRON,
    KEYS,
    Gateway,
    in_process,
    running_gateway,
    running_lines,
)
from tests.fixtures.loopback import stalling_server

pytestmark = pytest.mark.llama


def _auth(dept: str) -> dict[str, str]:
    return {"authorization": f"Bearer {KEYS[dept]}"}


def _shipped(raw: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in raw.items() if k != "router"}  # the shipped learned router


@pytest.fixture
def learning_gateway(gateway_raw: dict[str, Any]) -> Iterator[Gateway]:
    with in_process(_shipped(gateway_raw)) as gw:
        yield gw


def _ask(gw: Gateway, model: str, text: str, dept: str = "research") -> tuple[str, str]:
    """A chat request through the real openai client: (request id, answering model)."""
    with gw.openai(KEYS[dept], max_retries=0) as client:
        raw = client.chat.completions.with_raw_response.create(
            model=model, messages=[{"role": "user", "content": text}], max_tokens=3
        )
        answer = raw.parse()
    return raw.headers["x-stellwerk-request-id"], answer.model


def _feedback(gw: Gateway, body: Any, dept: str = "research", **kw: Any) -> httpx.Response:
    return gw.post("/v1/feedback", json=body, headers=_auth(dept), timeout=30, **kw)


def test_feedback_grades_the_callers_routed_answer_once_and_is_not_billed(
    gateway_raw: dict[str, Any],
) -> None:
    with in_process(_shipped(gateway_raw)) as gw:
        request_id, model = _ask(gw, "auto", "Explain the proof of the prime number theorem.")
        answer = _feedback(gw, {"request_id": request_id, "score": 0.75, "task": "maths"})
        assert answer.status_code == 200, answer.text
        assert answer.json()["model"] == model
        again = _feedback(gw, {"request_id": request_id, "score": 0.1})
        assert again.status_code == 409
        error = again.json()["error"]
        assert (error["code"], error["param"]) == ("already_graded", "request_id")
        assert error["message"] == f"request {request_id!r} has already been graded (feedback)"
    ledger = gw.ledger()  # read once the gateway has stopped: its usage writer is drained
    try:
        with ledger.connect() as connection:
            rows = list(connection.execute(select(graded_records)))
        assert ledger.count_usage() == 1  # the chat request only: feedback is not billed
    finally:
        ledger.close()
    assert len(rows) == 1
    row = rows[0]
    assert (row.request_id, row.source, row.key_id, row.route) == (
        request_id,
        "feedback",
        "research-1",
        "auto",
    )
    assert row.grades == {model: 0.75} and row.task == "maths"
    assert len(row.latent) == 64 and row.base and len(row.stats) == 11
    assert row.base_version  # the artifact that read the prompt


@pytest.mark.parametrize("noise", [None, 0.0])
def test_a_graded_reading_is_kept_with_fresh_noise(
    gateway_raw: dict[str, Any], noise: float | None
) -> None:
    """By default (``router.record_noise``) the stored reading is the prompt's, moved by noise
    drawn afresh: the same prompt graded twice is stored twice differently, never exactly as the
    router reads it (which would confirm a guess of the prompt); 0 stores the exact reading."""
    raw = _shipped(gateway_raw)
    if noise is not None:
        raw["router"] = {"record_noise": noise}
    text = "Explain the proof of the prime number theorem."
    with in_process(raw) as gw:
        for _ in range(2):
            request_id, _ = _ask(gw, "auto", text)
            assert _feedback(gw, {"request_id": request_id, "score": 0.5}).status_code == 200
    ledger = gw.ledger()
    try:
        with ledger.connect() as connection:
            stored = [tuple(row.latent) for row in connection.execute(select(graded_records))]
    finally:
        ledger.close()
    model = load_learned().model
    exact = GradedRecord.of(model, text, {}).latent
    assert len(stored) == 2
    if noise == 0.0:
        assert stored == [pytest.approx(exact)] * 2
        return
    assert stored[0] != pytest.approx(stored[1])
    # the documented size: the default 0.5 of the prompt's sensitivity on each coordinate, so
    # the product with the exact unit vector is 1 plus a normal of that standard deviation
    sigma = 0.5 * record_noise.sensitivity(model, text)
    for latent in stored:
        assert latent != pytest.approx(exact, abs=1e-3)
        assert abs(float(np.dot(latent, exact)) - 1.0) < 5 * sigma  # 1 in 1.7 million apart


def test_the_record_key_of_the_config_fixes_half_of_a_records_noise(
    gateway_raw: dict[str, Any],
) -> None:
    """With ``router.record_noise_key_env`` the gateway draws half of a record's noise from that
    key and the prompt: the stored reading minus the exact one is explained by that key's fixed
    half (what is left is the fresh half, half the variance), and not by another key's."""
    raw = _shipped(gateway_raw)
    raw["router"] = {"record_noise_key_env": "STELLWERK_RECORD_KEY"}
    key = secrets.token_urlsafe(32)
    text = "Explain the proof of the prime number theorem."
    with in_process(raw, {**ENVIRON, "STELLWERK_RECORD_KEY": key}) as gw:
        request_id, _ = _ask(gw, "auto", text)
        assert _feedback(gw, {"request_id": request_id, "score": 0.5}).status_code == 200
    ledger = gw.ledger()
    try:
        with ledger.connect() as connection:
            (stored,) = [np.array(row.latent) for row in connection.execute(select(graded_records))]
    finally:
        ledger.close()
    model = load_learned().model
    moved = stored - np.array(GradedRecord.of(model, text, {}).latent)
    sigma = 0.5 * record_noise.sensitivity(model, text)

    def fixed_half(of: bytes) -> np.ndarray:
        draws = record_noise.keyed(of, prompt_text([{"role": "user", "content": text}]))
        return draws.fixed.normal(0.0, sigma * np.sqrt(record_noise.KEYED_SHARE), size=len(moved))

    left = float(np.sum((moved - fixed_half(key.encode())) ** 2))
    others = [float(np.sum((moved - fixed_half(f"key {n}".encode())) ** 2)) for n in range(3)]
    # sums of 64 squares: about 32 sigma^2 (the fresh half; over 60 in 1 of 35,000 runs) against
    # about 96 sigma^2 for another key's half (below the right key's in none of 400,000 draws)
    assert left < 60 * sigma**2 and left < min(others)


def test_a_record_key_too_short_stops_the_start(gateway_raw: dict[str, Any]) -> None:
    raw = _shipped(gateway_raw)
    raw["router"] = {"record_noise_key_env": "STELLWERK_RECORD_KEY"}
    said = "router.record_noise_key_env: the secret in STELLWERK_RECORD_KEY has 5 characters"
    with (
        pytest.raises(ConfigError, match=re.escape(said)),
        in_process(raw, {**ENVIRON, "STELLWERK_RECORD_KEY": "short"}),
    ):
        pass


def test_feedback_is_only_for_the_callers_own_routed_requests(learning_gateway: Gateway) -> None:
    gw = learning_gateway
    routed, _ = _ask(gw, "auto", "What is the capital of France?")
    named, _ = _ask(gw, "tiny-small", "What is the capital of France?")
    other = _feedback(gw, {"request_id": routed, "score": 1.0}, dept="legal")
    unknown = _feedback(gw, {"request_id": "0" * 24, "score": 1.0}, dept="legal")
    # another key's request looks exactly like an unknown one
    assert other.status_code == unknown.status_code == 404
    assert other.json()["error"]["message"].replace(routed, "x") == unknown.json()["error"][
        "message"
    ].replace("0" * 24, "x")
    assert _feedback(gw, {"request_id": named, "score": 1.0}).status_code == 404
    # the answer's own id works as the request id
    assert _feedback(gw, {"request_id": f"chatcmpl-{routed}", "score": 1.0}).status_code == 200


def test_feedback_answers_with_the_request_id_as_it_was_sent(learning_gateway: Gateway) -> None:
    """walk21 F7: sent as the answer's ``id`` (``chatcmpl-...``), the id came back without its
    prefix, and a second feedback's 409 named that bare id: a client matching the echo against
    what it sent saw another id. Sent as the openai library's ``post`` sends it (the guide)."""
    gw = learning_gateway
    routed, _ = _ask(gw, "auto", "What is the capital of France?")
    sent = f"chatcmpl-{routed}"
    with gw.openai(KEYS["research"], max_retries=0) as client:
        body = {"request_id": sent, "score": 0.7}
        grade: Any = client.post("/feedback", body=body, cast_to=object)
    assert grade["request_id"] == sent and grade["score"] == 0.7
    again = _feedback(gw, {"request_id": sent, "score": 0.1})
    assert again.status_code == 409
    said = again.json()["error"]["message"]
    assert said == f"request {sent!r} has already been graded (feedback)"


def test_a_404_names_the_request_id_whole_as_it_was_sent(learning_gateway: Gateway) -> None:
    """Cut at 32 characters (after its ``chatcmpl-`` was taken off) the id read like another."""
    sent = "chatcmpl-chatcmpl-" + "ab12" * 6
    answer = _feedback(learning_gateway, {"request_id": sent, "score": 1.0})
    assert answer.status_code == 404
    assert answer.json()["error"]["message"].startswith(f"no routed request {sent!r} of this key")


def test_feedback_on_a_prompt_the_router_cannot_read_says_so(learning_gateway: Gateway) -> None:
    """ "Hallo" has no word the shipped router knows: it is routed and answered, but a grade
    cannot teach the router anything, and the answer says that (not "unknown")."""
    gw = learning_gateway
    unreadable, _ = _ask(gw, "auto", "Hallo")
    answer = _feedback(gw, {"request_id": unreadable, "score": 1.0})
    assert answer.status_code == 409, answer.text
    error = answer.json()["error"]
    assert (error["code"], error["param"]) == ("not_gradable", "request_id")
    assert "the router could not read its prompt" in error["message"]
    # another key still cannot tell it from an unknown id
    other = _feedback(gw, {"request_id": unreadable, "score": 1.0}, dept="legal")
    assert other.status_code == 404


@pytest.mark.parametrize(
    ("body", "status", "param"),
    [
        ({"request_id": "abc", "score": 1.5}, 400, "score"),
        ({"request_id": "abc", "score": "high"}, 400, "score"),
        ({"request_id": "", "score": 0.5}, 400, "request_id"),
        ({"score": 0.5}, 400, "request_id"),
        ({"request_id": "abc", "score": 0.5, "prompt": "x"}, 400, "prompt"),
        ({"request_id": "abc", "score": 0.5, "task": "t" * 5000}, 413, None),
        ({"request_id": "abc", "score": 0.5, "task": " \u3000 "}, 400, "task"),  # blank
    ],
)
def test_bad_feedback_is_refused_in_the_openai_error_format(
    learning_gateway: Gateway, body: dict[str, Any], status: int, param: str | None
) -> None:
    answer = _feedback(learning_gateway, body)
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert error["message"]
    if param is not None:
        assert error["param"] == param


@pytest.mark.parametrize(
    ("task", "shown"),
    [
        ("a\u202eb<script>", "the control character U+202E (RIGHT-TO-LEFT OVERRIDE)"),
        ("\u2066maths", "the control character U+2066 (LEFT-TO-RIGHT ISOLATE)"),
        ("maths\ninvoices", "the control character U+000A"),
        ("ma\x07ths", "the control character U+0007"),
        ("maths\u2028invoices", "the separator U+2028 (LINE SEPARATOR)"),
        ("ma\u061cths", "the direction mark U+061C (ARABIC LETTER MARK)"),
        ("ma\u200bths", "the zero-width character U+200B (ZERO WIDTH SPACE)"),
        ("\ufeffmaths", "the zero-width character U+FEFF (ZERO WIDTH NO-BREAK SPACE)"),
        ("ma\u00adths", "the invisible character U+00AD (SOFT HYPHEN)"),
        ("ma\u034fths", "the invisible character U+034F (COMBINING GRAPHEME JOINER)"),
    ],
)
def test_a_task_with_control_or_direction_characters_is_refused(
    learning_gateway: Gateway, task: str, shown: str
) -> None:
    """A task is a label reports group by: like an audit reason, it may not hide, move or forge
    text with control characters or direction marks. The refusal keeps the request gradable."""
    gw = learning_gateway
    request_id, _ = _ask(gw, "auto", "Explain the proof of the prime number theorem.")
    answer = _feedback(gw, {"request_id": request_id, "score": 0.5, "task": task})
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert (error["type"], error["param"]) == ("invalid_request_error", "task")
    assert f"task contains {shown}" in error["message"]
    fine = _feedback(gw, {"request_id": request_id, "score": 0.5, "task": "maths"})
    assert fine.status_code == 200, fine.text


def test_feedback_needs_a_key(learning_gateway: Gateway) -> None:
    answer = learning_gateway.post("/v1/feedback", json={"request_id": "a", "score": 1}, timeout=30)
    assert answer.status_code == 401


def _found_in_tables(database_url: str, needle: str) -> list[str]:
    """Every table.column of the ledger holding ``needle`` anywhere in its text."""
    from stellwerk.ledger.ledger import open_ledger

    ledger = open_ledger(database_url)
    hits: list[str] = []
    try:
        with ledger.connect() as connection:
            names = inspect(connection).get_table_names()
            for name in names:
                columns = [c["name"] for c in inspect(connection).get_columns(name)]
                t = table(name, *(column(c) for c in columns))
                for c in columns:
                    statement = select(t.c[c]).where(cast(t.c[c], String).contains(needle))
                    if connection.execute(statement.limit(1)).first() is not None:
                        hits.append(f"{name}.{c}")
    finally:
        ledger.close()
    return hits


def _found_in_files(folder: Path, needle: str) -> list[str]:
    return [str(p) for p in folder.rglob("*") if p.is_file() and needle.encode() in p.read_bytes()]


@pytest.mark.parametrize("db", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_no_prompt_text_is_kept_anywhere(
    db: str,
    gateway_raw: dict[str, Any],
    tmp_path: Path,
    request: pytest.FixtureRequest,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    raw = _shipped(gateway_raw)
    if db == "postgres":
        raw["server"] = {**raw["server"], "database_url": request.getfixturevalue("pg_schema_url")}
    canary = f"zebracanary{secrets.token_hex(8)}"
    caplog.set_level(logging.DEBUG)
    with in_process(raw) as gw:
        request_id, _ = _ask(gw, "auto", f"Please summarise the memo {canary} for the board.")
        answer = _feedback(gw, {"request_id": request_id, "score": 0.5})
        assert answer.status_code == 200, answer.text
    url = raw["server"]["database_url"]
    # the search finds what is there: the request id is in the usage and graded tables
    assert {"usage.request_id", "graded_records.request_id"} <= set(
        _found_in_tables(url, request_id)
    )
    assert _found_in_tables(url, canary) == []
    assert _found_in_files(tmp_path, canary) == []
    out, err = capfd.readouterr()
    assert canary not in out + err + caplog.text


def test_a_streamed_routed_answer_can_get_feedback(learning_gateway: Gateway) -> None:
    gw = learning_gateway
    with gw.openai(KEYS["research"], max_retries=0) as client:
        raw = client.chat.completions.with_raw_response.create(
            model="auto",
            messages=[{"role": "user", "content": "Name three prime numbers."}],
            max_tokens=3,
            stream=True,
        )
        request_id = raw.headers["x-stellwerk-request-id"]
        assert [chunk.id for chunk in raw.parse()]  # read to the end: the record is written
    answer = _feedback(gw, {"request_id": request_id, "score": 0.0})
    assert answer.status_code == 200, answer.text
    assert answer.json()["model"] == raw.headers["x-stellwerk-model"]


def test_feedback_while_the_stream_runs_is_told_to_wait(gateway_raw: dict[str, Any]) -> None:
    """Feedback on a routed stream that is still running is a 409 saying so (it said the
    request was unknown, not routed, or too old); once the stream has ended (cut by its client
    here, so not gradable) it is the 404."""
    raw = _shipped(gateway_raw)
    with stalling_server() as slow:
        raw["backends"][0].update(base_url=slow.url, dialect="generic")
        with running_gateway(raw) as gw, httpx.Client(base_url=gw.url, timeout=30) as client:
            body = {
                "model": "auto",
                "messages": [{"role": "user", "content": "Name three prime numbers."}],
                "stream": True,
            }
            with client.stream(
                "POST", "/v1/chat/completions", json=body, headers=_auth("research")
            ) as answer:
                request_id = answer.headers["x-stellwerk-request-id"]
                first, _running = running_lines(answer)  # kept: the stream runs on
                assert first.startswith("data: ")
                early = _feedback(gw, {"request_id": request_id, "score": 1.0})
                other = _feedback(gw, {"request_id": request_id, "score": 1.0}, dept="legal")
            deadline = time.monotonic() + 30
            late = _feedback(gw, {"request_id": request_id, "score": 1.0})
            while late.status_code == 409 and time.monotonic() < deadline:
                time.sleep(0.05)  # the gateway notices the client is gone
                late = _feedback(gw, {"request_id": request_id, "score": 1.0})
    assert early.status_code == 409, early.text
    assert early.json()["error"] == {
        "message": f"request {request_id!r} has not finished yet; send feedback after its"
        " answer ends",
        "type": "conflict_error",
        "param": "request_id",
        "code": "not_finished",
    }
    assert other.status_code == 404  # another key's request: not told it exists
    assert late.status_code == 404, late.text
