"""A gateway with Redis stops when asked right after its start (stop 33): the cancel of its
counters' liveness loop arrived while its first Redis call was in flight, redis-py took it in
(an error of its own, or no answer), the loop went on to its pause with the cancellation lost,
and the stop waited for it until the test fixture gave up (120 s), every time."""

from __future__ import annotations

from pathlib import Path

import pytest

from stellwerk.ledger.ledger import open_ledger
from tests.dashboard.conftest import DASHBOARD_ENV, dashboard_raw
from tests.fixtures.gateway import in_process

pytestmark = pytest.mark.redis


def test_a_gateway_with_redis_stops_right_after_its_start(
    tmp_path: Path, redis_url: str, redis_prefix: str
) -> None:
    ledger = f"sqlite:///{tmp_path / 'ledger.db'}"
    open_ledger(ledger).close()
    raw = dashboard_raw("http://127.0.0.1:9", ledger)  # no backend: none is asked
    raw["server"] |= {"redis_url": redis_url, "redis_prefix": redis_prefix}
    for _ in range(2):  # the fixture raises TimeoutError when the stop does not end
        with in_process(raw, DASHBOARD_ENV) as gateway:
            assert gateway.get("/healthz").status_code == 200
