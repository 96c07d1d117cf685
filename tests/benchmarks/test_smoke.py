"""The benchmark harness works: a quick run (no LiteLLM) writes a report with the expected
structure and keeps hand-written text; its instant backend speaks the OpenAI API. No timings
are asserted: speed is what the harness measures, not what a test checks."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
from benchmarks.procs import stop_server
from benchmarks.profile import CATEGORIES, classify
from benchmarks.report import _replace_block
from benchmarks.targets import ROOT, start_instant

from benchmarks import instructions

ANALYSIS = "Hand-written analysis that a regenerated report must keep."


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bench")
    (out / "BENCHMARKS.md").write_text(
        f"# Benchmarks\n\n{ANALYSIS}\n\n<!-- bench:gateway:start -->\nold\n"
        "<!-- bench:gateway:end -->\n"
    )
    argv = [sys.executable, "-m", "benchmarks", "--quick", "--litellm", "skip"]
    argv += ["--no-wrk-install", "--report", str(out / "BENCHMARKS.md"), "--results", str(out)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    env.pop("STELLWERK_TEST_POSTGRES_URL", None)  # the smoke run stays on SQLite
    result = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return out


@pytest.mark.slow
def test_quick_run_writes_report_with_all_parts(quick_run: Path) -> None:
    text = (quick_run / "BENCHMARKS.md").read_text()
    assert ANALYSIS in text
    assert "\nold\n" not in text
    for part in ("gateway", "router", "ledger"):
        assert text.count(f"<!-- bench:{part}:start -->") == 1
        assert text.count(f"<!-- bench:{part}:end -->") == 1
    assert "| 1 | Stellwerk |" in text and "| 10 | direct (no gateway) |" in text
    assert "| cores |" in text and "| cpu |" in text
    for png in ("instant-throughput.png", "instant-memory.png", "router-latency.png"):
        assert (quick_run / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_quick_run_data_has_every_cell_without_errors(quick_run: Path) -> None:
    data = json.loads((quick_run / "results.json").read_text())
    cells = data["backends"]["instant"]["cells"]
    seen = {(c["kind"], c["level"], c["target"]) for c in cells}
    for target in ("direct", "stellwerk"):
        assert {("closed", 1, target), ("closed", 10, target), ("rate", 100, target)} <= seen
        assert ("stream", 1, target) in seen
    for cell in cells:
        assert cell["median"]["ok"] > 0 and cell["median"]["errors"] == 0, cell
    streams = [c for c in cells if c["kind"] == "stream"]
    assert all(c["median"]["ttft_p50"] <= c["median"]["p50"] for c in streams)
    assert [r["candidates"] for r in data["router"]["rows"][:3]] == [3, 9, 30]
    assert data["ledger"].get("table") or data["ledger"]["rates"]["SQLite"] > 0
    assert "litellm" not in data["backends"]["instant"]["targets"]


@pytest.fixture
def instant_url(tmp_path: Path) -> Iterator[str]:
    server = start_instant(tmp_path, workers=1)
    try:
        yield server.url
    finally:
        stop_server(server)


def test_instant_backend_speaks_openai(instant_url: str) -> None:
    client = openai.OpenAI(base_url=instant_url + "/v1", api_key="unused", max_retries=0)
    answer = client.chat.completions.create(
        model="any", messages=[{"role": "user", "content": "hi"}]
    )
    assert answer.choices[0].message.content == "Hello from the instant backend."
    assert answer.usage is not None and answer.usage.total_tokens == 19
    stream = client.chat.completions.create(
        model="any", messages=[{"role": "user", "content": "hi"}], stream=True
    )
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == "Hello from the instant backend."
    client.close()


def test_profile_charges_samples_to_the_innermost_known_part(tmp_path: Path) -> None:
    raw = tmp_path / "profile.txt"
    raw.write_text(
        "run (uvicorn/server.py:1);handle (fastapi/routing.py:2);post (httpx/_client.py:3);"
        "wait (asyncio/locks.py:4) 30\n"
        "run (uvicorn/server.py:1);handle (fastapi/routing.py:2);validate (pydantic/main.py:5) 10\n"
        "_bootstrap (threading.py:1);_worker (concurrent/futures/thread.py:81) 60\n"
    )
    found = classify(raw)
    shares = dict(found["categories"])
    assert found["samples"] == 40  # the idle worker thread is left out
    assert shares[CATEGORIES[2][0]] == pytest.approx(0.75)  # asyncio frame skipped over
    assert shares[CATEGORIES[3][0]] == pytest.approx(0.25)


def test_report_replaces_only_its_own_block() -> None:
    text = "intro\n<!-- bench:router:start -->\nold\n<!-- bench:router:end -->\nafter\n"
    new = _replace_block(text, "router", ["new table"])
    assert (
        new == "intro\n<!-- bench:router:start -->\nnew table\n<!-- bench:router:end -->\nafter\n"
    )
    appended = _replace_block("intro\n", "ledger", ["rates"])
    assert appended.endswith("<!-- bench:ledger:start -->\nrates\n<!-- bench:ledger:end -->\n")


@pytest.mark.slow
def test_versions_benchmark_serves_two_commits_side_by_side(tmp_path: Path) -> None:
    """``python -m benchmarks.versions`` serves an older commit's tree beside this checkout and
    reports each one's CPU per request and their ratio."""
    out = tmp_path / "versions.json"
    argv = [sys.executable, "-m", "benchmarks.versions", "--before", "HEAD", "--rounds", "1"]
    argv += ["--duration", "0.5", "--clients", "2", "--rates", "20", "--streams", "0"]
    argv += ["--json", str(out)]
    argv += ["--no-wrk-install"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    data = json.loads(out.read_text())
    versions = {row["version"] for row in data["rows"]}
    assert len(versions) == 2 and any(v.startswith("before@") for v in versions)
    assert all(row["errors"] == 0 and row["cpu_ms_per_request"] > 0 for row in data["rows"])
    assert set(data["cpu_ratio_after_over_before"]) == {"2 clients", "20 req/s"}


@pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind is not installed")
def test_instruction_count_is_read_from_a_real_callgrind_dump(tmp_path: Path) -> None:
    """``benchmarks.instructions`` reads the instruction total of callgrind's own dump, and takes
    a version's idle instructions (its timers) out of a load's count."""
    dump = tmp_path / "callgrind.out"
    subprocess.run(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={dump}", "true"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    total = instructions._totals(dump.read_bytes())
    assert total > 10_000  # even `true` runs the dynamic loader
    cell = instructions.Counted(
        "v", 50, 0, requests=100, instructions=total, seconds=2.0, idle_per_second=total / 10
    )
    assert cell.per_request == pytest.approx(total * 0.8 / 100)


@pytest.mark.slow
def test_validation_benchmark_reads_both_bodies_in_two_code_trees() -> None:
    """``python -m benchmarks.validation`` times reading a chat body in an older commit's tree
    and in this checkout, in alternating child processes, and prints a row per body and tree
    with the ratio of the two (small31); no figure is checked, only that each was measured."""
    argv = [sys.executable, "-m", "benchmarks.validation", "--before", "HEAD", "--rounds", "1"]
    argv += ["--number", "20"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    rows = [
        [cell.strip() for cell in line.strip().strip("|").split("|")]
        for line in result.stdout.splitlines()
        if line.startswith("| ") and not line.startswith("| body ")
    ]
    assert [(row[0], row[1].split(" ")[0]) for row in rows] == [
        ("typical chat", "before"),
        ("typical chat", "after"),
        ("many sampling parameters", "before"),
        ("many sampling parameters", "after"),
    ]
    assert all(float(cell) > 0 for row in rows for cell in row[2:6])
    assert [bool(row[6]) for row in rows] == [False, True, False, True]  # after / before


@pytest.mark.slow
def test_prompt_reading_benchmark_times_two_commits_and_checks_their_readings() -> None:
    """``python -m benchmarks.prompt_reading`` times the router's decision and record noise in
    an older commit's tree and in this checkout, and checks that both read every prompt alike."""
    argv = [sys.executable, "-m", "benchmarks.prompt_reading", "--before", "HEAD"]
    argv += ["--rounds", "1", "--prompts", "3"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    rows = json.loads(result.stdout)
    assert rows and all(1 <= row["prompts"] <= 3 for row in rows)  # a group per length found
    assert all(row["same_readings"] for row in rows)
    assert all(
        row[part][v] > 0
        for row in rows
        for part in ("decide_ms", "noised_ms")
        for v in ("before", "after")
    )


@pytest.mark.slow
@pytest.mark.postgres
def test_hot_path_benchmark_serves_a_governed_gateway_beside_another_commit(tmp_path: Path) -> None:
    """``python -m benchmarks.hot_path`` serves an older commit and this checkout, each routing
    ``auto`` with a key, limits and a PostgreSQL ledger, and reports their CPU per request."""
    if not os.environ.get("STELLWERK_TEST_POSTGRES_URL"):
        pytest.skip("needs STELLWERK_TEST_POSTGRES_URL")
    out = tmp_path / "hot.json"
    argv = [sys.executable, "-m", "benchmarks.hot_path", "--before", "HEAD", "--redis", "off"]
    argv += ["--rounds", "1", "--duration", "1", "--clients", "2", "--stream-count", "5"]
    argv += ["--json", str(out), "--no-wrk-install"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    rows = json.loads(out.read_text())["rows"]
    served = [row for row in rows if not row["server"].startswith("ratio")]
    assert {row["scenario"] for row in served} == {"2 clients", "1 streaming client(s)"}
    assert len(served) == 4 and all(
        r["errors"] == 0 and r["cpu_ms_per_request"] > 0 for r in served
    )
    assert {row["server"] for row in rows if row["server"].startswith("ratio")} == {"ratio off"}
