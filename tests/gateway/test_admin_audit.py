"""``GET /admin/audit`` gives the whole log page by page and filters it as asked; a query
parameter no admin endpoint takes is refused, never ignored (an auditor would take the answer for
a filtered one)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.fixtures.gateway import Gateway, in_process, migrated_copy
from tests.fixtures.llama import LlamaBackend
from tests.gateway.test_admin_strict import refused
from tests.gateway.test_governance import ADMIN, ENV, governed, post

pytestmark = pytest.mark.llama


@pytest.fixture(autouse=True)
def _ledger(tmp_path: Path, ledger_template: Path) -> None:
    migrated_copy(ledger_template, tmp_path / "ledger.db")


def audit(gw: Gateway, query: str) -> dict[str, Any]:
    answer = gw.get(f"/admin/audit?{query}", headers=ADMIN)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def test_the_whole_log_page_by_page_and_filtered(
    llama_server: LlamaBackend, tmp_path: Path, any_db_url: str
) -> None:
    with in_process(governed(llama_server, tmp_path, any_db_url), ENV) as gw:
        for n in range(5):
            body = {"department": "research", "reason": f"key {n}"}
            assert post(gw, "/admin/keys", body, ADMIN).status_code == 201
        change = {"state": "in_review", "reason": "evaluated"}
        assert post(gw, "/admin/models/tiny-large/lifecycle", change, ADMIN).status_code == 200
        newest = audit(gw, "limit=10000")
        assert newest["next_after"] is None
        walked: list[dict[str, Any]] = []
        after: int | None = 0
        while after is not None:
            page = audit(gw, f"after={after}&limit=3")
            assert len(page["entries"]) <= 3
            walked += page["entries"]
            after = page["next_after"]
        assert walked == newest["entries"][::-1]  # every entry once, oldest first
        # the cursor of the last page is null even when the page is full
        assert audit(gw, f"after={walked[-4]['id']}&limit=3")["next_after"] is None
        mine = audit(gw, "actor=admin-1")["entries"]
        assert [e["action"] for e in mine] == ["model.lifecycle"] + ["key.create"] * 5
        for target in ("model:tiny-large", "tiny-large"):
            found = audit(gw, f"target={target}")["entries"]
            assert [e["action"] for e in found] == ["model.lifecycle", "model.seed"], target
        later = audit(gw, f"since={quote(walked[-1]['time'])}")["entries"]
        assert [e["action"] for e in later] == ["model.lifecycle"]
        earlier = audit(gw, f"until={quote(walked[-1]['time'])}&action=model.lifecycle")["entries"]
        assert earlier == []
        load = [e for e in walked if e["action"] == "config.load"]
        assert load and load[0]["config_hash"]
        # every change carries the hash of the config it was made under
        assert {e["config_hash"] for e in walked} == {load[0]["config_hash"]}


@pytest.mark.parametrize(
    ("url", "param", "message"),
    [
        ("/admin/audit?before=5", "before", "unknown query parameter 'before' for GET /admin/audit;"
         " it takes action, actor, after, limit, since, target, target_kind, until"),
        ("/admin/audit?actor=x&actr=y", "actr", "unknown query parameter 'actr'"),
        ("/admin/models?department=legal", "department",
         "unknown query parameter 'department' for GET /admin/models; it takes none"),
        ("/admin/keys?dept=legal", "dept", "it takes department"),
        ("/admin/usage?month=2026-12&department=legal", "department", "it takes by, format, month"),
        ("/admin/audit?since=yesterday", "since", "since 'yesterday' is not an ISO 8601"),
        ("/admin/audit?since=2026-12-02&until=2026-12-01", "until", "is before since"),
        ("/admin/audit?since=2026-12-01T09:30:00+01:00", "since",
         "'2026-12-01T09:30:00 01:00' is not an ISO 8601 date or time (e.g. 2026-12-01 or"
         " 2026-12-01T09:30:00Z); write a + in a URL as %2B"),
        ("/admin/audit?after=-1", "after", "after: -1 is less than 0, the least it may be"),
    ],
)  # fmt: skip
def test_a_parameter_no_endpoint_takes_is_refused_naming_it(
    llama_server: LlamaBackend, tmp_path: Path, url: str, param: str, message: str
) -> None:
    with in_process(governed(llama_server, tmp_path), ENV) as gw:
        assert message in refused(gw.get(url, headers=ADMIN), param)
        # a change is refused the same way, before anything is written
        before = gw.get("/admin/audit", headers=ADMIN).json()["entries"]
        change = {"state": "in_review", "reason": "x"}
        answer = post(gw, "/admin/models/tiny-large/lifecycle?dry_run=1", change, ADMIN)
        assert "unknown query parameter 'dry_run'" in refused(answer, "dry_run")
        assert gw.get("/admin/audit", headers=ADMIN).json()["entries"] == before


@pytest.mark.parametrize(
    ("query", "param", "message"),
    [
        ("after=2147483648", "after", "2147483648 is more than 2147483647, the most it may be"),
        (
            "after=9223372036854775808",
            "after",
            "9223372036854775808 is more than 2147483647, the most it may be",
        ),
        ("actor=", "actor", "actor is empty; leave it out to match every actor"),
        ("actor=&target=", "actor", "actor is empty"),
        ("target=", "target", "target is empty"),
        ("actor=%20", "actor", "actor is empty"),
        ("action=&limit=5", "action", "action is empty"),
        ("target_kind=", "target_kind", "target_kind is empty"),
        ("target_kind=Model%20X", "target_kind", "is not a kind of target"),
    ],
)
def test_a_filter_that_could_only_pass_for_an_empty_log_is_refused_on_every_ledger(
    llama_server: LlamaBackend,
    tmp_path: Path,
    any_db_url: str,
    query: str,
    param: str,
    message: str,
) -> None:
    """An ``after`` past the id column's range broke in the database (PostgreSQL's 32-bit id,
    SQLite's 64-bit: a 500); an empty filter answered an empty log, which an auditor who filled
    in part of the documented template would take for a filtered answer."""
    with in_process(governed(llama_server, tmp_path, any_db_url), ENV) as gw:
        assert message in refused(gw.get(f"/admin/audit?{query}", headers=ADMIN), param)
        if query == "actor=":  # the keys' department filter likewise
            keys = refused(gw.get("/admin/keys?department=", headers=ADMIN), "department")
            assert "department is empty" in keys
