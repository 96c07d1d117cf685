"""The budget path's benchmark runs its variants side by side and keeps what it measured
(no timing is asserted: speed is what it measures, not what a test checks)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import budget_path

pytestmark = pytest.mark.redis


def test_the_budget_path_benchmark_measures_every_variant(redis_url: str, tmp_path: Path) -> None:
    results = tmp_path / "budget-path.json"
    argv = ["--rounds", "1", "--seconds", "0.2", "--clients", "1", "2", "--results", str(results)]
    budget_path.main(argv)
    medians = json.loads(results.read_text())["medians"]
    assert set(medians) == {"1", "2"}
    for by_variant in medians.values():
        assert set(by_variant) == set(budget_path.VARIANTS)
        assert all(figures["rate"] > 0 for figures in by_variant.values())
