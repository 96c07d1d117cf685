"""The durability guarantee of docs/ledger.md, checked with a real SIGKILL.

* Once ``flush()`` or ``submit(..., wait=True)`` returned, or the flush interval passed and the
  batch was committed, the records survive a SIGKILL.
* A SIGKILL loses exactly the records accepted but not yet committed, and nothing else: the
  database opens cleanly afterwards.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from sqlalchemy import text

from stellwerk.ledger.ledger import open_ledger
from tests.ledger.factory import make_records

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_S = 60


def run_until(url: str, scenario: str, last_line: str) -> list[str]:
    """Start the child, read its lines until ``last_line``, then SIGKILL it."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.ledger.durability_child", url, scenario],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    try:
        assert child.stdout is not None
        for line in child.stdout:
            lines.append(line.strip())
            if line.strip() == last_line:
                break
    finally:
        child.send_signal(signal.SIGKILL)
        _, errors = child.communicate(timeout=TIMEOUT_S)
    assert lines and lines[-1] == last_line, f"child said {lines}, stderr: {errors}"
    assert child.returncode == -signal.SIGKILL
    return lines


def stored_ids(url: str) -> list[str]:
    ledger = open_ledger(url)  # must open (and migrate) cleanly after the kill
    try:
        if ledger.dialect == "sqlite":
            with ledger.connect() as connection:
                assert connection.execute(text("PRAGMA integrity_check")).scalar() == "ok"
        return sorted(r.request_id for r in ledger.recent_usage(limit=1000))
    finally:
        ledger.close()


def test_flushed_records_survive_sigkill_unflushed_ones_are_the_cost(any_db_url: str) -> None:
    run_until(any_db_url, "flushed", "accepted 30 more")
    records = make_records(80)
    assert stored_ids(any_db_url) == [r.request_id for r in records[:50]]


def test_interval_and_waited_records_survive_sigkill(any_db_url: str) -> None:
    run_until(any_db_url, "interval", "waited for 1")
    assert stored_ids(any_db_url) == [r.request_id for r in make_records(41)]
