"""Where the gateway's time goes: py-spy samples the running Stellwerk process under load, and every
sample is charged to the part of the request path its innermost non-generic frame belongs to."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.procs import cpu_times, descendants

#: (category, path fragments); the first category matching a frame, innermost frame first, wins.
CATEGORIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("metrics (prometheus_client)", ("prometheus_client/",)),
    (
        "ledger: usage record, SQLAlchemy + SQLite in the writer thread",
        ("stellwerk/ledger/", "sqlalchemy/", "sqlite3/", "stellwerk/gateway/runtime.py"),
    ),
    (
        "HTTP client to the backend (httpx on aiohttp, backend wire code)",
        (
            *("httpx/", "httpcore/", "h11/", "aiohttp/", "aiohappyeyeballs/", "yarl/"),
            *("multidict/", "stellwerk/backends/"),
        ),
    ),
    (
        "JSON parsing and validation (pydantic, orjson, wire formats)",
        (
            *("pydantic/", "pydantic_core/", "orjson", "json/", "stellwerk/gateway/body.py"),
            *("stellwerk/gateway/openai_wire.py", "stellwerk/gateway/openai_schema.py"),
        ),
    ),
    (
        "auth, limits, policy, governance and routing",
        (
            *("stellwerk/routing/", "stellwerk/gateway/selection.py"),
            *("stellwerk/gateway/pipeline.py", "stellwerk/gateway/budget.py"),
            *("stellwerk/gateway/auth.py", "stellwerk/gateway/limits.py", "hashlib", "hmac"),
            *("stellwerk/policy/", "stellwerk/governance/", "stellwerk/gateway/governance.py"),
            *("stellwerk/modelfacts/",),
        ),
    ),
    ("framework (FastAPI, Starlette, AnyIO)", ("fastapi/", "starlette/", "anyio/")),
    ("HTTP server (uvicorn on httptools)", ("uvicorn/", "httptools/")),
    ("logging", ("logging/",)),
    ("Stellwerk endpoint code", ("stellwerk/",)),
)
LOOP = "event loop (uvloop's C code: polling, callbacks)"
SOCKET_WRITE = "socket writes to client and backend (send() on loopback, waking the peer)"
#: Leaves that are the ``transport.write`` of a response (uvicorn 0.54) or of a request to the
#: backend (aiohttp 3.14): the time is the kernel's loopback TCP path and the wake-up of the
#: peer process, which on a busy machine often preempts the writer right there.
_WRITE_LEAVES = ("http_writer.py:116)", "httptools_impl.py:524)", "httptools_impl.py:544)")
#: Leaves where the sample is inside the event loop's own C code (uvloop runs the loop in C).
_LOOP_LEAVES = ("asyncio/runners.py", "asyncio/base_events.py")
_IDLE_LEAVES = ("Condition.wait", "Queue.get", "concurrent/futures/thread.py:81)", "selectors")


def py_spy() -> str | None:
    found = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    return found if Path(found).exists() else None


def record(pid: int, seconds: float, out: Path, rate: int = 100) -> subprocess.Popen[bytes] | None:
    """Start sampling ``pid`` for ``seconds`` into ``out`` (collapsed stacks); None without
    py-spy. ``--nonblocking``: the process is not paused to take a sample."""
    spy = py_spy()
    if spy is None:
        return None
    argv = [spy, "record", "--pid", str(pid), "--duration", str(round(seconds))]
    argv += ["--rate", str(rate), "--format", "raw", "--nonblocking", "--output", str(out)]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _category(frames: list[str]) -> str:
    if any(marker in frames[-1] for marker in _WRITE_LEAVES):
        return SOCKET_WRITE
    if any(marker in frames[-1] for marker in _LOOP_LEAVES):
        return LOOP
    for frame in reversed(frames):
        for name, fragments in CATEGORIES:
            if any(fragment in frame for fragment in fragments):
                return name
    return LOOP


def classify(raw: Path) -> dict[str, Any]:
    """Shares per category of the busy samples outside socket writes (those are mostly waiting
    for a CPU, see ``SOCKET_WRITE``; their share is returned apart), and the busiest leaves."""
    categories: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = stack.split(";")
        if any(marker in frames[-1] for marker in _IDLE_LEAVES):
            continue
        categories[_category(frames)] += int(count)
        leaves[_short(frames[-1])] += int(count)
    busy = sum(categories.values())
    writes = categories.pop(SOCKET_WRITE, 0)
    total = busy - writes
    return {
        "samples": busy,
        "socket_write_share": writes / busy if busy else 0.0,
        "categories": [(name, n / total) for name, n in categories.most_common()] if total else [],
        "leaves": [(name, n / busy) for name, n in leaves.most_common(12)] if busy else [],
    }


def _short(frame: str) -> str:
    """``func (path/site-packages/pkg/mod.py:12)`` -> ``func (pkg/mod.py:12)``."""
    name, _, where = frame.partition(" (")
    where = where.rstrip(")").split("site-packages/")[-1].split("/src/")[-1]
    return f"{name} ({where})" if where else name


def profile_under_load(
    pid: int, seconds: float, out: Path, load: Callable[[float], object]
) -> dict[str, Any] | None:
    """Sample ``pid`` while ``load(duration)`` runs; None if py-spy is missing or fails."""
    spy = record(pid, seconds, out)
    if spy is None:
        return None
    time.sleep(0.5)  # py-spy attaches
    pids = descendants(pid)
    user, system = cpu_times(pids)
    load(seconds + 1)
    user_after, system_after = cpu_times(pids)
    _, err = spy.communicate(timeout=60)
    if spy.returncode != 0 or not out.exists():
        return {"error": err.decode(errors="replace").strip()[-300:]}
    found = classify(out)
    found["user_cpu_s"], found["system_cpu_s"] = user_after - user, system_after - system
    return found
