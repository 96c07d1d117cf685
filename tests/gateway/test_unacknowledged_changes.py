"""A governance change that a running replica did not acknowledge in time (walk22 F7: a replica
stalled by ``kill -STOP``; F2: one whose listener went deaf) is told to whoever made it: the
admin API's answer (``not_acknowledged``), the CLI (a warning line on stderr) and the dashboard
(a line under "Done"); the replica's own listener shows in ``/readyz`` and ``/metrics``."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from stellwerk.cli.main import build_app
from tests.dashboard.client import login, post_form
from tests.dashboard.conftest import ADMIN_KEY, DASHBOARD_ENV, dashboard_raw
from tests.fixtures.gateway import Gateway, in_process, migrated_copy
from tests.fixtures.llama import LlamaBackend
from tests.fixtures.metrics import metric
from tests.fixtures.waiting import until

pytestmark = [pytest.mark.llama, pytest.mark.redis]

ADMIN = {"authorization": f"Bearer {ADMIN_KEY}"}
SAID = "1 of 2 replicas did not acknowledge a governance change within 2.0s"


def _new_key(gw: Gateway) -> dict[str, Any]:
    made = gw.post("/admin/keys", json={"department": "research", "reason": "x"}, headers=ADMIN)
    assert made.status_code == 201, made.text
    return dict(made.json())


def test_a_change_a_running_replica_did_not_acknowledge_is_told_where_it_was_made(
    llama_server: LlamaBackend,
    tmp_path: Path,
    ledger_template: Path,
    redis_url: str,
    redis_prefix: str,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A second replica runs (its liveness key, which its limit counters renew) but does not
    acknowledge (stalled): every change waits for it, is logged, and says 1 replica did not
    acknowledge: the admin API's answer, the CLI's stderr, the dashboard's page after the
    confirmation. Before, the answer was the same as a fully acknowledged one. Once that replica
    is gone (its key expired), ``not_acknowledged`` is 0."""
    import redis

    caplog.set_level(logging.INFO)
    raw = dashboard_raw(llama_server.base_url, migrated_copy(ledger_template, tmp_path / "l.db"))
    raw["server"]["redis_url"] = redis_url
    raw["server"]["redis_prefix"] = redis_prefix
    path = tmp_path / "stellwerk.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    direct = redis.Redis.from_url(redis_url)
    stalled = f"{redis_prefix}live:stalled"
    with in_process(raw, DASHBOARD_ENV) as gw:
        until(
            "it listens",
            lambda: gw.get("/readyz", headers=ADMIN).json()["governance_notices"]["listening"],
        )
        ready = gw.get("/readyz", headers=ADMIN).json()
        assert ready["governance_notices"] == {"listening": True, "error": None}, ready
        assert metric(gw, "stellwerk_governance_notices_up", ADMIN) == 1

        direct.set(stalled, 1, ex=300)
        made = _new_key(gw)
        assert made["not_acknowledged"] == 1
        revoked = gw.post(
            f"/admin/keys/{made['key_id']}/revoke", json={"reason": "stolen"}, headers=ADMIN
        )
        assert revoked.status_code == 200, revoked.text
        assert revoked.json()["not_acknowledged"] == 1
        limits = gw.client().put(
            "/admin/limits/department/research",
            json={"monthly_budget": "100", "reason": "x"},
            headers=ADMIN,
        )
        assert limits.json()["not_acknowledged"] == 1, limits.text
        assert sum(SAID in r.getMessage() for r in caplog.records) == 3

        other = _new_key(gw)
        for name, value in DASHBOARD_ENV.items():
            monkeypatch.setenv(name, value)
        cli = CliRunner().invoke(
            build_app(), ["keys", "revoke", "-c", str(path), other["key_id"], "--reason", "x"]
        )
        assert cli.exit_code == 0, cli.stderr
        assert f"warning: {SAID}" in cli.stderr, cli.stderr

        third = _new_key(gw)
        with login(gw, ADMIN_KEY) as (admin, _):
            page = "/dashboard/departments/research"
            done = post_form(
                admin, page, f"/dashboard/keys/{third['key_id']}/revoke", {"reason": "x"}
            )
            shown = admin.get(done.headers["location"]) if done.is_redirect else done
        assert shown.status_code == 200, shown.text
        assert "1 replica did not confirm the change within 2 s" in shown.text, shown.text

        direct.delete(stalled)  # that replica stopped
        assert _new_key(gw)["not_acknowledged"] == 0
    direct.close()
