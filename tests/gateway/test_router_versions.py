"""The gateway routes with the newest promoted version of its router, and follows a rollback."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from stellwerk.routing.loader import load_learned
from tests.cli.test_router_learn_cmd import NEW_KIND, run, store_graded
from tests.fixtures.gateway import KEYS, Gateway, in_process

pytestmark = pytest.mark.llama


def _router_of_a_decision(gw: Gateway) -> str:
    answer = gw.post(
        "/v1/chat/completions",
        json={
            "model": "auto",
            "messages": [{"role": "user", "content": NEW_KIND[-1]}],
            "max_tokens": 2,
        },
        headers={"authorization": f"Bearer {KEYS['research']}"},
        timeout=60,
    )
    assert answer.status_code == 200, answer.text
    decision = answer.headers["x-stellwerk-decision"]
    return decision.split("router=", 1)[1].split(";", 1)[0]


def test_the_gateway_uses_the_promoted_version_and_follows_a_rollback(
    gateway_raw: dict[str, Any], tmp_path: Path
) -> None:
    raw = {k: v for k, v in gateway_raw.items() if k != "router"}
    config = tmp_path / "stellwerk.yaml"
    config.write_text(yaml.safe_dump(raw), encoding="utf-8")
    shipped = load_learned()
    store_graded(tmp_path, shipped, NEW_KIND[:120])
    code, out, err = run("router", "adapt", "-c", str(config))
    assert code == 0 and out is not None and out["new_version"] == 1, err
    with in_process(raw) as gw:
        assert _router_of_a_decision(gw) == f"learned:{shipped.version}+1"
        code, _, err = run("router", "rollback", "-c", str(config))
        assert code == 0, err
        seen = ""
        for _ in range(100):  # the gateway reloads at every governance refresh (1 s here)
            seen = _router_of_a_decision(gw)
            if seen == f"learned:{shipped.version}":
                break
            time.sleep(0.2)
        assert seen == f"learned:{shipped.version}"
    ledger = gw.ledger()
    try:
        routers = {r.router for r in ledger.recent_usage(limit=200)}
    finally:
        ledger.close()
    # the usage records name the version that decided
    assert {f"learned:{shipped.version}+1", f"learned:{shipped.version}"} <= routers
