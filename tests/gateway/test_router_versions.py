"""The gateway routes with the newest promoted version of its router, follows a rollback and names
the promotion whose correction it routes with; ``stellwerk route`` decides as it does."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from stellwerk.cli.main import build_app
from stellwerk.routing.loader import load_learned
from tests.cli.test_router_learn_cmd import NEW_KIND, run, store_graded
from tests.fixtures.gateway import KEYS, Gateway, in_process

pytestmark = pytest.mark.llama

MAX_TOKENS = ("--max-tokens", "2", "--json")
"""As ``_decision`` asks: the cap on the answer sets the expected cost the decision weighs."""


def _router_of_a_decision(gw: Gateway) -> str:
    return _decision(gw)[0]


def _decision(gw: Gateway) -> tuple[str, str]:
    """The router a decision names, and the model it chose."""
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
    return decision.split("router=", 1)[1].split(";", 1)[0], answer.json()["model"]


def _routed(config: Path) -> tuple[str, str]:
    """``stellwerk route``'s router and model for the prompt ``_decision`` sends."""
    result = CliRunner().invoke(
        build_app(),
        ["route", NEW_KIND[-1], "-c", str(config), "--department", "research", *MAX_TOKENS],
    )
    assert result.exit_code == 0, result.output
    decision = json.loads(result.stdout)
    return decision["router"], decision["model"]


def _follow(gw: Gateway, router: str) -> str:
    seen = ""
    for _ in range(100):  # the gateway reloads at every governance refresh (1 s here)
        seen = _router_of_a_decision(gw)
        if seen == router:
            break
        time.sleep(0.2)
    return seen


def test_the_gateway_uses_the_promoted_version_and_follows_a_rollback(
    gateway_raw: dict[str, Any], tmp_path: Path
) -> None:
    shipped = load_learned()
    best = store_graded(tmp_path, shipped, NEW_KIND[:120])
    raw = {k: v for k, v in gateway_raw.items() if k != "router"}
    # a model the router was trained on: the correction moves its predicted quality
    raw["models"] = [*raw["models"], {**raw["models"][1], "id": best}]
    config = tmp_path / "stellwerk.yaml"
    config.write_text(yaml.safe_dump(raw), encoding="utf-8")
    code, out, err = run("router", "adapt", "-c", str(config))
    assert code == 0 and out is not None and out["new_version"] == 1, err
    with in_process(raw) as gw:
        decided = _decision(gw)
        assert decided[0] == f"learned:{shipped.version}+1"
        assert _routed(config) == decided
        code, _, err = run("router", "rollback", "-c", str(config), "--reason", "test")
        assert code == 0, err
        assert _follow(gw, f"learned:{shipped.version}") == f"learned:{shipped.version}"
        assert _routed(config) == _decision(gw)
        # version 3 restores version 1's correction: its decisions name version 1, as route's
        code, out, err = run(
            "router", "rollback", "-c", str(config), "--reason", "test", "--to", "1"
        )
        assert code == 0 and out is not None and out["new_version"] == 3, err
        assert _follow(gw, f"learned:{shipped.version}+1") == f"learned:{shipped.version}+1"
        assert _routed(config) == _decision(gw)
    ledger = gw.ledger()
    try:
        routers = {r.router for r in ledger.recent_usage(limit=200)}
    finally:
        ledger.close()
    # the usage records name the version that decided
    assert {f"learned:{shipped.version}+1", f"learned:{shipped.version}"} <= routers
