"""The ledger's write rate for two source trees side by side: usage records per second through
the batched ``LedgerWriter`` (as ``benchmarks/ledger.py`` measures it), on SQLite and on
PostgreSQL, in interleaved rounds (base and head in turn, the order flipped every round).

    git archive <older commit> src | tar -x -C /tmp/before
    STELLWERK_TEST_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test \\
        python -m benchmarks.ledger_compare --base /tmp/before/src [--rounds 9]

Every run is a fresh process that imports ``stellwerk`` from one tree and writes into a fresh
ledger migrated by that tree: a temp SQLite file, or a PostgreSQL scratch schema dropped after.
``--writes`` records as a live gateway makes them (stamped within the last hour, a few
departments, keys and models, so the rollup trigger mostly adds to rows it made already) are
handed over by ``--clients`` concurrent submitters and timed until the writer committed the last.
A tree whose ``UsageRecord`` has a reference (migration 1100) gets one on every routed record,
as the gateway stores it; ``--no-references`` leaves it null.

Per run: records per second of wall time; per CPU-second of the benchmark's process (on SQLite
that includes the database's work); on PostgreSQL also per CPU-second of the server's backends
that served the run (read from /proc: the server must run on this machine). The CPU figures
follow the machine's load less than the wall time. Prints a Markdown table: medians over the
rounds, their spread (min-max) and the head/base ratio of the medians and of each round's pair.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_ENV = "STELLWERK_TEST_POSTGRES_URL"
DATABASES = ("sqlite", "postgresql")


@dataclass(frozen=True)
class Run:
    """One run's figures: records per second of wall time, of this process's CPU time and (on
    PostgreSQL) of the server backends' CPU time."""

    wall: float
    cpu: float
    server_cpu: float | None


# --- the child: one run in a fresh process that imports stellwerk from one tree ---------------


def live_records(count: int, *, references: bool) -> list[Any]:
    """``count`` records of the last hour as a gateway writes them: 6 departments, 24 keys, 4
    models, 3 in 4 routed (``auto``), 1 in 50 failed; routed ones carry a reference where the
    tree's record has one and ``references`` is set."""
    from stellwerk.ledger.record import UsageRecord

    has_reference = references and "reference_model" in UsageRecord.__dataclass_fields__
    prefix = uuid.uuid4().hex[:8]
    start = datetime.now(UTC) - timedelta(hours=1)
    models = ("mistral-3b", "mistral-8b", "apertus-8b", "olmo-7b")
    records = []
    for index in range(count):
        routed = index % 4 != 0
        prompt, completion = 50 + index * 37 % 3000, index * 11 % 800
        extra: dict[str, Any] = {}
        if has_reference and routed:
            extra = {"reference_model": "apertus-70b", "reference_cost_micro": prompt * 9}
        records.append(
            UsageRecord(
                request_id=f"{prefix}-{index:08d}",
                time=start + timedelta(milliseconds=index * 3),
                department=f"dept-{index % 6}",
                key_id=f"key-{index % 24}",
                api="openai",
                endpoint="/v1/chat/completions",
                requested_model="auto" if routed else models[index % 4],
                model=models[index * 7 % 4],
                backend="vllm-1",
                decision_reason="best quality per cost",
                router="learned-v1",
                classification="internal",
                stream=index % 2 == 0,
                prompt_tokens=prompt,
                completion_tokens=completion,
                usage_source="backend",
                latency_ms=20.0 + index * 13 % 4000,
                ttft_ms=10.0 + index % 90,
                status=502 if index % 50 == 0 else 200,
                error_kind="failed" if index % 50 == 0 else None,
                fallback_from=None,
                cost_micro=prompt * 2 + completion * 6,
                energy_wh=(prompt + completion) * 3e-4,
                config_hash="bench",
                **extra,
            )
        )
    return records


def _server_cpu(url: str, tag: str) -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL backend whose application_name is ``tag``."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    engine = create_engine(make_url(url).set(query={}))
    try:
        with engine.connect() as connection:
            pids = connection.execute(
                text("SELECT pid FROM pg_stat_activity WHERE application_name = :tag"),
                {"tag": tag},
            ).scalars()
            ticks = os.sysconf("SC_CLK_TCK")
            seconds = {}
            for pid in pids:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                seconds[pid] = (int(fields[11]) + int(fields[12])) / ticks
            return seconds
    finally:
        engine.dispose()


async def _write(ledger: Any, records: Sequence[Any], clients: int) -> None:
    from stellwerk.ledger.writer import LedgerWriter

    async def client(writer: Any, share: Sequence[Any]) -> None:
        for record in share:
            await writer.submit(record)
            await asyncio.sleep(0)  # a request does other work between two records

    async with LedgerWriter(ledger) as writer:
        await asyncio.gather(*(client(writer, records[n::clients]) for n in range(clients)))


def one_run(url: str, writes: int, clients: int, *, references: bool) -> Run:
    """Migrate a fresh ledger at ``url`` (not timed), then time ``writes`` records through it."""
    from sqlalchemy.engine import make_url

    from stellwerk.ledger.ledger import open_ledger

    tag = f"ledger_compare_{uuid.uuid4().hex[:8]}"
    postgres = url.startswith("postgresql")
    if postgres:
        url = make_url(url).update_query_dict({"application_name": tag}).render_as_string(False)
    records = live_records(writes, references=references)
    ledger = open_ledger(url)
    try:
        before = _server_cpu(url, tag) if postgres else {}
        started, started_cpu = time.perf_counter(), time.process_time()
        asyncio.run(_write(ledger, records, clients))
        wall, cpu = time.perf_counter() - started, time.process_time() - started_cpu
        after = _server_cpu(url, tag) if postgres else {}
    finally:
        ledger.close()
    server = sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())
    return Run(writes / wall, writes / cpu, writes / server if postgres and server else None)


def child(database: str, writes: int, clients: int, references: bool, tree: Path) -> int:
    import stellwerk

    if not Path(stellwerk.__file__).resolve().is_relative_to(tree.resolve()):
        raise SystemExit(f"imported stellwerk from {stellwerk.__file__}, not from {tree}")
    if database == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            run = one_run(f"sqlite:///{folder}/ledger.db", writes, clients, references=references)
    else:
        from stellwerk.ledger.scratch import scratch_schema

        with scratch_schema(os.environ[POSTGRES_ENV], prefix="stellwerk_bench") as url:
            run = one_run(url, writes, clients, references=references)
    print(json.dumps(run.__dict__))
    return 0


# --- the parent: interleaved rounds over the two trees --------------------------------------


def start(tree: Path, database: str, args: argparse.Namespace) -> Run:
    """One run of ``tree`` on ``database`` in a fresh process."""
    argv = [sys.executable, "-m", "benchmarks.ledger_compare", "--child", database]
    argv += ["--tree", str(tree), "--writes", str(args.writes), "--clients", str(args.clients)]
    argv += ["--no-references"] if args.no_references else []
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tree), str(ROOT)])}
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"the {database} run of {tree} failed:\n{done.stderr[-2000:]}")
    return Run(**json.loads(done.stdout.strip().splitlines()[-1]))


def measure(
    trees: tuple[Path, Path], databases: Sequence[str], args: argparse.Namespace
) -> dict[str, list[list[Run]]]:
    """Per database, the runs of base and of head, after one unmeasured run of each."""
    runs: dict[str, list[list[Run]]] = {database: [[], []] for database in databases}
    for database in databases:
        for tree in trees:
            start(tree, database, args)
    for number in range(args.rounds):
        order = (0, 1) if number % 2 == 0 else (1, 0)
        for database in databases:
            for side in order:
                run = start(trees[side], database, args)
                runs[database][side].append(run)
                server = f", server {run.server_cpu:,.0f}" if run.server_cpu else ""
                print(
                    f"round {number + 1} {database:10} {('base', 'head')[side]}: "
                    f"{run.wall:,.0f} rec/s, per CPU-second {run.cpu:,.0f}{server}",
                    file=sys.stderr,
                    flush=True,
                )
    return runs


def _cells(base: list[float], head: list[float]) -> str:
    """Medians with their spread, the ratio of the medians, the median (min-max) paired ratio."""
    pairs = [h / b for b, h in zip(base, head, strict=True)]

    def spread(values: list[float]) -> str:
        return f"{statistics.median(values):,.0f} ({min(values):,.0f}-{max(values):,.0f})"

    return (
        f"{spread(base)} | {spread(head)} | "
        f"{statistics.median(head) / statistics.median(base):.3f} | "
        f"{statistics.median(pairs):.3f} ({min(pairs):.3f}-{max(pairs):.3f})"
    )


def table(runs: dict[str, list[list[Run]]]) -> str:
    lines = [
        "| database | records/s per | base: median (min-max) | head: median (min-max) | "
        "ratio of medians | paired ratio: median (min-max) |",
        "|---|---|---|---|---|---|",
    ]
    for database, (base, head) in runs.items():
        figures = [
            ("wall second", [r.wall for r in base], [r.wall for r in head]),
            ("CPU-second, benchmark process", [r.cpu for r in base], [r.cpu for r in head]),
        ]
        if all(r.server_cpu for r in base + head):
            server = [r.server_cpu or 0.0 for r in base], [r.server_cpu or 0.0 for r in head]
            figures.append(("CPU-second, server backends", *server))
        lines += [f"| {database} | {label} | {_cells(b, h)} |" for label, b, h in figures]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", type=Path, help="the older tree's src folder")
    parser.add_argument("--head", type=Path, default=ROOT / "src", help="default: this checkout")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--writes", type=int, default=20_000, help="records per run")
    parser.add_argument("--clients", type=int, default=50, help="concurrent submitters")
    parser.add_argument("--only", choices=DATABASES)
    parser.add_argument(
        "--no-references", action="store_true", help="leave the records' reference null"
    )
    parser.add_argument("--child", choices=DATABASES, help=argparse.SUPPRESS)
    parser.add_argument("--tree", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(args.child, args.writes, args.clients, not args.no_references, args.tree)
    if args.base is None:
        parser.error("--base is required (the older tree's src folder)")
    for tree in (args.base, args.head):
        if not (tree / "stellwerk" / "ledger" / "writer.py").is_file():
            parser.error(f"{tree} holds no stellwerk ledger (give the tree's src folder)")
    databases = [args.only] if args.only else list(DATABASES)
    if "postgresql" in databases and not os.environ.get(POSTGRES_ENV):
        if args.only:
            parser.error(f"set {POSTGRES_ENV} to measure PostgreSQL")
        databases.remove("postgresql")
        print(f"PostgreSQL skipped: set {POSTGRES_ENV}", file=sys.stderr)
    load = os.getloadavg()[0]
    runs = measure((args.base.resolve(), args.head.resolve()), databases, args)
    print(
        f"{args.rounds} interleaved rounds of {args.writes:,} records from {args.clients} "
        f"clients, load average {load:.1f} at the start ({os.cpu_count()} cores)"
    )
    print(f"base: {args.base}, head: {args.head}\n")
    print(table(runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
