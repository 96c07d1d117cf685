"""BENCHMARKS.md from a run's data. Each part is written between its own marker comments, so a
new run replaces only the generated parts and text around them (analysis, other teams' sections)
stays as it is."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from benchmarks import plots
from benchmarks.tables import (
    closed_table,
    headline,
    levels,
    memory_table,
    rate_table,
    stream_table,
)


def profile_section(profile: dict[str, Any] | None) -> list[str]:
    if not profile:
        return ["No profile in this run (py-spy missing, `--no-profile`, or quick mode)."]
    if "error" in profile:
        return [f"The profile failed: `{profile['error']}`"]
    user, system = profile.get("user_cpu_s", math.nan), profile.get("system_cpu_s", math.nan)
    rows = [
        f"py-spy, {profile['samples']:,} busy samples of the Stellwerk process under "
        f"{profile.get('clients', '?')} clients (wrk, instant backend). "
        f"{profile['socket_write_share'] * 100:.0f} % of them sit in the two socket writes "
        "(response to the client, request to the backend): the process is runnable there, but "
        "the kernel's part is small (system CPU time was "
        f"{system / (user + system) * 100 if user + system else math.nan:.0f} % of the process's "
        f"CPU, {user:.1f} s user and {system:.1f} s system): it is the wake-up of the peer "
        "preempting the writer on a busy machine, i.e. waiting for a CPU. The rest, charged "
        "to the innermost frame that belongs to a part (generic asyncio/contextlib frames "
        "skipped over), is where the CPU goes:",
        "",
        "| part of the request path | share of busy samples outside socket writes |",
        "|---|---|",
    ]
    rows += [f"| {name} | {share * 100:.1f} % |" for name, share in profile["categories"]]
    rows += ["", "Busiest functions (own time, all busy samples):", "", "| function | share |"]
    rows += ["|---|---|"]
    rows += [f"| `{name}` | {share * 100:.1f} % |" for name, share in profile["leaves"]]
    return rows


def client_cost_section(rows: list[dict[str, Any]] | None) -> list[str]:
    if not rows:
        return []
    lines = [
        "CPU of the calling process per request to the instant backend, by HTTP client "
        "(`benchmarks/client_cost.py`, same run):",
        "",
        "| client | CPU us / request, 1 in flight | CPU us / request, 50 in flight |",
        "|---|---|---|",
    ]
    lines += [f"| {r['client']} | {r['1']:.0f} | {r['50']:.0f} |" for r in rows]
    return lines


def gateway_section(data: dict[str, Any], results: Path, report_dir: Path) -> list[str]:
    lines = ["## Gateway overhead: Stellwerk, LiteLLM's proxy and the bare backend", ""]
    lines += [f"Run: `{data['command']}` ({data['mode']} mode), {data['started']}.", ""]
    lines += ["| machine | |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in data["machine"].items()]
    plan = data.get("plan", {})
    lines += [
        "",
        f"Method: each target runs as its own process on loopback; {plan.get('rounds', '?')} "
        f"interleaved rounds (the order of the targets rotates each round) of "
        f"{plan.get('duration_s', '?')} s per cell, medians over the rounds. Fixed concurrency "
        f"with {data.get('load_tool', 'wrk')} (one thread, keep-alive, the same POST); fixed "
        "rates with an open-loop generator (latency counted from the moment a request was due, "
        "so queueing is charged); streams with a client that stamps the first SSE event "
        "carrying text. *Added* = target minus direct in the same round. CPU = user+system "
        "seconds of the target's process tree from /proc. Stellwerk: `stellwerk serve` (one "
        "process, uvloop + httptools), SQLite ledger, router `first`, key check on. LiteLLM: "
        f"{'proxy ' + data['litellm'] if data.get('litellm') else 'not installed in this run'}"
        " from PyPI in its own virtualenv, one worker, no database, master key set.",
    ]
    for name, backend in data.get("backends", {}).items():
        lines += ["", f"### Backend: {name}", ""]
        if "skipped" in backend:
            lines.append(f"Skipped: {backend['skipped']}")
            continue
        if name == "instant":
            lines += ["Headline (instant backend, same run):", "", *headline(backend), ""]
        lines += ["Fixed concurrency (closed loop):", "", *closed_table(backend), ""]
        if levels(backend, "rate"):
            lines += ["Fixed rate (open loop):", "", *rate_table(backend), ""]
        lines += ["Streaming, one client:", "", *stream_table(backend), ""]
        lines += ["Memory:", "", *memory_table(backend), ""]
        stem = name.replace(".", "")
        for plot, title in (
            (plots.throughput(backend, results / f"{stem}-throughput.png"), "throughput"),
            (plots.fixed_rate(backend, results / f"{stem}-fixed-rate.png"), "fixed rate"),
            (plots.memory(backend, results / f"{stem}-memory.png"), "memory"),
        ):
            if plot is not None:
                lines.append(f"![{name}: {title}]({_relative(plot, report_dir)})")
        if name == "instant":
            lines += [
                "",
                "#### Where Stellwerk's time goes",
                "",
                *profile_section(backend.get("profile")),
                "",
                *client_cost_section(backend.get("client_cost")),
            ]
    return lines


def router_section(data: dict[str, Any], results: Path, report_dir: Path) -> list[str]:
    lines = ["## Router decision latency (benchmarks/routing.py)", ""]
    lines += [
        f"Prompts: {data.get('prompts')}. `decide` = `Router.decide` alone (prompt features "
        "included); `select` = the gateway's whole selection step (policy filter, candidates, "
        "decision). Microseconds, one thread.",
        "",
        "| router | candidates | decide p50 us | decide p99 us | select p50 us | select p99 us |",
        "|---|---|---|---|---|---|",
    ]
    for row in data.get("rows", []):
        if "error" in row:
            lines.append(f"| {row['router']} | not measured: {row['error']} | | | | |")
            continue
        d, s = row["decide"], row["select"]
        lines.append(
            f"| {row['router']} | {row['candidates']} | {d['p50_us']:.1f} | {d['p99_us']:.1f} | "
            f"{s['p50_us']:.1f} | {s['p99_us']:.1f} |"
        )
    plot = plots.router(data, results / "router-latency.png")
    if plot is not None:
        lines += ["", f"![router latency]({_relative(plot, report_dir)})"]
    if data.get("team"):
        lines += ["", "The router team's `benchmarks/router.py`, run by the same command:", ""]
        lines.append(data["team"])
    return lines


def ledger_section(data: dict[str, Any]) -> list[str]:
    lines = ["## Ledger write rate", ""]
    if "table" in data:
        return [
            *lines,
            "Output of `benchmarks/ledger.py` (the ledger team's benchmark):",
            "",
            data["table"],
        ]
    lines += [
        f"{data['records']:,} records handed to one `LedgerWriter` by {data['clients']} "
        "concurrent submitters, timed until the last batch is committed:",
        "",
        "| database | records/s |",
        "|---|---|",
    ]
    for name, rate in data["rates"].items():
        lines.append(f"| {name} | {rate if isinstance(rate, str) else f'{rate:,.0f}'} |")
    return lines


def _relative(path: Path, base: Path) -> str:
    try:
        return str(path.resolve().relative_to(base.resolve()))
    except ValueError:
        return str(path)


def _replace_block(text: str, name: str, body: list[str]) -> str:
    start, end = f"<!-- bench:{name}:start -->", f"<!-- bench:{name}:end -->"
    block = "\n".join([start, *body, end])
    pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.DOTALL)
    if pattern.search(text):
        return pattern.sub(lambda _: block, text)
    return text.rstrip("\n") + "\n\n" + block + "\n"


HEADER = """# Benchmarks

What Stellwerk costs in latency, CPU and memory on top of calling a model server directly, next
to LiteLLM's proxy, and how fast its router and ledger are. Everything between `bench:` marker
comments is written by `python -m benchmarks` (see `benchmarks/run.py`); text outside them is
kept when the file is regenerated.
"""


def write(path: Path, results: Path, data: dict[str, Any]) -> None:
    text = path.read_text(encoding="utf-8") if path.exists() else HEADER
    report_dir = path.parent
    if "backends" in data:
        text = _replace_block(text, "gateway", gateway_section(data, results, report_dir))
    if "router" in data:
        text = _replace_block(text, "router", router_section(data["router"], results, report_dir))
    if "ledger" in data:
        text = _replace_block(text, "ledger", ledger_section(data["ledger"]))
    path.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
