"""docs/governance.md's walk-through, step by step, on examples/governance.yaml: the CLI and the
admin API against a running gateway (its Ollama backend swapped for the llama.cpp test server),
one ledger beside the config file."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from typer.testing import CliRunner

from stellwerk.cli.main import build_app
from stellwerk.config import load_config
from stellwerk.gateway import create_app
from stellwerk.gateway.server import serve_in_thread
from tests.fixtures.llama import LlamaBackend

pytestmark = pytest.mark.llama

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "governance.yaml"
DOC = ROOT / "docs" / "governance.md"
ENVIRON = {
    "STELLWERK_ADMIN_KEY": "sk-stw-walkthrough-admin-0c1d2e3f4a5b6c7d",
    "STELLWERK_OWNER_KEY": "sk-stw-walkthrough-owner-8e9f0a1b2c3d4e5f",
    "STELLWERK_KEY_VERWALTUNG": "sk-stw-walkthrough-verwaltung-6a7b8c9d",
}
TINY = {"small": "tiny-small", "medium": "tiny-medium", "large": "tiny-large"}


def cli(*args: str) -> str:
    result = CliRunner().invoke(build_app(), list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def test_the_example_is_the_config_the_walk_through_shows() -> None:
    section = DOC.read_text().split("## Walk-through", 1)[1]
    block = re.search(r"```yaml\n(.*?)```", section, re.DOTALL)
    assert block is not None
    assert yaml.safe_load(block.group(1)) == yaml.safe_load(EXAMPLE.read_text())
    assert "examples/governance.yaml" in section
    assert cli("config", "check", str(EXAMPLE)).startswith(f"{EXAMPLE}: valid")


@pytest.fixture
def walkthrough(llama_server: LlamaBackend, tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """The example with its models served by the llama.cpp test server, and the gateway."""
    raw: dict[str, Any] = yaml.safe_load(EXAMPLE.read_text())
    name = raw["backends"][0]["name"]
    raw["backends"] = [
        {"name": name, "kind": "openai", "dialect": "llamacpp", "base_url": llama_server.base_url}
    ]
    for model in raw["models"]:
        model.update(upstream=TINY[model["size_class"]], context_length=1024)
    path = tmp_path / "governance.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    with serve_in_thread(create_app(load_config(path), environ=ENVIRON)) as url:
        yield path, url


def chat(url: str, key: str) -> httpx.Response:
    return httpx.post(
        url + "/v1/chat/completions",
        json={
            "model": "auto",
            "messages": [{"role": "user", "content": "Vertrag?"}],
            "max_tokens": 2,
        },
        headers={"authorization": f"Bearer {key}"},
        timeout=60,
    )


def eventually(check: Any, timeout_s: float = 30) -> Any:
    """``check()``'s result once it is truthy (CLI changes reach the gateway within
    ``governance.refresh_seconds``, usage records within the ledger writer's batch)."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.2)


def test_the_walk_through_runs_as_written(walkthrough: tuple[Path, str]) -> None:
    path, url = walkthrough
    c = str(path)
    admin = {"authorization": f"Bearer {ENVIRON['STELLWERK_ADMIN_KEY']}"}
    owner = {"authorization": f"Bearer {ENVIRON['STELLWERK_OWNER_KEY']}"}

    # 1. review with the CLI, approve through the admin API, as the curl does
    out = cli(
        "catalog", "set", "-c", c, "apertus-8b", "in_review", "--reason", "evaluation started"
    )
    assert out.strip() == "apertus-8b: in_review (version 2)"
    body = b'{"state": "approved", "reason": "board decision"}'
    as_form = httpx.post(  # curl -d without -H 'content-type: application/json'
        url + "/admin/models/apertus-8b/lifecycle",
        content=body,
        headers={**admin, "content-type": "application/x-www-form-urlencoded"},
        timeout=30,
    )
    assert as_form.status_code == 400
    assert "content-type: application/json" in as_form.json()["error"]["message"]
    approved = httpx.post(
        url + "/admin/models/apertus-8b/lifecycle",
        content=body,
        headers={**admin, "content-type": "application/json"},
        timeout=30,
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["lifecycle"] == "approved"

    # 2. a key bound to the use case: confidential, only apertus-8b
    key = cli("keys", "create", "-c", c, "--department", "legal", "--use-case", "contracts")
    key = key.strip()
    answer = eventually(lambda: (r := chat(url, key)).status_code == 200 and r)
    assert answer, chat(url, key).text
    assert answer.headers["x-stellwerk-model"] == "apertus-8b"

    # consent: the data owner's owner key withdraws it, and the model serves no request
    withdrawn = httpx.post(
        url + "/admin/models/apertus-8b/consent",
        json={"consent": False, "reason": "data licence under review"},
        headers=owner,
        timeout=30,
    )
    assert withdrawn.status_code == 200, withdrawn.text
    refused = chat(url, key)
    assert refused.status_code == 403
    # no longer a model the key sees (GET /v1/models leaves it out): counted, not named
    message = refused.json()["error"]["message"]
    assert message.endswith(": 3 other models are not available to this key"), message
    assert "apertus-8b" not in message
    cli("catalog", "consent", "-c", c, "apertus-8b", "grant", "--reason", "licence confirmed")
    assert eventually(lambda: chat(url, key).status_code == 200)

    # 3. the report by use case, and the audit log
    month = datetime.now(UTC).strftime("%Y-%m")
    report = eventually(
        lambda: "contracts" in (r := cli("report", "usage", "-c", c, "--month", month,
                                         "--by", "use-case")) and r
    )  # fmt: skip
    assert report and "contracts" in report
    audit = cli("audit", "-c", c)
    for action in ("model.lifecycle", "model.consent", "key.create"):
        assert action in audit, audit
