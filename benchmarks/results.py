"""What one load run measured, whichever tool produced it, and how runs are combined."""

from __future__ import annotations

import math
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import orjson

from benchmarks.loadgen import Sample


def log(message: str) -> None:
    """A benchmark's progress line on stderr, with the time."""
    print(time.strftime("%H:%M:%S"), message, file=sys.stderr, flush=True)


def emit(data: dict[str, Any], out: Path | None) -> None:
    """A benchmark's result: indented JSON on stdout, and into ``out`` when given."""
    text = orjson.dumps(data, option=orjson.OPT_INDENT_2).decode()
    if out is not None:
        out.write_text(text + "\n", encoding="utf-8")
    print(text)


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100), nearest rank; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(0, math.ceil(q / 100 * len(ordered)) - 1)
    return ordered[rank]


@dataclass
class Result:
    """One run against one target. Times in seconds; ``cpu_s`` is the server's CPU time."""

    ok: int
    errors: int
    elapsed: float
    p50: float
    p90: float
    p99: float
    ttft_p50: float = math.nan
    ttft_p99: float = math.nan
    cpu_s: float = math.nan

    @property
    def rate(self) -> float:
        return self.ok / self.elapsed if self.elapsed else 0.0

    @property
    def error_rate(self) -> float:
        total = self.ok + self.errors
        return self.errors / total if total else 0.0

    @property
    def cpu_per_1k(self) -> float:
        return self.cpu_s / self.ok * 1000 if self.ok else math.nan

    def as_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "rate": self.rate,
            "error_rate": self.error_rate,
            "cpu_per_1k": self.cpu_per_1k,
        }

    @classmethod
    def of(cls, sample: Sample) -> Result:
        return cls(
            ok=sample.ok,
            errors=sample.errors,
            elapsed=sample.elapsed,
            p50=percentile(sample.latencies, 50),
            p90=percentile(sample.latencies, 90),
            p99=percentile(sample.latencies, 99),
            ttft_p50=percentile(sample.ttfts, 50),
            ttft_p99=percentile(sample.ttfts, 99),
        )


def median_of(results: Sequence[Result]) -> Result:
    """Field-wise median over repeated rounds (the machine is shared and noisy)."""

    def med(name: str) -> float:
        values = [getattr(r, name) for r in results if not math.isnan(getattr(r, name))]
        return statistics.median(values) if values else math.nan

    elapsed = statistics.median(r.elapsed for r in results)
    rate = statistics.median(r.rate for r in results)
    return Result(
        ok=round(rate * elapsed),
        errors=round(statistics.median(r.errors for r in results)),
        elapsed=elapsed,
        p50=med("p50"),
        p90=med("p90"),
        p99=med("p99"),
        ttft_p50=med("ttft_p50"),
        ttft_p99=med("ttft_p99"),
        cpu_s=statistics.median(r.cpu_s / r.ok * 1000 if r.ok else math.nan for r in results)
        * round(rate * elapsed)
        / 1000,
    )
