"""BENCHMARKS.md from a run's data. Each part is written between its own marker comments, so a
new run replaces only the generated parts and text around them (analysis, other teams' sections)
stays as it is."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks import plots

TARGET_ORDER = ("direct", "stellwerk", "litellm")
NAMES = {"direct": "direct (no gateway)", "stellwerk": "Stellwerk", "litellm": "LiteLLM proxy"}


def _ms(seconds: float) -> str:
    if seconds is None or math.isnan(seconds):
        return "-"
    value = seconds * 1e3
    return (
        f"{value:.2f}"
        if abs(value) < 10
        else f"{value:.1f}"
        if abs(value) < 100
        else f"{value:.0f}"
    )


def _num(value: float, digits: int = 0) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:,.{digits}f}"


def _ratio(a: float, b: float) -> str:
    if not a or not b or math.isnan(a) or math.isnan(b):
        return "-"
    return f"{a / b:.2f}" if a / b < 10 else f"{a / b:.0f}"


def _cell(backend: dict[str, Any], kind: str, level: int, target: str) -> dict[str, Any] | None:
    for row in backend.get("cells", []):
        if (row["kind"], row["level"], row["target"]) == (kind, level, target):
            median: dict[str, Any] = row["median"]
            return median
    return None


def _added(backend: dict[str, Any], kind: str, level: int, target: str, field: str) -> float:
    mine, direct = _cell(backend, kind, level, target), _cell(backend, kind, level, "direct")
    if mine is None or direct is None:
        return math.nan
    return float(mine[field] - direct[field])


def _levels(backend: dict[str, Any], kind: str) -> list[int]:
    return sorted({row["level"] for row in backend.get("cells", []) if row["kind"] == kind})


def _targets(backend: dict[str, Any]) -> list[str]:
    return [t for t in TARGET_ORDER if t in backend.get("targets", [])]


def headline(backend: dict[str, Any]) -> list[str]:
    closed, rates = _levels(backend, "closed"), _levels(backend, "rate")
    if not closed:
        return []
    busy = 50 if 50 in closed else closed[-1]
    one = 1 if 1 in closed else closed[0]
    rate = 500 if 500 in rates else (rates[-1] if rates else None)
    has_litellm = "litellm" in _targets(backend)

    def pair(get: Callable[[str], float]) -> tuple[float, float]:
        return get("stellwerk"), get("litellm") if has_litellm else math.nan

    def rps(target: str) -> float:
        cell = _cell(backend, "closed", busy, target)
        return float(cell["rate"]) if cell else math.nan

    def cpu(target: str) -> float:
        cell = _cell(backend, "closed", busy, target)
        return float(cell["cpu_per_1k"]) if cell else math.nan

    rows = [
        ("| measure | Stellwerk | LiteLLM proxy | Stellwerk / LiteLLM | target |"),
        "|---|---|---|---|---|",
    ]
    s, lite = pair(rps)
    rows.append(
        f"| requests/s at {busy} clients | {_num(s)} | {_num(lite)} | {_ratio(s, lite)} | "
        f">= 10x: {_verdict(s / lite >= 10 if lite else None)} |"
    )
    s, lite = pair(lambda t: _added(backend, "closed", one, t, "p50"))
    rows.append(
        f"| added p50 latency, {one} client (ms) | {_ms(s)} | {_ms(lite)} | {_ratio(s, lite)} | "
        f"<= 0.1x: {_verdict(s / lite <= 0.1 if lite else None)} |"
    )
    if rate is not None:
        s, lite = pair(lambda t: _added(backend, "rate", rate, t, "p99"))
        rows.append(
            f"| added p99 latency at {rate} req/s (ms) | {_ms(s)} | {_ms(lite)} | "
            f"{_ratio(s, lite)} | <= 5 ms: {_verdict(s <= 0.005 if not math.isnan(s) else None)} |"
        )
    s, lite = pair(lambda t: _added(backend, "stream", 1, t, "ttft_p50"))
    rows.append(
        f"| added time to first token p50, streaming (ms) | {_ms(s)} | {_ms(lite)} | "
        f"{_ratio(s, lite)} | |"
    )
    s, lite = pair(cpu)
    rows.append(
        f"| CPU seconds per 1,000 requests at {busy} clients | {_num(s, 2)} | {_num(lite, 2)} | "
        f"{_ratio(s, lite)} | |"
    )
    s, lite = pair(lambda t: 1000 / cpu(t) if cpu(t) else math.nan)
    rows.append(
        f"| requests per CPU-second at {busy} clients (the ceiling on one free core) | {_num(s)} "
        f"| {_num(lite)} | {_ratio(s, lite)} | >= 10x: "
        f"{_verdict(s / lite >= 10 if lite and not math.isnan(lite) else None)} |"
    )
    peaks = backend.get("peak_rss", {})
    s, lite = peaks.get("stellwerk", math.nan), peaks.get("litellm", math.nan)
    rows.append(
        f"| peak RSS (MiB) | {_num(s / 2**20)} | {_num(lite / 2**20)} | {_ratio(s, lite)} | |"
    )
    return rows


def _verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else "**met**" if ok else "**not met**"


def closed_table(backend: dict[str, Any]) -> list[str]:
    rows = [
        "| clients | target | req/s | p50 ms | p90 ms | p99 ms | added p50 ms | added p99 ms "
        "| errors | CPU s / 1k req |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for level in _levels(backend, "closed"):
        for target in _targets(backend):
            cell = _cell(backend, "closed", level, target)
            if cell is None:
                continue
            added = target != "direct"
            if not cell["ok"]:
                rows.append(
                    f"| {level} | {NAMES[target]} | 0 (median of rounds: most rounds finished no "
                    f"request within the {cell['elapsed']:.0f} s cell) | - | - | - | - | - | "
                    f"{cell['errors']} | - |"
                )
                continue
            rows.append(
                f"| {level} | {NAMES[target]} | {_num(cell['rate'])} | {_ms(cell['p50'])} | "
                f"{_ms(cell['p90'])} | {_ms(cell['p99'])} | "
                f"{_ms(_added(backend, 'closed', level, target, 'p50')) if added else ''} | "
                f"{_ms(_added(backend, 'closed', level, target, 'p99')) if added else ''} | "
                f"{cell['errors']} | {_num(cell['cpu_per_1k'], 2)} |"
            )
    return rows


def rate_table(backend: dict[str, Any]) -> list[str]:
    rows = [
        "| offered req/s | target | served req/s | p50 ms | p90 ms | p99 ms | added p50 ms "
        "| added p99 ms | error rate | CPU s / 1k req |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for level in _levels(backend, "rate"):
        for target in _targets(backend):
            cell = _cell(backend, "rate", level, target)
            if cell is None:
                continue
            added = target != "direct"
            rows.append(
                f"| {level} | {NAMES[target]} | {_num(cell['rate'])} | {_ms(cell['p50'])} | "
                f"{_ms(cell['p90'])} | {_ms(cell['p99'])} | "
                f"{_ms(_added(backend, 'rate', level, target, 'p50')) if added else ''} | "
                f"{_ms(_added(backend, 'rate', level, target, 'p99')) if added else ''} | "
                f"{cell['error_rate'] * 100:.1f} % | {_num(cell['cpu_per_1k'], 2)} |"
            )
    return rows


def stream_table(backend: dict[str, Any]) -> list[str]:
    rows = [
        "| target | TTFT p50 ms | TTFT p99 ms | added TTFT p50 ms | whole stream p50 ms | errors |",
        "|---|---|---|---|---|---|",
    ]
    for target in _targets(backend):
        cell = _cell(backend, "stream", 1, target)
        if cell is None:
            continue
        added = _ms(_added(backend, "stream", 1, target, "ttft_p50")) if target != "direct" else ""
        rows.append(
            f"| {NAMES[target]} | {_ms(cell['ttft_p50'])} | {_ms(cell['ttft_p99'])} | {added} | "
            f"{_ms(cell['p50'])} | {cell['errors']} |"
        )
    return rows


def memory_table(backend: dict[str, Any]) -> list[str]:
    rows = ["| target | RSS at start MiB | peak RSS MiB | RSS at end MiB |", "|---|---|---|---|"]
    for target in _targets(backend):
        points = backend.get("memory", {}).get(target) or []
        if not points:
            continue
        first, last = points[0][1] / 2**20, points[-1][1] / 2**20
        peak = max(rss for _, rss in points) / 2**20
        rows.append(f"| {NAMES[target]} | {first:.0f} | {peak:.0f} | {last:.0f} |")
    soak = backend.get("soak")
    if soak:
        rows.append("")
        rows.append(
            f"Soak: Stellwerk alone at {soak['rate']} req/s for {soak['seconds']:.0f} s "
            f"({soak['ok']:,} requests, {soak['errors']} errors, p99 {_ms(soak['p99'])} ms): "
            f"RSS {soak['rss_start'] / 2**20:.0f} MiB at its start, "
            f"{soak['rss_end'] / 2**20:.0f} MiB at its end "
            f"({soak['slope_mib_per_min']:+.2f} MiB per minute, least squares)."
        )
    return rows


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
        if _levels(backend, "rate"):
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
