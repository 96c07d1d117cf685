"""Closed-loop load with wrk (the Debian package; installed with apt-get when missing and allowed).

A Lua script makes every request the same POST and, when wrk is done, prints one JSON line with
the request count, errors and latency percentiles in microseconds, which ``run`` parses.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from pathlib import Path

from benchmarks.results import Result

_LUA = """
wrk.method = "POST"
wrk.body = {body}
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = {auth}

done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.status + summary.errors.timeout
  io.write(string.format(
    '\\nWRK-JSON {{"requests": %d, "duration_us": %d, "errors": %d, "status_errors": %d, '
    .. '"p50": %d, "p90": %d, "p99": %d, "max": %d}}\\n',
    summary.requests, summary.duration, errors, summary.errors.status,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
"""


class WrkMissing(RuntimeError):
    """wrk is not installed and could not be installed."""


def ensure_wrk(install: bool = True) -> str:
    """The path of wrk; installs the Debian package when missing (needs root and apt)."""
    found = shutil.which("wrk")
    if found or not install:
        if not found:
            raise WrkMissing("wrk is not installed")
        return found
    if shutil.which("apt-get") is None:
        raise WrkMissing("wrk is not installed and there is no apt-get to install it")
    result = subprocess.run(
        ["apt-get", "-o", "DPkg::Lock::Timeout=600", "install", "-y", "-q", "wrk"],
        capture_output=True,
        text=True,
        check=False,
    )
    found = shutil.which("wrk")
    if not found:
        raise WrkMissing(f"apt-get install wrk failed: {result.stderr.strip()[-500:]}")
    return found


def write_script(folder: Path, body: bytes, authorization: str) -> Path:
    path = folder / "post.lua"
    path.write_text(
        _LUA.format(body=_lua_string(body.decode()), auth=_lua_string(authorization)),
        encoding="utf-8",
    )
    return path


def _lua_string(text: str) -> str:
    return "[==[" + text + "]==]"


def run(
    wrk: str, url: str, script: Path, *, clients: int, duration: float, timeout_s: float = 10
) -> Result:
    """One wrk run with one thread and ``clients`` connections."""
    argv = [
        wrk,
        "-t1",
        f"-c{clients}",
        f"-d{max(1, round(duration))}s",
        f"--timeout={timeout_s:.0f}s",
        "-s",
        str(script),
        url,
    ]
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    line = next((x for x in result.stdout.splitlines() if x.startswith("WRK-JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no summary: {result.stdout[-500:]} {result.stderr[-500:]}")
    data = json.loads(line[len("WRK-JSON ") :])
    ok = max(0, data["requests"] - data["status_errors"])

    def seconds(key: str) -> float:  # wrk reports 0 when nothing finished: no latency known
        return data[key] / 1e6 if ok else math.nan

    return Result(
        ok=ok,
        errors=data["errors"],
        elapsed=data["duration_us"] / 1e6,
        p50=seconds("p50"),
        p90=seconds("p90"),
        p99=seconds("p99"),
    )
