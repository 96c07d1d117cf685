"""Feedback where several gateways, several departments or a stream's end are involved: with a
shared Redis any replica takes feedback for any replica's request, once; without it the 404 says
why; one department's traffic does not push out another's entries; feedback sent as soon as a
stream's ``data: [DONE]`` arrived is taken."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from typing import Any, cast

import httpx
import pytest
from sqlalchemy import select

from stellwerk.ledger.graded_tables import graded_records
from tests.fixtures.gateway import KEYS, Gateway, in_process, running_gateway
from tests.gateway.test_feedback import _ask, _feedback, _shipped

pytestmark = pytest.mark.llama


@contextmanager
def _replicas(raw: dict[str, Any], count: int = 2, served: bool = False) -> Iterator[list[Gateway]]:
    """``count`` gateways on one config (one ledger, one Redis if it names one), started one
    after the other as a rolling start would."""
    start = running_gateway if served else in_process
    with ExitStack() as stack:
        yield [stack.enter_context(start(raw)) for _ in range(count)]


def _with_redis(raw: dict[str, Any], url: str, prefix: str, **router: Any) -> dict[str, Any]:
    return {
        **raw,
        "server": {**raw["server"], "redis_url": url, "redis_prefix": prefix},
        "router": {**raw.get("router", {}), **router},
    }


@pytest.mark.redis
@pytest.mark.postgres
def test_with_redis_any_replica_takes_feedback_once(
    gateway_raw: dict[str, Any], pg_schema_url: str, redis_url: str, redis_prefix: str
) -> None:
    """The shipped deployment's shape (PostgreSQL, Redis, two replicas, no stickiness): feedback
    for a request one replica answered is taken by the other; a request is graded once, also
    when two feedbacks reach the two replicas at the same moment."""
    raw = _with_redis(_shipped(gateway_raw), redis_url, redis_prefix)
    raw["server"]["database_url"] = pg_schema_url
    with _replicas(raw) as (one, two):
        request_id, model = _ask(one, "auto", "Explain the proof of the prime number theorem.")
        answer = _feedback(two, {"request_id": request_id, "score": 0.75})
        assert answer.status_code == 200, answer.text
        assert answer.json()["model"] == model
        again = _feedback(one, {"request_id": request_id, "score": 0.1})
        assert again.status_code == 409, again.text
        assert again.json()["error"]["code"] == "already_graded"

        for n in range(3):
            request_id, _ = _ask(two, "auto", f"Name {n + 3} prime numbers.")
            body = {"request_id": request_id, "score": 0.5}
            with ThreadPoolExecutor(2) as pool:
                both = list(pool.map(_feedback, (one, two), (body, body)))
            assert sorted(a.status_code for a in both) == [200, 409], [a.text for a in both]
            # another key still cannot tell another replica's request from an unknown one
            assert _feedback(one, body, dept="legal").status_code == 404
    ledger = one.ledger()
    try:
        assert ledger.count_usage() == 4  # the chats only: feedback is not billed
    finally:
        ledger.close()


def test_without_redis_the_404_says_another_replica_cannot_take_it(
    gateway_raw: dict[str, Any],
) -> None:
    with _replicas(_shipped(gateway_raw)) as (one, two):
        request_id, _ = _ask(one, "auto", "Explain the proof of the prime number theorem.")
        answer = _feedback(two, {"request_id": request_id, "score": 0.75})
        assert answer.status_code == 404, answer.text
        error = answer.json()["error"]
        assert error["code"] == "request_not_found"
        assert (
            "answered by another gateway replica, or before this gateway restarted: without a"
            " shared Redis (server.redis_url) each gateway process keeps its own"
        ) in error["message"]
        assert _feedback(one, {"request_id": request_id, "score": 0.75}).status_code == 200


@pytest.mark.parametrize("store", ["memory", pytest.param("redis", marks=pytest.mark.redis)])
def test_one_departments_traffic_does_not_push_out_anothers_feedback(
    gateway_raw: dict[str, Any], request: pytest.FixtureRequest, store: str
) -> None:
    """The walk-through's case: ``legal`` asks once, then ``research`` more routed requests than
    ``router.feedback_max_pending`` (4 here): legal's feedback is still taken; research's oldest
    request was pushed out for room, and its 404 says so (not "older than 3600 s")."""
    raw = {**_shipped(gateway_raw), "router": {"feedback_max_pending": 4}}
    if store == "redis":
        url, prefix = request.getfixturevalue("redis_url"), request.getfixturevalue("redis_prefix")
        raw = _with_redis(raw, url, prefix)
    with in_process(raw) as gw:
        legal, _ = _ask(gw, "auto", "What is the capital of France?", dept="legal")
        research = [_ask(gw, "auto", f"Name {n + 2} prime numbers.")[0] for n in range(6)]
        answer = _feedback(gw, {"request_id": legal, "score": 1.0}, dept="legal")
        assert answer.status_code == 200, answer.text
        pushed = _feedback(gw, {"request_id": research[0], "score": 1.0})
        assert pushed.status_code == 404, pushed.text
        assert pushed.json()["error"]["message"] == (
            f"routed request {research[0]!r} of this key can no longer get feedback: it was"
            " pushed out to make room (more than 4 routed requests waited for feedback, and this"
            " key had the most of them: router.feedback_max_pending)"
        )
        assert _feedback(gw, {"request_id": research[-1], "score": 1.0}).status_code == 200
        # to another key, a pushed-out request is as unknown as any other
        other = _feedback(gw, {"request_id": research[0], "score": 1.0}, dept="legal")
        assert "pushed out" not in other.json()["error"]["message"]


def _graded_on_done(client: httpx.Client, to: Gateway, text: str) -> httpx.Response:
    """A routed stream read until ``data: [DONE]``, then at once its feedback, on the same
    client (its pooled connection, as an application's one client would), sent to ``to``."""
    body = {"model": "auto", "messages": [{"role": "user", "content": text}], "max_tokens": 8}
    with client.stream("POST", "/v1/chat/completions", json={**body, "stream": True}) as answer:
        assert answer.status_code == 200
        for line in answer.iter_lines():
            if line == "data: [DONE]":
                break
        request_id = answer.headers["x-stellwerk-request-id"]
    return client.post(to.url + "/v1/feedback", json={"request_id": request_id, "score": 0.5})


@pytest.mark.parametrize(
    ("store", "count"),
    [
        ("memory", 1),
        pytest.param("redis", 1, marks=pytest.mark.redis),  # the walk-through's setup
        pytest.param("redis", 2, marks=pytest.mark.redis),
    ],
)
def test_feedback_sent_as_soon_as_the_stream_ended_is_taken(
    gateway_raw: dict[str, Any], request: pytest.FixtureRequest, store: str, count: int
) -> None:
    """An application that grades on ``data: [DONE]`` sends its feedback at once: it is taken
    (it was a 409 ``not_finished`` for a moment after the stream ended, while the gateway
    settled the request's budget in Redis). With two replicas, every other feedback goes to
    the replica that did not stream."""
    raw = _shipped(gateway_raw)
    if store == "redis":
        url, prefix = request.getfixturevalue("redis_url"), request.getfixturevalue("redis_prefix")
        raw = _with_redis(raw, url, prefix)
    key = {"authorization": f"Bearer {KEYS['research']}"}
    with (
        _replicas(raw, count, served=True) as gateways,
        httpx.Client(base_url=gateways[0].url, headers=key, timeout=60) as client,
    ):
        for n in range(10):
            to = gateways[n % count]
            answer = _graded_on_done(client, to, f"Name {n + 2} prime numbers.")
            assert answer.status_code == 200, answer.text


@pytest.mark.redis
def test_no_prompt_text_is_kept_in_redis(
    gateway_raw: dict[str, Any], redis_url: str, redis_prefix: str
) -> None:
    """What a pending entry holds in Redis: the request's ids and its text-free reading, never
    the prompt (the same canary as ``test_no_prompt_text_is_kept_anywhere``)."""
    import redis

    canary = f"zebracanary{secrets.token_hex(8)}"
    raw = _with_redis(_shipped(gateway_raw), redis_url, redis_prefix)
    with in_process(raw) as gw:
        request_id, _ = _ask(gw, "auto", f"Please summarise the memo {canary} for the board.")
        client = redis.Redis.from_url(redis_url)
        try:
            held = b""
            for key in client.scan_iter(match=redis_prefix + "*"):
                kind = client.type(key)
                if kind == b"string":
                    held += key + client.get(key)
                elif kind == b"zset":  # the client decodes nothing: its members are bytes
                    held += key + b"".join(cast(list[bytes], client.zrange(key, 0, -1)))
                elif kind == b"set":
                    held += key + b"".join(cast(set[bytes], client.smembers(key)))
        finally:
            client.close()
        assert request_id.encode() in held  # the search finds what is there
        assert canary.encode() not in held
        assert _feedback(gw, {"request_id": request_id, "score": 0.5}).status_code == 200


def test_with_feedback_off_the_404_says_so(gateway_raw: dict[str, Any]) -> None:
    raw = {**_shipped(gateway_raw), "router": {"feedback_window_s": 0}}
    with in_process(raw) as gw:
        request_id, _ = _ask(gw, "auto", "Explain the proof of the prime number theorem.")
        answer = _feedback(gw, {"request_id": request_id, "score": 0.5})
    assert answer.status_code == 404, answer.text
    assert answer.json()["error"]["message"] == (
        f"no routed request {request_id!r} can get feedback: this gateway keeps none"
        " (router.feedback_window_s or router.feedback_max_pending is 0)"
    )


def _ask_as(gw: Gateway, classification: str, text: str) -> str:
    """A routed chat request of the research key under ``classification`` (the header raises
    the key's class), through the openai client: its request id."""
    with gw.openai(KEYS["research"], max_retries=0) as client:
        raw = client.chat.completions.with_raw_response.create(
            model="auto",
            messages=[{"role": "user", "content": text}],
            max_tokens=3,
            extra_headers={"x-stellwerk-classification": classification},
        )
        raw.parse()
    return raw.headers["x-stellwerk-request-id"]


@pytest.mark.parametrize(
    "shared", [False, pytest.param(True, marks=[pytest.mark.redis, pytest.mark.postgres])]
)
def test_a_class_not_allowed_gets_no_feedback_and_leaves_no_reading(
    gateway_raw: dict[str, Any], request: pytest.FixtureRequest, shared: bool
) -> None:
    """walk24: the docs said confidential and secret requests are never graded, but a feedback
    on one was stored with its prompt's reading. Feedback now takes the classes of
    ``router.feedback_classifications`` (public and internal by default) and says why not."""
    raw = _shipped(gateway_raw)
    if shared:
        url, prefix = request.getfixturevalue("redis_url"), request.getfixturevalue("redis_prefix")
        raw = _with_redis(raw, url, prefix)
        raw["server"]["database_url"] = request.getfixturevalue("pg_schema_url")
    text = "Explain the proof of the prime number theorem."
    with in_process(raw) as gw:
        confidential = _ask_as(gw, "confidential", text)
        internal = _ask_as(gw, "internal", text)
        if shared:  # what Redis holds of the confidential request: not its reading
            import redis

            client = redis.Redis.from_url(url)
            try:
                held = json.loads(client.get(f"{prefix}pending:e:{confidential}") or b"{}")
            finally:
                client.close()
            assert (held["classification"], held["latent"], held["base"]) == (
                "confidential",
                [],
                {},
            )
        refused = _feedback(gw, {"request_id": confidential, "score": 0.5})
        assert refused.status_code == 403, refused.text
        error = refused.json()["error"]
        assert (error["type"], error["code"], error["param"]) == (
            "permission_error",
            "classification_not_graded",
            "request_id",
        )
        assert "'confidential'" in error["message"]
        assert "router.feedback_classifications" in error["message"]
        assert _feedback(gw, {"request_id": internal, "score": 0.5}).status_code == 200
    ledger = gw.ledger()
    try:
        with ledger.connect() as connection:
            graded = [row.request_id for row in connection.execute(select(graded_records))]
    finally:
        ledger.close()
    assert graded == [internal]


def test_a_class_the_config_lists_gets_feedback(gateway_raw: dict[str, Any]) -> None:
    raw = {**_shipped(gateway_raw), "router": {"feedback_classifications": ["confidential"]}}
    with in_process(raw) as gw:
        confidential = _ask_as(gw, "confidential", "Name five prime numbers.")
        assert _feedback(gw, {"request_id": confidential, "score": 0.5}).status_code == 200
        internal = _ask_as(gw, "internal", "Name five prime numbers.")
        refused = _feedback(gw, {"request_id": internal, "score": 0.5})
        assert refused.status_code == 403, refused.text
        assert "(confidential)" in refused.json()["error"]["message"]
