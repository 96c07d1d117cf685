"""Ledger benchmark: batched-writer throughput and aggregate-query times, SQLite and PostgreSQL.

    PYTHONPATH=src python benchmarks/ledger.py                 # quick: 20k writes, 100k rows
    PYTHONPATH=src python benchmarks/ledger.py --rows 1000000  # the 1M-row query figures
    STELLWERK_TEST_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test  # adds PostgreSQL

Each run works in a temp SQLite file and, for PostgreSQL, in a fresh schema that is dropped at the
end. Figures printed as a Markdown table; docs/ledger.md keeps the ones we measured.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from stellwerk.ledger.ledger import Ledger, open_ledger
from stellwerk.ledger.record import UsageRecord
from stellwerk.ledger.rows import FIELD_NAMES
from stellwerk.ledger.scratch import scratch_schema
from stellwerk.ledger.window import Window
from stellwerk.ledger.writer import BatchWriter, LedgerWriter

MONTHS = 6
END = datetime(2026, 12, 1, tzinfo=UTC)
START = END - timedelta(days=30 * MONTHS)


def generate(
    count: int, *, seed: int, prefix: str, start: datetime = START, end: datetime = END
) -> Iterator[UsageRecord]:
    """``count`` plausible records spread evenly over ``[start, end)`` (by default the six months
    before December 2026)."""
    rng = random.Random(seed)
    span = (end - start).total_seconds()
    departments = [f"dept-{n}" for n in range(12)]
    models = ["mistral-3b", "mistral-8b", "mistral-14b", "apertus-8b", "apertus-70b", "olmo-7b"]
    for index in range(count):
        prompt, completion = rng.randint(10, 4000), rng.randint(0, 1000)
        failed = rng.random() < 0.03
        yield UsageRecord(
            request_id=f"{prefix}-{index:09d}",
            time=start + timedelta(seconds=span * index / count),
            department=departments[index % len(departments)],
            key_id=f"key-{index % 97}",
            api="openai",
            endpoint="/v1/chat/completions",
            requested_model="auto",
            model=models[rng.randrange(len(models))],
            backend="vllm-1",
            decision_reason="best quality per cost",
            router="learned-v1",
            classification="internal",
            stream=index % 2 == 0,
            prompt_tokens=prompt,
            completion_tokens=0 if failed else completion,
            usage_source="backend",
            latency_ms=rng.lognormvariate(6.0, 0.8),
            ttft_ms=rng.lognormvariate(4.0, 0.5),
            status=502 if failed else 200,
            error_kind="failed" if failed else None,
            fallback_from=None,
            cost_micro=(prompt * 2 + completion * 6 + 9) // 10,
            energy_wh=(prompt + completion) * 3e-4,
            config_hash="bench",
        )


@dataclass
class WriteResult:
    records_per_s: float
    p99_loop_lag_ms: float
    max_loop_lag_ms: float

    def __str__(self) -> str:
        return (
            f"{self.records_per_s:,.0f} rec/s; loop lag p99 {self.p99_loop_lag_ms:.1f} ms, "
            f"max {self.max_loop_lag_ms:.1f} ms"
        )


def median_result(results: Sequence[WriteResult]) -> WriteResult:
    return WriteResult(
        statistics.median(r.records_per_s for r in results),
        statistics.median(r.p99_loop_lag_ms for r in results),
        statistics.median(r.max_loop_lag_ms for r in results),
    )


async def _write_through(
    ledger: Ledger, records: Sequence[UsageRecord], clients: int, batch: BatchWriter | None
) -> WriteResult:
    """``clients`` concurrent submitters push ``records`` through one writer; a ticker measures
    how late the event loop runs (it must stay near zero: the DB work is off the loop)."""
    lags: list[float] = []
    stop = asyncio.Event()

    async def ticker() -> None:
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            before = loop.time()
            await asyncio.sleep(0.001)
            lags.append(max(0.0, loop.time() - before - 0.001) * 1000)

    async def client(writer: LedgerWriter, share: Sequence[UsageRecord]) -> None:
        for record in share:
            await writer.submit(record)
            await asyncio.sleep(0)  # a request does other work between two records

    tick = asyncio.create_task(ticker())
    started = time.perf_counter()
    async with LedgerWriter(ledger, write_batch=batch) as writer:
        await asyncio.gather(*(client(writer, records[n::clients]) for n in range(clients)))
    elapsed = time.perf_counter() - started
    stop.set()
    await tick
    lags.sort()
    return WriteResult(len(records) / elapsed, lags[int(len(lags) * 0.99)], lags[-1])


def _psycopg_target(url: str) -> tuple[str, str | None, str]:
    parsed = make_url(url)
    options = parsed.query.get("options")
    dsn = parsed.set(drivername="postgresql", query={}).render_as_string(hide_password=False)
    columns = ", ".join(f'"{name}"' for name in FIELD_NAMES)
    marks = ", ".join(["%s"] * len(FIELD_NAMES))
    sql = f"INSERT INTO usage ({columns}) VALUES ({marks}) ON CONFLICT DO NOTHING"
    return dsn, str(options) if options else None, sql


def _tuples(batch: Sequence[UsageRecord]) -> list[tuple[Any, ...]]:
    return [tuple(getattr(r, name) for name in FIELD_NAMES) for r in batch]


async def psycopg_batch(url: str, *, native_async: bool) -> tuple[BatchWriter, Callable[[], Any]]:
    """A ``write_batch`` straight on psycopg (no SQLAlchemy), on its async connection or on a
    sync connection in a thread: separates "async vs. thread" from "SQLAlchemy vs. raw driver"."""
    import psycopg

    dsn, options, sql = _psycopg_target(url)
    if native_async:
        aconn = await psycopg.AsyncConnection.connect(dsn, options=options)

        async def write_async(batch: Sequence[UsageRecord]) -> None:
            async with aconn.cursor() as cursor:
                await cursor.executemany(sql, _tuples(batch))
            await aconn.commit()

        return write_async, aconn.close
    conn: psycopg.Connection[Any] = psycopg.connect(dsn, options=options)

    def write_sync(batch: Sequence[UsageRecord]) -> None:
        with conn.cursor() as cursor:
            cursor.executemany(sql, _tuples(batch))
        conn.commit()

    async def write_threaded(batch: Sequence[UsageRecord]) -> None:
        await asyncio.to_thread(write_sync, batch)

    async def close() -> None:
        conn.close()

    return write_threaded, close


def timed(call: Callable[[], object], repeat: int = 3) -> str:
    """Median wall time of ``call``, and the CPU time this process spent (on SQLite that includes
    the database's work; on PostgreSQL the server's is not counted)."""
    wall, cpu = [], []
    for _ in range(repeat):
        started, started_cpu = time.perf_counter(), time.process_time()
        call()
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    return f"{statistics.median(wall):,.1f} ms (CPU {statistics.median(cpu):,.1f} ms)"


def rate(count: int, call: Callable[[], object]) -> str:
    started, started_cpu = time.perf_counter(), time.process_time()
    call()
    wall, cpu = time.perf_counter() - started, time.process_time() - started_cpu
    return f"{count / wall:,.0f} rec/s (per CPU-second of this process {count / cpu:,.0f})"


def bulk_load(ledger: Ledger, count: int) -> None:
    chunk: list[UsageRecord] = []
    for record in generate(count, seed=1, prefix="bulk"):
        chunk.append(record)
        if len(chunk) == 10_000:
            ledger.insert_usage(chunk)
            chunk = []
    ledger.insert_usage(chunk)


def bench(name: str, url: str, args: argparse.Namespace) -> list[tuple[str, str, str]]:
    rows: list[tuple[str, str, str]] = []
    ledger = open_ledger(url)
    try:
        empty_rate = _batch_rate(ledger, "e", 0)
        results: dict[str, list[WriteResult]] = {}
        for attempt in range(args.repeat):
            writes = list(generate(args.writes, seed=2, prefix=f"w{attempt}"))
            results.setdefault("SQLAlchemy in a thread (default)", []).append(
                asyncio.run(_write_through(ledger, writes, args.clients, None))
            )
            if name == "postgresql":
                for native_async, label in ((False, "thread"), (True, "async, no thread")):
                    results.setdefault(f"raw psycopg, {label}", []).append(
                        _psycopg_rate(
                            ledger, url, args, f"{label[0]}{attempt}", native_async=native_async
                        )
                    )
        label = f"writer, {args.clients} clients, {args.writes:,} records"
        for variant, measured in results.items():
            rows.append((name, f"{label}: {variant}", str(median_result(measured))))
        rows.append((name, "10k-record batch into the empty table", empty_rate))
        loaded = rate(args.rows, lambda: bulk_load(ledger, args.rows))
        rows.append((name, f"bulk load {args.rows:,} rows (10k per transaction)", loaded))
        full = ledger.count_usage()
        rows.append((name, f"10k-record batch into {full:,} rows", _batch_rate(ledger, "f", 1)))
        month = Window.month("2026-11")
        queries: list[tuple[str, Callable[[], object]]] = [
            ("count, one month", lambda: ledger.count_usage(month)),
            (
                "summary by department, one month",
                lambda: ledger.summarize_usage(month, by="department"),
            ),
            ("summary by model, one month", lambda: ledger.summarize_usage(month, by="model")),
            (
                "summary by model, one department, one month",
                lambda: ledger.summarize_usage(month, by="model", department="dept-3"),
            ),
            ("summary, all six months", lambda: ledger.summarize_usage()),
            ("50 most recent records", lambda: ledger.recent_usage(limit=50)),
            (
                "50 most recent of one department",
                lambda: ledger.recent_usage(limit=50, department="dept-3"),
            ),
        ]
        total = ledger.count_usage()
        for label, call in queries:
            rows.append((name, f"{label} ({total:,} rows)", timed(call)))
    finally:
        ledger.close()
    return rows


def _batch_rate(ledger: Ledger, prefix: str, hour: int) -> str:
    """10k records of one hour after everything stored, as a live gateway writes them."""
    start = END + timedelta(hours=hour)
    batch = list(
        generate(10_000, seed=3, prefix=prefix, start=start, end=start + timedelta(hours=1))
    )
    return rate(len(batch), lambda: ledger.insert_usage(batch))


def _psycopg_rate(
    ledger: Ledger, url: str, args: argparse.Namespace, prefix: str, *, native_async: bool
) -> WriteResult:
    records = list(generate(args.writes, seed=4, prefix=prefix))

    async def run() -> WriteResult:
        write, close = await psycopg_batch(url, native_async=native_async)
        try:
            return await _write_through(ledger, records, args.clients, write)
        finally:
            await close()

    return asyncio.run(run())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--writes", type=int, default=20_000, help="records through the writer")
    parser.add_argument("--clients", type=int, default=50, help="concurrent submitters")
    parser.add_argument("--repeat", type=int, default=3, help="writer runs (median reported)")
    parser.add_argument("--rows", type=int, default=100_000, help="rows for the query timings")
    parser.add_argument("--postgres-url", default=os.environ.get("STELLWERK_TEST_POSTGRES_URL"))
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    args = parser.parse_args(argv)
    rows: list[tuple[str, str, str]] = []
    if args.only in (None, "sqlite"):
        with tempfile.TemporaryDirectory() as tmp:
            rows += bench("sqlite", f"sqlite:///{Path(tmp) / 'bench.db'}", args)
    if args.only in (None, "postgresql"):
        if args.postgres_url:
            with scratch_schema(args.postgres_url, prefix="stellwerk_bench") as url:
                rows += bench("postgresql", url, args)
        else:
            print(
                "PostgreSQL skipped: set STELLWERK_TEST_POSTGRES_URL or --postgres-url",
                file=sys.stderr,
            )
    print("| database | measurement | result |\n|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
