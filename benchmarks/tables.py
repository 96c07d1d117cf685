"""The gateway tables of BENCHMARKS.md (headline, closed loop, fixed rate, streams, memory)
from a backend's cells: medians over rounds, *added* = target minus direct in the same run."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

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


def levels(backend: dict[str, Any], kind: str) -> list[int]:
    return sorted({row["level"] for row in backend.get("cells", []) if row["kind"] == kind})


def _targets(backend: dict[str, Any]) -> list[str]:
    return [t for t in TARGET_ORDER if t in backend.get("targets", [])]


def headline(backend: dict[str, Any]) -> list[str]:
    closed, rates = levels(backend, "closed"), levels(backend, "rate")
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
    for level in levels(backend, "closed"):
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
    for level in levels(backend, "rate"):
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
            f"({soak['slope_mib_per_min']:+.2f} MiB per minute over the soak, "
            f"{_late_slope(backend, soak):+.2f} over its second half; least squares)."
        )
    return rows


def _late_slope(backend: dict[str, Any], soak: dict[str, Any]) -> float:
    """MiB per minute of Stellwerk's RSS over the second half of the soak (after warm-up)."""
    middle = (soak["from_s"] + soak["to_s"]) / 2
    series: list[tuple[float, int]] = backend.get("memory", {}).get("stellwerk", [])
    points = [(t, rss) for t, rss in series if middle <= t <= soak["to_s"]]
    if len(points) < 2:
        return math.nan
    mean_t = sum(t for t, _ in points) / len(points)
    mean_r = sum(r for _, r in points) / len(points)
    num = sum((t - mean_t) * (r - mean_r) for t, r in points)
    den = sum((t - mean_t) ** 2 for t, _ in points) or 1.0
    return num / den * 60 / 2**20
