"""Ledger: usage records per second through the batched ``LedgerWriter``, on SQLite and PostgreSQL.

When the ledger team's ``benchmarks/ledger.py`` is present it is the one that runs (writer
throughput, loop lag, dashboard query times at many rows) and its table is kept as it prints it;
otherwise this module measures the writer alone: ``clients`` concurrent submitters hand over
``count`` records, timed until the writer has committed the last one. PostgreSQL is measured in a
fresh schema that is dropped afterwards, when ``STELLWERK_TEST_POSTGRES_URL`` names a server.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.targets import ROOT

POSTGRES_ENV = "STELLWERK_TEST_POSTGRES_URL"


def _records(count: int, prefix: str) -> list[Any]:
    from stellwerk.ledger.record import UsageRecord

    start = datetime.now(UTC) - timedelta(hours=1)
    return [
        UsageRecord(
            request_id=f"{prefix}-{index:08d}",
            time=start + timedelta(milliseconds=index),
            department=f"dept-{index % 7}",
            key_id=f"key-{index % 13}",
            api="openai",
            endpoint="chat",
            requested_model="auto",
            model="bench-model",
            backend="bench",
            decision_reason="benchmark",
            router="first",
            classification="internal",
            stream=index % 2 == 0,
            prompt_tokens=100 + index % 50,
            completion_tokens=20 + index % 30,
            usage_source="backend",
            latency_ms=12.5,
            ttft_ms=None,
            status=200,
            error_kind=None,
            fallback_from=None,
            cost_micro=10,
            energy_wh=1e-3,
            config_hash="bench",
        )
        for index in range(count)
    ]


async def _through_writer(url: str, count: int, clients: int) -> float:
    from stellwerk.ledger.ledger import open_ledger
    from stellwerk.ledger.writer import LedgerWriter

    ledger = open_ledger(url)
    records = _records(count, uuid.uuid4().hex[:8])
    loop = asyncio.get_running_loop()
    try:
        started = loop.time()
        async with LedgerWriter(ledger) as writer:

            async def client(share: list[Any]) -> None:
                for record in share:
                    await writer.submit(record)
                    await asyncio.sleep(0)

            await asyncio.gather(*(client(records[n::clients]) for n in range(clients)))
        return count / (loop.time() - started)
    finally:
        ledger.close()


def _team_benchmark(writes: int, rows: int, log: Callable[[str], None]) -> str | None:
    script = ROOT / "benchmarks" / "ledger.py"
    if not script.exists():
        return None
    argv = [sys.executable, str(script), "--writes", str(writes), "--rows", str(rows)]
    argv += ["--repeat", "1"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    log(f"ledger: running {script.name} --writes {writes} --rows {rows}")
    result = subprocess.run(argv, capture_output=True, text=True, env=env, check=False, cwd=ROOT)
    if result.returncode != 0:
        return f"benchmarks/ledger.py failed: {result.stderr.strip()[-500:]}"
    return result.stdout


def run(writes: int, folder: Path, log: Callable[[str], None], rows: int = 0) -> dict[str, Any]:
    team = _team_benchmark(writes, rows or writes * 5, log)
    if team is not None:
        return {"table": team}
    clients = 50
    measured: dict[str, Any] = {"clients": clients, "records": writes, "rates": {}}
    url = f"sqlite:///{folder / 'ledger-bench.db'}"
    measured["rates"]["SQLite"] = asyncio.run(_through_writer(url, writes, clients))
    postgres = os.environ.get(POSTGRES_ENV)
    if postgres:
        from stellwerk.ledger.scratch import scratch_schema

        try:
            with scratch_schema(postgres, prefix="stellwerk_bench") as pg_url:
                rate = asyncio.run(_through_writer(pg_url, writes, clients))
            measured["rates"]["PostgreSQL"] = rate
        except Exception as exc:  # a missing server is reported in the table, not fatal
            measured["rates"]["PostgreSQL"] = f"not measured: {type(exc).__name__}"
    else:
        measured["rates"]["PostgreSQL"] = f"not measured: set {POSTGRES_ENV}"
    for name, rate in measured["rates"].items():
        log(f"  ledger {name}: {rate if isinstance(rate, str) else f'{rate:,.0f} records/s'}")
    return measured
