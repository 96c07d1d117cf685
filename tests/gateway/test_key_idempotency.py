"""``POST /admin/keys`` with an ``Idempotency-Key``: a retry makes no second key, on SQLite and
PostgreSQL alike (``stellwerk.governance.key_requests``)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.exc import OperationalError

from stellwerk.governance.key_store import KeyInfo, KeyStore
from stellwerk.ledger.governance_tables import gov_key_requests
from tests.fixtures.gateway import Gateway, bearer, in_process
from tests.fixtures.llama import LlamaBackend
from tests.gateway.test_governance import ADMIN, ENV, governed

pytestmark = pytest.mark.llama

BODY = {"department": "research", "reason": "new notebook service"}


def _research_keys(gw: Gateway) -> list[str]:
    keys = gw.get("/admin/keys", params={"department": "research"}, headers=ADMIN).json()["keys"]
    return [k["key_id"] for k in keys if k["source"] == "database"]


def _post(
    gw: Gateway, token: str, body: dict[str, Any] = BODY, admin: dict[str, str] = ADMIN
) -> httpx.Response:
    return gw.post("/admin/keys", json=body, headers={**admin, "Idempotency-Key": token})


def test_a_retry_after_a_503_at_the_commit_names_the_key_it_made(
    llama_server: LlamaBackend, tmp_path: Path, any_db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ledger failed as it committed: the key was made, the client got a 503. Its retry
    made a second key; now it makes none and is told which key was made, and what to do."""
    insert = KeyStore._insert
    failures = iter([True])

    def lost(self: KeyStore, info: KeyInfo, *args: Any) -> None:
        insert(self, info, *args)  # committed ...
        if next(failures, False):  # ... and then the connection broke, once
            raise OperationalError("COMMIT", None, Exception("server closed the connection"))

    monkeypatch.setattr(KeyStore, "_insert", lost)
    with in_process(governed(llama_server, tmp_path, any_db_url), ENV) as gw:
        before = _research_keys(gw)
        first = _post(gw, "8f0e-notebook")
        assert first.status_code == 503, first.text
        (made,) = set(_research_keys(gw)) - set(before)
        retry = _post(gw, "8f0e-notebook")
        assert retry.status_code == 409, retry.text
        error = retry.json()["error"]
        assert error["code"] == "key_already_made" and error["param"] == "Idempotency-Key"
        message = error["message"]
        assert f"key {made} was made by the request first sent with Idempotency-Key" in message
        assert f"revoke {made} (POST /admin/keys/{made}/revoke) and make a new key" in message
        assert "sk-stw" not in retry.text  # the secret is nowhere to be shown again
        assert _research_keys(gw) == [*before, made]
        # a new Idempotency-Key is a new key; no header, a new key each time (as before)
        assert _post(gw, "9a1c-notebook").status_code == 201
        plain = [gw.post("/admin/keys", json=BODY, headers=ADMIN) for _ in range(2)]
        assert [answer.status_code for answer in plain] == [201, 201]
        assert len(_research_keys(gw)) == len(before) + 4


def test_the_same_idempotency_key_with_another_request_is_refused(
    llama_server: LlamaBackend, tmp_path: Path, any_db_url: str
) -> None:
    with in_process(governed(llama_server, tmp_path, any_db_url), ENV) as gw:
        made = _post(gw, "b7d2", {"department": "research"})
        assert made.status_code == 201, made.text
        # the defaults filled in, it is the same request
        same = _post(gw, "b7d2", {"department": "research", "role": "user"})
        assert same.status_code == 409 and same.json()["error"]["code"] == "key_already_made"
        other = _post(gw, "b7d2", {"department": "research", "role": "admin"})
        assert other.status_code == 400, other.text
        error = other.json()["error"]
        assert error["code"] == "idempotency_key_reused" and error["param"] == "Idempotency-Key"
        made_id = made.json()["key_id"]
        assert f"which made key {made_id}; send a new Idempotency-Key" in error["message"]
        assert _research_keys(gw) == [made.json()["key_id"]]
        long = _post(gw, "x" * 256)
        assert long.status_code == 400 and "1 to 255 printable ASCII" in long.text


def test_idempotency_keys_are_each_admins_own_and_last_a_day(
    llama_server: LlamaBackend, tmp_path: Path, any_db_url: str
) -> None:
    with in_process(governed(llama_server, tmp_path, any_db_url), ENV) as gw:
        second_admin = gw.post(
            "/admin/keys", json={"department": "research", "role": "admin"}, headers=ADMIN
        ).json()
        first = _post(gw, "c3e4")
        theirs = _post(gw, "c3e4", admin=bearer(second_admin["key"]))
        assert (first.status_code, theirs.status_code) == (201, 201), theirs.text
        # a day later the same token is a new request
        ledger = gw.ledger()
        try:
            with ledger.begin() as connection:
                day_ago = datetime.now(UTC) - timedelta(hours=24, seconds=1)
                connection.execute(update(gov_key_requests).values(created_at=day_ago))
        finally:
            ledger.close()
        again = _post(gw, "c3e4")
        assert again.status_code == 201, again.text
        assert again.json()["key_id"] != first.json()["key_id"]


def test_two_requests_at_once_with_one_idempotency_key_make_one_key(
    llama_server: LlamaBackend, tmp_path: Path, any_db_url: str
) -> None:
    with in_process(governed(llama_server, tmp_path, any_db_url), ENV) as gw:
        with ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(lambda _: _post(gw, "d5f6"), range(4)))
        codes = sorted(answer.status_code for answer in answers)
        assert codes == [201, 409, 409, 409], [a.text for a in answers]
        (made,) = [a.json()["key_id"] for a in answers if a.status_code == 201]
        assert _research_keys(gw) == [made]


def test_blanks_around_an_idempotency_key_are_no_part_of_it_and_it_is_sent_once(
    llama_server: LlamaBackend, tmp_path: Path, any_db_url: str
) -> None:
    """walk16 W16-6: ``tok-1   `` was another token than ``tok-1`` (a second key made), and a
    second header was ignored (a retry with the other value made another key)."""
    with in_process(governed(llama_server, tmp_path, any_db_url), ENV) as gw:
        made = _post(gw, "tok-1")
        assert made.status_code == 201, made.text
        again = _post(gw, "tok-1   ")
        assert again.status_code == 409 and again.json()["error"]["code"] == "key_already_made"
        twice = gw.post(
            "/admin/keys",
            json=BODY,
            headers=[*ADMIN.items(), ("Idempotency-Key", "tok-2"), ("Idempotency-Key", "tok-3")],
        )
        assert twice.status_code == 400, twice.text
        error = twice.json()["error"]
        assert (error["code"], error["param"]) == ("duplicate_header", "idempotency-key")
        assert _research_keys(gw) == [made.json()["key_id"]]
