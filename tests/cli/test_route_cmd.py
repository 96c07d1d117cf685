"""``stellwerk route`` decides as the gateway does: for a key or a department, over the
governance state in the ledger (lifecycle, consent, use cases), saying why each model is out."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import pytest
from typer.testing import CliRunner

from stellwerk.cli.main import build_app

runner = CliRunner()

CONFIG = """
server: {{database_url: "sqlite:///{db}"}}
backends:
  - {{name: local, kind: openai, base_url: "http://127.0.0.1:9"}}
models:
  - {{id: small, backend: local, upstream: s, params_b: 1, size_class: small, data_owner: it,
     hosting: on_prem,
     price: {{input_per_mtok: 0.1, output_per_mtok: 0.1}}}}
  - {{id: large, backend: local, upstream: l, params_b: 70, size_class: large, hosting: on_prem,
     price: {{input_per_mtok: 3.0, output_per_mtok: 3.0}}}}
  - {{id: cloud, backend: local, upstream: c, params_b: 70, size_class: large, hosting: eu_cloud,
     price: {{input_per_mtok: 3.0, output_per_mtok: 3.0}}}}
  - {{id: embedder, backend: local, upstream: e, params_b: 0.1, size_class: small,
     capabilities: [embeddings], hosting: on_prem}}
departments:
  - name: legal
    classification: confidential
    keys: [{{id: legal-app, key_env: LEGAL_KEY}}]
  - name: it
use_cases:
  - {{name: contracts, department: legal, purpose: contract review, allowed_models: [small]}}
"""


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "stellwerk.yaml"
    path.write_text(CONFIG.format(db=tmp_path / "ledger.db"))
    monkeypatch.setenv("LEGAL_KEY", "sk-legal-0123456789abcdef")
    return path


def route(config: Path, *args: str, code: int = 0) -> dict[str, Any]:
    result = runner.invoke(
        build_app(), ["route", "Summarise this contract.", "-c", str(config), "--json", *args]
    )
    assert result.exit_code == code, result.output
    return cast(dict[str, Any], json.loads(result.stdout))


def cli(config: Path, *args: str) -> str:
    result = runner.invoke(build_app(), [*args[:2], "-c", str(config), *args[2:]])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_route_decides_for_a_department_and_says_why_each_model_is_out(config: Path) -> None:
    legal = route(config, "--department", "legal")
    assert legal["caller"]["classification"] == "confidential"
    assert set(legal["ranking"]) == {"small", "large"}
    assert "where confidential data may not go" in legal["excluded"]["cloud"]
    # an embedding-only model is never a chat candidate
    assert "chat" in legal["excluded"]["embedder"]
    it = route(config, "--department", "it")
    assert set(it["ranking"]) == {"small", "large", "cloud"}


def test_route_reads_lifecycle_and_consent_from_the_ledger(config: Path) -> None:
    cli(config, "catalog", "set", "large", "deprecated", "--reason", "replaced")
    cli(config, "catalog", "consent", "small", "withdraw", "--reason", "owner asked")
    it = route(config, "--department", "it")
    assert it["ranking"] == ["cloud"]
    assert "deprecated" in it["excluded"]["large"]
    assert "withdrawn consent" in it["excluded"]["small"]
    # legal may use neither cloud nor the withdrawn and deprecated models, and the embedding
    # model cannot chat: refused with the gateway's own answer, every model's reason listed
    legal = route(config, "--department", "legal", code=1)
    assert (
        "no model allowed for department 'legal' serves chat (only embeddings)"
        in (legal["refused"])
    )
    assert set(legal["excluded"]) == {"small", "large", "cloud", "embedder"}
    assert "model" not in legal


def test_route_decides_for_a_key_config_or_database(config: Path) -> None:
    by_config_key = route(config, "--key", "sk-legal-0123456789abcdef")
    assert by_config_key["caller"] == {
        "key_id": "legal-app",
        "department": "legal",
        "use_case": None,
        "classification": "confidential",
    }
    created = cli(config, "keys", "create", "--department", "it")
    secret = next(w for w in created.split() if w.startswith("sk-"))
    by_database_key = route(config, "--key", secret)
    assert by_database_key["caller"]["department"] == "it"
    assert "cloud" in by_database_key["ranking"]
    unknown = runner.invoke(
        build_app(), ["route", "hi", "-c", str(config), "--key", "sk-not-a-key-0000000000"]
    )
    assert unknown.exit_code == 1
    assert "unknown API key" in unknown.stderr


def test_route_classification_raises_never_lowers(config: Path) -> None:
    raised = route(config, "--department", "it", "--classification", "confidential")
    assert "cloud" not in raised["ranking"]
    lowered = runner.invoke(
        build_app(),
        ["route", "hi", "-c", str(config), "--department", "legal", "--classification", "public"],
    )
    assert lowered.exit_code == 1
    assert "public" in lowered.stderr


def test_route_needs_a_caller_when_departments_are_configured(config: Path) -> None:
    result = runner.invoke(build_app(), ["route", "hi", "-c", str(config)])
    assert result.exit_code == 1
    assert "--department" in result.stderr
    assert "legal, it" in result.stderr
    assert not (config.parent / "ledger.db").exists()  # deciding wrote no ledger


@pytest.mark.parametrize("ledger", [False, True], ids=["config-only", "ledger"])
def test_route_refuses_a_use_case_of_another_department(config: Path, ledger: bool) -> None:
    """No request can run for department it with legal's use case: no decision is shown. The
    config's use cases apply before its ledger exists too (they were "none" then)."""
    if ledger:
        cli(config, "catalog", "consent", "small", "withdraw", "--reason", "owner asked")
    assert (config.parent / "ledger.db").exists() is ledger
    args = ["route", "x", "-c", str(config), "--department", "it", "--use-case", "contracts"]
    result = runner.invoke(build_app(), args)
    assert result.exit_code == 1, result.output
    assert "use case 'contracts' belongs to department 'legal', not 'it'" in result.stderr
    assert result.stdout == ""


def test_route_shows_costs_as_plain_decimals(config: Path) -> None:
    """Not ``3.93e-05``: a cost a reader compares at a glance, the same number as in --json."""
    scores = {s["model"]: s["expected_cost"] for s in route(config, "--department", "it")["scores"]}
    result = runner.invoke(
        build_app(),
        ["route", "Summarise this contract.", "-c", str(config), "--department", "it"],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    assert not re.search(r"\de[-+]\d", result.stdout), result.stdout
    shown = {}
    for line in result.stdout.splitlines():
        cells = [c.strip() for c in line.split("│")]
        if len(cells) > 6 and cells[2] in scores:
            shown[cells[2]] = Decimal(cells[5])
    assert set(shown) == set(scores)
    for model, cost in scores.items():
        assert float(shown[model]) == pytest.approx(cost, rel=0.01)


def test_route_gives_an_operator_every_models_reason_where_a_user_key_gets_its_own(
    config: Path,
) -> None:
    cli(config, "catalog", "consent", "small", "withdraw", "--reason", "owner asked")
    refused = route(config, "--department", "legal", "--use-case", "contracts", code=1)["refused"]
    assert "small: its data owner 'it' has withdrawn consent" in refused
    assert "large: not allowed for use case 'contracts'" in refused
    assert "embedder: not allowed for use case" in refused  # even a model that cannot chat
    assert "not available to this key" not in refused
