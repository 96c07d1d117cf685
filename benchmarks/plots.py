"""PNG plots of a run (matplotlib, Agg backend; imported only when the report is written)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

COLORS = {"direct": "#8c8c8c", "stellwerk": "#1f6feb", "litellm": "#d1242f"}


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _rows(backend: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [row for row in backend.get("cells", []) if row["kind"] == kind]


def throughput(backend: dict[str, Any], path: Path) -> Path | None:
    rows = _rows(backend, "closed")
    if not rows:
        return None
    plt = _pyplot()
    levels = sorted({row["level"] for row in rows})
    targets = backend["targets"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    width = 0.8 / len(targets)
    for i, target in enumerate(targets):
        by_level = {r["level"]: r["median"] for r in rows if r["target"] == target}
        xs = [n + (i - (len(targets) - 1) / 2) * width for n in range(len(levels))]
        rates = [by_level[level]["rate"] if level in by_level else 0 for level in levels]
        left.bar(xs, rates, width, label=target, color=COLORS.get(target))
        if target != "direct":
            added = [
                (by_level[level]["p50"] - _direct(rows, level, "p50")) * 1e3 for level in levels
            ]
            right.plot(range(len(levels)), added, "o-", label=target, color=COLORS.get(target))
    for axis in (left, right):
        axis.set_xticks(range(len(levels)), [str(level) for level in levels])
        axis.set_xlabel("concurrent clients")
        axis.set_yscale("log")
        axis.legend()
        axis.grid(alpha=0.3, which="both")
    left.set_ylabel("requests/s (median of rounds)")
    left.set_title("Throughput, instant backend")
    right.set_ylabel("added p50 latency, ms")
    right.set_title("Latency added over the direct call")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _direct(rows: list[dict[str, Any]], level: int, field: str) -> float:
    for row in rows:
        if row["target"] == "direct" and row["level"] == level:
            value: float = row["median"][field]
            return value
    return 0.0


def fixed_rate(backend: dict[str, Any], path: Path) -> Path | None:
    rows = _rows(backend, "rate")
    if not rows:
        return None
    plt = _pyplot()
    levels = sorted({row["level"] for row in rows})
    fig, axes = plt.subplots(1, len(levels), figsize=(5 * len(levels), 4), squeeze=False)
    for axis, level in zip(axes[0], levels, strict=True):
        targets = [r for r in rows if r["level"] == level]
        names = [r["target"] for r in targets]
        for field, hatch in (("p50", ""), ("p90", "//"), ("p99", "xx")):
            values = [r["median"][field] * 1e3 for r in targets]
            offset = {"p50": -0.27, "p90": 0, "p99": 0.27}[field]
            axis.bar(
                [i + offset for i in range(len(names))],
                values,
                0.25,
                hatch=hatch,
                label=field,
                color=[COLORS.get(n) for n in names],
                edgecolor="black",
            )
        axis.set_xticks(range(len(names)), names)
        axis.set_yscale("log")
        axis.set_ylabel("latency, ms")
        axis.set_title(f"{level} requests/s (open loop)")
        axis.legend()
        axis.grid(alpha=0.3, which="both")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def memory(backend: dict[str, Any], path: Path) -> Path | None:
    series = backend.get("memory") or {}
    if not series:
        return None
    plt = _pyplot()
    fig, axis = plt.subplots(figsize=(9, 3.8))
    for target, points in series.items():
        if points:
            axis.plot(
                [t for t, _ in points],
                [rss / 2**20 for _, rss in points],
                label=target,
                color=COLORS.get(target),
            )
    soak = backend.get("soak")
    if soak:
        axis.axvspan(soak["from_s"], soak["to_s"], alpha=0.1, label="soak: Stellwerk, fixed rate")
    axis.set_xlabel("seconds since the targets started")
    axis.set_ylabel("RSS, MiB (process tree)")
    axis.set_title("Memory over the run (instant backend)")
    axis.legend()
    axis.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def router(data: dict[str, Any], path: Path) -> Path | None:
    rows = [r for r in data.get("rows", []) if "decide" in r]
    if not rows:
        return None
    plt = _pyplot()
    fig, axis = plt.subplots(figsize=(7, 3.8))
    for name in sorted({r["router"] for r in rows}):
        mine = [r for r in rows if r["router"] == name]
        counts = [r["candidates"] for r in mine]
        for step, style in (("decide", "o-"), ("select", "s--")):
            axis.plot(counts, [r[step]["p50_us"] for r in mine], style, label=f"{name} {step} p50")
            axis.plot(counts, [r[step]["p99_us"] for r in mine], style, alpha=0.4)
    axis.set_xlabel("candidates")
    axis.set_ylabel("microseconds (faint: p99)")
    axis.set_yscale("log")
    axis.set_title("Router decision latency")
    axis.legend()
    axis.grid(alpha=0.3, which="both")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
