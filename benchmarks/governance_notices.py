"""How long a governance change takes to hold on another replica with Redis change notices
(``stellwerk.governance.notices``): two ``Governance`` objects on one PostgreSQL schema and one
Redis, as two replicas hold them; the second follows the notices on its own event loop. The
first withdraws and re-grants a model's consent ``--changes`` times; each time the figure is the
duration of ``Governance.changed`` (its reload, the notice, the wait for the other's
acknowledgement), after which the other replica's snapshot must hold the change.

    STELLWERK_TEST_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test \\
    STELLWERK_TEST_REDIS_URL=redis://127.0.0.1:6379/0 \\
    PYTHONPATH=src python -m benchmarks.governance_notices
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from stellwerk.config import parse_config
from stellwerk.governance.notices import RedisNotices
from stellwerk.governance.service import Governance
from stellwerk.ledger.ledger import open_ledger
from stellwerk.ledger.scratch import scratch_schema

POSTGRES = os.environ.get("STELLWERK_TEST_POSTGRES_URL", "")
REDIS = os.environ.get("STELLWERK_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")

RAW = {
    "backends": [{"name": "b", "kind": "openai", "base_url": "http://127.0.0.1:9"}],
    "models": [
        {
            "id": "expert",
            "backend": "b",
            "upstream": "expert",
            "params_b": 1,
            "size_class": "small",
            "hosting": "on_prem",
            "data_owner": "legal",
        }
    ],
    "departments": [{"name": "legal"}],
}


@contextmanager
def replica(database: str, prefix: str, follow: bool) -> Iterator[Governance]:
    """One replica's governance; following the notices on a loop of its own if ``follow``."""
    config = parse_config({**RAW, "server": {"database_url": database}})
    ledger = open_ledger(database)
    notices = RedisNotices(REDIS, prefix=prefix)
    governance = Governance(ledger, config, evaluated=frozenset, notices=notices)
    governance.start()
    loop = asyncio.new_event_loop()
    following = loop.create_task(governance.follow())

    def run() -> None:
        asyncio.set_event_loop(loop)
        with contextlib.suppress(asyncio.CancelledError):
            loop.run_until_complete(following)
        loop.close()

    thread = threading.Thread(target=run, daemon=True)
    if follow:
        thread.start()
        time.sleep(0.5)  # subscribed
    try:
        yield governance
    finally:
        if follow:
            loop.call_soon_threadsafe(following.cancel)
            thread.join(5)
        else:
            following.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                loop.run_until_complete(following)
            loop.close()
        notices.close()
        ledger.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--changes", type=int, default=100)
    args = parser.parse_args()
    if not POSTGRES:
        raise SystemExit("set STELLWERK_TEST_POSTGRES_URL")
    prefix = f"stellwerk-bench:{uuid.uuid4().hex}:"
    with scratch_schema(POSTGRES, prefix="stellwerk_b") as database:
        open_ledger(database).close()
        with replica(database, prefix, False) as first, replica(database, prefix, True) as second:
            durations, reloads, held = [], [], 0
            for n in range(args.changes):
                consent = n % 2 == 1
                first.admin.catalog.set_consent("expert", consent, actor="bench", reason="b")
                start = time.perf_counter()
                first.changed()
                durations.append((time.perf_counter() - start) * 1000)
                held += ("expert" in second.snapshot.withdrawn) != consent
                start = time.perf_counter()
                first.reload()
                reloads.append((time.perf_counter() - start) * 1000)
    durations.sort()
    p99 = durations[max(0, int(len(durations) * 0.99) - 1)]
    print(
        "| changes | admin call (reload + notice + acknowledgement), p50 | p99 | max |"
        " a reload alone, p50 | the other replica held the change when it returned |"
    )
    print("|---|---|---|---|---|---|")
    print(
        f"| {args.changes} | {statistics.median(durations):.1f} ms | {p99:.1f} ms |"
        f" {durations[-1]:.1f} ms | {statistics.median(reloads):.1f} ms |"
        f" {held} of {args.changes} |"
    )


if __name__ == "__main__":
    main()
