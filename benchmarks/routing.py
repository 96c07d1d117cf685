"""Router speed: decision latency p50/p99 for 3, 9 and 30 candidates, through the router seam
(``stellwerk.routing.loader.load_router`` and ``Router.decide``, so whatever router the branch
has is measured) and through the gateway's whole selection step (policy filter, candidates, the
router's features and decision: ``Selector.routed``).

Prompts are the test-split prompts of the routing-outcome data shipped in the repository
(``data/routing/open9.jsonl.gz``), else generated.
If the router team's ``benchmarks/router.py`` exists, its latency figure runs as well in full
mode and its output is kept (their quality table is in their own section of BENCHMARKS.md).
"""

from __future__ import annotations

import gzip
import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from benchmarks.results import percentile
from benchmarks.targets import ROOT

CANDIDATES = (3, 9, 30)


def data_file() -> Path | None:
    path = ROOT / "data" / "routing" / "open9.jsonl.gz"
    return path if path.is_file() else None


def prompts(count: int) -> list[str]:
    path = data_file()
    found: list[str] = []
    if path is not None:
        with gzip.open(path, "rt", encoding="utf-8") as lines:
            for line in lines:
                row = json.loads(line)
                if row.get("split") == "test" and isinstance(row.get("prompt"), str):
                    found.append(row["prompt"])
                if len(found) >= count:
                    break
    rng = random.Random(7)
    words = ["route", "model", "cost", "quality", "prompt", "answer", "explain", "code", "math"]
    while len(found) < count:
        found.append(" ".join(rng.choice(words) for _ in range(rng.randint(5, 300))))
    return found


def _config(n: int, kind: str) -> Any:
    from stellwerk.config import parse_config

    sizes = [("small", 3.0, 0.1), ("medium", 8.0, 0.4), ("large", 70.0, 2.0)]
    models = [
        {
            "id": f"m{i:02d}",
            "backend": "b",
            "upstream": f"m{i:02d}",
            "params_b": sizes[i % 3][1] + i,
            "size_class": sizes[i % 3][0],
            "context_length": 32_768,
            "hosting": "on_prem",
            "price": {"input_per_mtok": sizes[i % 3][2], "output_per_mtok": sizes[i % 3][2] * 3},
            "benchmark_score": 0.4 + 0.5 * (i % 7) / 7,
        }
        for i in range(n)
    ]
    raw = {
        "backends": [{"name": "b", "kind": "openai", "base_url": "http://127.0.0.1:9"}],
        "models": models,
        "departments": [{"name": "d", "keys": [{"id": "k", "key_sha256": "0" * 64}]}],
        "router": {"kind": kind},
    }
    return parse_config(raw, source="<benchmark>")


def _timed(
    call: Callable[[str], object], texts: Sequence[str], calls: int, budget_s: float = 5.0
) -> dict[str, float]:
    """p50/p99 over ``calls`` decisions, or fewer (at least 100) when a slow router would take
    longer than ``budget_s``."""
    for text in texts[:10]:  # warm-up: caches, lazy imports
        call(text)
    times: list[float] = []
    deadline = time.perf_counter() + budget_s
    for index in range(calls):
        if index >= 100 and time.perf_counter() > deadline:
            break
        text = texts[index % len(texts)]
        started = time.perf_counter()
        call(text)
        times.append(time.perf_counter() - started)
    return {
        "p50_us": percentile(times, 50) * 1e6,
        "p99_us": percentile(times, 99) * 1e6,
        "calls": float(len(times)),
    }


def measure(kind: str, calls: int, texts: Sequence[str]) -> list[dict[str, Any]]:
    from stellwerk.backends.tokens import estimate_tokens
    from stellwerk.gateway.auth import Principal
    from stellwerk.gateway.selection import Selector
    from stellwerk.routing.base import RouteRequest
    from stellwerk.routing.candidate import candidate
    from stellwerk.routing.loader import load_router

    principal = Principal("k", "d", "user", "internal", None)
    rows = []
    for n in CANDIDATES:
        config = _config(n, kind)
        router = load_router(config.router)
        candidates = tuple(candidate(m) for m in config.models)
        tokens = {text: estimate_tokens(text) for text in texts}

        def decide(text: str) -> object:
            return router.decide(RouteRequest(text, tokens[text], candidates, 0.5))  # noqa: B023

        selector = Selector(config, router)

        def select(text: str) -> object:
            return selector.routed(principal, "auto", text, tokens[text], {"chat"})  # noqa: B023

        rows.append(
            {
                "router": router.name,
                "candidates": n,
                "decide": _timed(decide, texts, calls),
                "select": _timed(select, texts, calls),
            }
        )
    return rows


def run(calls: int, log: Callable[[str], None], *, team: bool = True) -> dict[str, Any]:
    from stellwerk.routing.loader import builtin_routers

    texts = prompts(500)
    found = data_file()
    source = f"{found.name}, test split (data/routing)" if found else "generated prompts"
    results: list[dict[str, Any]] = []
    seen: set[str] = set()
    for kind in builtin_routers():
        try:
            rows = measure(kind, calls, texts)
        except Exception as exc:  # a router that cannot load here is reported, not fatal
            log(f"router {kind!r}: not measured ({type(exc).__name__}: {exc})")
            results.append({"router": kind, "error": f"{type(exc).__name__}: {exc}"})
            continue
        if rows and rows[0]["router"] not in seen:
            seen.add(rows[0]["router"])
            results.extend(rows)
            for row in rows:
                log(
                    f"  router {row['router']:10} {row['candidates']:3} candidates: decide p50 "
                    f"{row['decide']['p50_us']:.0f} us, p99 {row['decide']['p99_us']:.0f} us"
                )
    return {"prompts": source, "rows": results, "team": _team_benchmark(log) if team else None}


def _team_benchmark(log: Callable[[str], None]) -> str | None:
    """The router team's own latency benchmark, when it exists; in its own process (it pins
    itself to one core). Its quality table (``router.py quality``) is in their section."""
    script = ROOT / "benchmarks" / "router.py"
    if not script.exists():
        return None
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    parts = []
    for what in ("latency",):  # its quality run takes minutes; its section has that table
        log(f"router: benchmarks/router.py {what}")
        try:
            done = subprocess.run(
                [sys.executable, str(script), what],
                capture_output=True,
                text=True,
                env=env,
                cwd=ROOT,
                timeout=600,
                check=False,
            )
        except subprocess.TimeoutExpired:
            parts.append(f"`benchmarks/router.py {what}`: no answer within 600 s")
            continue
        if done.returncode != 0:
            parts.append(f"`benchmarks/router.py {what}` failed: {done.stderr.strip()[-400:]}")
        else:
            parts.append(f"`benchmarks/router.py {what}`:\n\n```json\n{done.stdout.strip()}\n```")
    return "\n\n".join(parts)
