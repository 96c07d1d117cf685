"""``stellwerk demo``: one command, five lines on stdout (a user key, an admin key, the config
file it wrote, the dashboard), a working endpoint that every other command can be pointed at,
and a clean stop."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import openai
import pytest
import yaml

from stellwerk.calibration.records import CalibrationStore
from stellwerk.ledger.ledger import open_ledger
from tests.dashboard.client import login
from tests.fixtures.routing_data import OPEN9, rows

pytestmark = pytest.mark.llama

REPO = Path(__file__).resolve().parents[2]
NAMES = (
    "OPENAI_BASE_URL",
    "OPENAI_API_KEY",
    "STELLWERK_ADMIN_KEY",
    "STELLWERK_CONFIG",
    "STELLWERK_DASHBOARD",
)


def _env() -> dict[str, str]:
    path = os.pathsep.join([str(REPO / "src"), str(REPO)])
    return {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": path}


def stellwerk(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """A CLI command as a user runs it, from ``cwd``."""
    return subprocess.run(
        [sys.executable, "-m", "stellwerk", *args],
        cwd=cwd,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


@pytest.fixture
def demo(
    llama_server: object, tmp_path: Path
) -> Iterator[tuple[dict[str, str], subprocess.Popen[str]]]:
    # llama_server: the demo needs llama-cpp-python just as that fixture does (skip or fail alike)
    process = subprocess.Popen(
        [sys.executable, "-m", "stellwerk", "demo", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env=_env(),
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline().strip() for _ in NAMES]
        assert [line.split("=", 1)[0] for line in lines] == list(NAMES), lines
        yield dict(line.split("=", 1) for line in lines), process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.communicate(timeout=60)


def test_demo_prints_its_keys_config_and_dashboard_serves_and_stops_cleanly(
    demo: tuple[dict[str, str], subprocess.Popen[str]],
) -> None:
    out, process = demo
    base_url, key = out["OPENAI_BASE_URL"], out["OPENAI_API_KEY"]
    assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/v1")
    assert key.startswith("sk-stw-demo-")
    assert out["STELLWERK_DASHBOARD"] == base_url.removesuffix("/v1") + "/dashboard"
    with openai.OpenAI(base_url=base_url, api_key=key, max_retries=0) as client:
        answer = client.chat.completions.create(
            model="auto", messages=[{"role": "user", "content": "Hallo"}], max_tokens=4
        )
    assert answer.choices[0].message.content is not None
    assert answer.model in {"tiny-small", "tiny-medium", "tiny-large"}
    process.send_signal(signal.SIGTERM)
    rest, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert rest == ""  # nothing after the five lines
    assert "random" in err and "stellwerk serve --config" in err
    assert out["STELLWERK_DASHBOARD"] in err and out["STELLWERK_CONFIG"] in err
    assert not Path(out["STELLWERK_CONFIG"]).exists()  # its temporary folder is gone


def test_the_admin_key_opens_the_dashboard_and_the_admin_api_the_user_key_does_not(
    demo: tuple[dict[str, str], subprocess.Popen[str]],
) -> None:
    out, _ = demo
    gateway = out["OPENAI_BASE_URL"].removesuffix("/v1")
    for key, status in ((out["STELLWERK_ADMIN_KEY"], 200), (out["OPENAI_API_KEY"], 403)):
        answer = httpx.get(
            gateway + "/admin/models", headers={"authorization": f"Bearer {key}"}, timeout=30
        )
        assert answer.status_code == status, answer.text
    with login(gateway, out["STELLWERK_ADMIN_KEY"]) as (client, answer):
        assert answer.status_code == 303
        page = client.get("/dashboard")
        assert page.status_code == 200
        assert 'action="/dashboard/logout"' in page.text  # logged in, not the login page


def test_every_command_works_against_the_config_the_demo_wrote(
    demo: tuple[dict[str, str], subprocess.Popen[str]], tmp_path: Path
) -> None:
    """Run from another folder, as an operator would: the CLI opens the demo's ledger (a key it
    makes works on the running gateway), sees its models and traffic, routes, and finds the
    demo's backend from the address in the file."""
    out, process = demo
    config = out["STELLWERK_CONFIG"]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert stellwerk("config", "check", config, cwd=elsewhere).returncode == 0

    made = stellwerk("keys", "create", "-c", config, "--department", "demo", cwd=elsewhere)
    assert made.returncode == 0, made.stderr
    new_key = made.stdout.strip()
    deadline = time.monotonic() + 30  # the gateway reloads its keys every refresh_seconds
    while True:
        answer = httpx.get(
            out["OPENAI_BASE_URL"] + "/models",
            headers={"authorization": f"Bearer {new_key}"},
            timeout=30,
        )
        if answer.status_code == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert answer.status_code == 200, answer.text

    catalog = stellwerk("catalog", "list", "-c", config, cwd=elsewhere)
    assert catalog.returncode == 0, catalog.stderr
    assert "tiny-large" in catalog.stdout

    month = datetime.now(UTC).strftime("%Y-%m")
    deadline = time.monotonic() + 30  # the ledger's writer stores the sample traffic in batches
    while True:
        report = stellwerk(
            "report", "usage", "-c", config, "--month", month, "--format", "csv", cwd=elsewhere
        )
        assert report.returncode == 0, report.stderr
        if "demo," in report.stdout or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert "demo," in report.stdout

    # as the notice says: for the key the demo printed, deciding as the gateway would
    key = out["OPENAI_API_KEY"]
    routed = stellwerk("route", "--config", config, "--key", key, "Hallo", cwd=elsewhere)
    assert routed.returncode == 0, routed.stderr
    assert "tiny-" in routed.stdout and "for department demo" in routed.stdout

    # the init example exactly as the demo printed it (its notice, before the five lines)
    assert process.stderr is not None
    printed = iter(process.stderr.readline, "")
    example = next(line for line in printed if "stellwerk init --discover" in line)
    found = stellwerk(*shlex.split(example)[1:], cwd=elsewhere)
    assert found.returncode == 0, found.stdout + found.stderr
    discovered = yaml.safe_load((elsewhere / "discovered.yaml").read_text())
    served = yaml.safe_load(Path(config).read_text())["models"]
    assert {m["upstream"]: (m["params_b"], m["hosting"]) for m in discovered["models"]} == {
        m["upstream"]: (m["params_b"], m["hosting"]) for m in served
    }
    assert discovered["backends"][0]["dialect"] == "llamacpp"  # as the demo's own backend

    bank = elsewhere / "bank.jsonl"
    short = [r for r in rows(OPEN9) if r["task"] == "gsm8k" and len(r["prompt"]) < 400][:2]
    bank.write_text("".join(json.dumps(r) + "\n" for r in short), encoding="utf-8")
    calibrated = stellwerk(
        "calibrate", "-c", config, "--bank", "bank.jsonl", "--max-tokens", "8", cwd=elsewhere
    )
    assert calibrated.returncode == 0, calibrated.stderr
    ledger = open_ledger(f"sqlite:///{Path(config).parent / 'ledger.db'}")
    try:  # the evaluation records are in the demo's ledger, where its dashboard reads them
        assert {"tiny-small", "tiny-medium", "tiny-large"} <= set(CalibrationStore(ledger).latest())
    finally:
        ledger.close()

    assert not [p.name for p in elsewhere.iterdir() if ".db" in p.name]  # no stray ledger


def test_the_demo_says_where_its_command_is_when_the_shell_cannot_find_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`./run demo` puts its environment on the PATH it hands the demo; the operator's other
    terminals have the PATH `./run` was started with (STELLWERK_OUTER_PATH)."""
    from stellwerk.cli.demo_cmd import _path_note

    monkeypatch.setenv("STELLWERK_OUTER_PATH", "/usr/bin:/bin")
    note = _path_note()
    here = Path(sys.executable).parent
    assert f"export PATH={here}:$PATH" in note
    # from a checkout, its own sources: the shared environment runs the checkout set up last
    src = Path(__file__).resolve().parents[2] / "src"
    assert f"PYTHONPATH={src}`" in note
    monkeypatch.setenv("STELLWERK_OUTER_PATH", f"{here}:/usr/bin")
    assert _path_note() == ""
