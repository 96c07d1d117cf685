"""A change made with the CLI that a running replica did not acknowledge in time is said once on
stderr, as the CLI's ``warning:`` line: the log line the same words went to as well (Python's
last-resort handler: the CLI sets up no logging) said it twice."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.governance.factories import model

pytestmark = pytest.mark.redis

SAID = "1 of 1 replicas did not acknowledge a governance change within 2.0s"


def test_limits_set_says_once_that_a_replica_did_not_acknowledge(
    tmp_path: Path, redis_url: str, redis_prefix: str
) -> None:
    import redis

    raw = {
        "server": {
            "database_url": f"sqlite:///{tmp_path / 'ledger.db'}",
            "redis_url": redis_url,
            "redis_prefix": redis_prefix,
        },
        "backends": [{"name": "local", "kind": "openai", "base_url": "http://127.0.0.1:9"}],
        "models": [model("mistral-3b")],
        "departments": [{"name": "legal"}],
    }
    config = tmp_path / "stellwerk.yaml"
    config.write_text(yaml.safe_dump(raw), encoding="utf-8")
    direct = redis.Redis.from_url(redis_url)
    try:
        direct.set(f"{redis_prefix}live:stalled", 1, ex=120)  # alive, never acknowledges
        done = subprocess.run(
            [sys.executable, "-m", "stellwerk", "limits", "set", "-c", str(config),
             "--department", "legal", "--requests-per-minute", "60", "--reason", "pilot"],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
            timeout=120,
            check=False,
        )  # fmt: skip
    finally:
        direct.close()
    assert done.returncode == 0, done.stderr
    assert "60" in done.stdout
    assert done.stderr.count("did not acknowledge") == 1, done.stderr
    assert f"warning: {SAID}" in done.stderr
