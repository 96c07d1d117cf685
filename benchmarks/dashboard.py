"""Server time of every dashboard page with a million usage records in the ledger.

    PYTHONPATH=src python benchmarks/dashboard.py [--records 1000000] [--database-url URL]

Generates ``--records`` usage records spread over the current month (``stellwerk.demo.history``)
into a fresh ledger (a SQLite file in a temporary folder by default; or the PostgreSQL database
given, which must be empty), timing the inserts with the rollup triggers, then serves the gateway
and requests each page ``--repeat`` times, reading the server's own time from the
``Server-Timing`` header. The backend points at a closed port (the health widget probes it).
Results are written down in docs/dashboard.md.
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from stellwerk.config import StellwerkConfig, parse_config
from stellwerk.demo.history import batches, generate_usage
from stellwerk.gateway import create_app
from stellwerk.gateway.server import serve_in_thread
from stellwerk.governance.catalog import Catalog
from stellwerk.governance.use_cases import UseCases
from stellwerk.ledger.ledger import open_ledger

ADMIN_KEY = "sk-stw-benchmark-admin-00000000000000000000"


def config(database_url: str) -> StellwerkConfig:
    sizes = (("small", 3), ("medium", 8), ("large", 70))
    models: list[dict[str, Any]] = [
        {
            "id": f"model-{size}-{n}",
            "backend": "closed",
            "upstream": f"m{n}",
            "params_b": params + n,
            "size_class": size,
            "licence": "Apache-2.0",
            "hosting": "on_prem",
            "price": {"input_per_mtok": params / 10, "output_per_mtok": params / 3},
            "energy_wh_per_1k_tokens": params / 40,
        }
        for size, params in sizes
        for n in range(2)
    ]
    departments: list[dict[str, Any]] = [
        {
            "name": f"dept-{d}",
            "keys": [
                {"id": f"dept-{d}-key-{k}", "key_sha256": f"{d:02x}{k:02x}" * 16} for k in range(3)
            ],
        }
        for d in range(8)
    ]
    departments.append(
        {
            "name": "it",
            "keys": [
                {
                    "id": "it-admin",
                    "role": "admin",
                    "key_sha256": hashlib.sha256(ADMIN_KEY.encode()).hexdigest(),
                }
            ],
        }
    )
    return parse_config(
        {
            "server": {"database_url": database_url},
            "backends": [{"name": "closed", "kind": "openai", "base_url": "http://127.0.0.1:9"}],
            "models": models,
            "departments": departments,
            "use_cases": [
                {
                    "name": f"case-{d}",
                    "department": f"dept-{d}",
                    "risk_tier": "limited",
                    "purpose": "benchmark",
                }
                for d in range(8)
            ],
            "router": {"kind": "first"},
        }
    )


def fill(cfg: StellwerkConfig, records: int) -> float:
    """Insert the records; returns records per second."""
    ledger = open_ledger(cfg.server.database_url)
    try:
        Catalog(ledger, cfg).seed()
        UseCases(ledger, cfg).seed()
        now = datetime.now(UTC)
        start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        started = time.perf_counter()
        for batch in batches(generate_usage(cfg, count=records, start=start, end=now), 10_000):
            ledger.insert_usage(batch)
        elapsed = time.perf_counter() - started
        assert ledger.count_usage() == records
    finally:
        ledger.close()
    return records / elapsed


def measure(url: str, repeat: int) -> dict[str, list[float]]:
    pages = {
        "overview": "/dashboard",
        "model page": "/dashboard/models/model-small-0",
        "department page": "/dashboard/departments/dept-0",
        "login form": "/dashboard/login",
    }
    times: dict[str, list[float]] = {name: [] for name in pages}
    with httpx.Client(base_url=url, timeout=60) as client:
        form = client.get("/dashboard/login").text
        token = form.split('name="csrf" value="')[1].split('"')[0]
        login = client.post("/dashboard/login", data={"csrf": token, "key": ADMIN_KEY})
        if login.status_code != 303:
            sys.exit(f"login failed: HTTP {login.status_code}")
        for _ in range(repeat):
            for name, path in pages.items():
                response = client.get(path)
                if response.status_code != 200:
                    sys.exit(f"{path}: HTTP {response.status_code}")
                timing = response.headers["server-timing"]
                times[name].append(float(timing.split("dur=")[1]))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="stellwerk-bench-") as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'ledger.db'}"
        cfg = config(url)
        rate = fill(cfg, args.records)
        print(f"{args.records:,} records inserted at {rate:,.0f} records/s (rollup triggers on)")
        with serve_in_thread(create_app(cfg, environ={})) as base:
            measure(base, 2)  # warm up
            times = measure(base, args.repeat)
    print(f"{'page':<18}{'median ms':>10}{'p95 ms':>10}{'max ms':>10}")
    for name, values in times.items():
        ordered = sorted(values)
        p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)]
        print(f"{name:<18}{statistics.median(values):>10.1f}{p95:>10.1f}{max(values):>10.1f}")


if __name__ == "__main__":
    main()
