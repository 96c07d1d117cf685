"""``stellwerk keys create`` and ``keys list`` and a key's data class: a key's own class may
raise its use case's and department's, never lower it, and the listing shows the class its
requests run under (walk 6o HIGH-1), with the reason of a new key in the audit (LOW-3)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from stellwerk.calibration.records import CalibrationStore
from stellwerk.cli.main import build_app
from stellwerk.config import load_config
from stellwerk.governance.service import Governance
from stellwerk.ledger.ledger import open_ledger
from tests.governance.factories import model


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    raw = {
        "server": {"database_url": f"sqlite:///{tmp_path / 'ledger.db'}"},
        "backends": [{"name": "local", "kind": "openai", "base_url": "http://127.0.0.1:9"}],
        "models": [model("mistral-3b")],
        "departments": [
            {"name": "legal", "classification": "confidential"},
            {"name": "press", "classification": "public"},
        ],
        "use_cases": [
            {"name": "contracts", "department": "legal", "classification": "confidential"},
            {"name": "releases", "department": "press", "classification": "public"},
        ],
    }
    path = tmp_path / "stellwerk.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(build_app(), list(args))
    return result.exit_code, result.stdout, result.stderr


def create(config_path: Path, *args: str) -> str:
    """A new key's id."""
    code, _, err = run("keys", "create", "-c", str(config_path), *args)
    assert code == 0, err
    return err.split("key id ")[1].split()[0]


def listing(config_path: Path) -> dict[str, list[str]]:
    code, out, err = run("keys", "list", "-c", str(config_path))
    assert code == 0, err
    header, *lines = out.splitlines()
    assert "class" in header and "own class" in header
    return {line.split()[0]: line.split() for line in lines}


def test_a_key_below_its_use_case_is_refused(config_path: Path) -> None:
    code, out, err = run(
        "keys", "create", "-c", str(config_path), "--department", "legal",
        "--use-case", "contracts", "--classification", "public",
    )  # fmt: skip
    assert (code, out) == (2, "")
    assert " ".join(err.split()).startswith(
        "error: classification public is below the classification confidential of use case"
        " 'contracts' and department 'legal'; a key's own classification may raise its use"
        " case's and department's, never lower it"
    )
    assert listing(config_path) == {}
    assert "key.create" not in run("audit", "-c", str(config_path))[1]


def test_keys_list_shows_the_class_a_key_runs_under_and_its_own(config_path: Path) -> None:
    plain = create(config_path, "--department", "press", "--use-case", "releases")
    raised = create(
        config_path, "--department", "press", "--use-case", "releases", "--classification",
        "internal",
    )  # fmt: skip
    legal = create(config_path, "--department", "legal")
    rows = listing(config_path)
    assert rows[plain][4:6] == ["public", "-"]
    assert rows[raised][4:6] == ["internal", "internal"]
    assert rows[legal][4:6] == ["confidential", "-"]

    # the use case is raised (the admin API or the dashboard, here its service): both keys follow
    config = load_config(config_path)
    ledger = open_ledger(config.server.database_url)
    try:
        gov = Governance(ledger, config, evaluated=CalibrationStore(ledger).evaluated)
        releases = gov.admin.use_cases.get("releases")
        secret = releases.model_copy(update={"classification": "secret"})
        gov.admin.use_cases.update(secret, actor="admin-1", reason="embargoed")
    finally:
        ledger.close()
    rows = listing(config_path)
    assert rows[plain][4:6] == ["secret", "-"]
    assert rows[raised][4:6] == ["secret", "internal"]


def test_a_new_keys_reason_goes_into_the_audit(config_path: Path) -> None:
    c = str(config_path)
    key_id = create(config_path, "--department", "legal", "--reason", "  ticket 4711 ")
    code, out, err = run("audit", "-c", c, "--action", "key.create")
    assert code == 0, err
    line = next(x for x in out.splitlines() if key_id in x)
    assert '"reason":"ticket 4711"' in line
    # a blank reason is refused as the API refuses it, and makes no key
    code, _, err = run("keys", "create", "-c", c, "--department", "legal", "--reason", " ")
    assert code == 2
    assert "give a reason: it goes into the audit log" in err
    assert list(listing(config_path)) == [key_id]


def test_use_cases_list_shows_the_class_that_applies_and_its_own(config_path: Path) -> None:
    """A use case below its department's class (summaries, internal, in confidential legal)
    runs its keys' requests as the department's: the listing says so beside its own class, as
    ``keys list`` does for a key."""
    config = load_config(config_path)
    ledger = open_ledger(config.server.database_url)
    try:
        gov = Governance(ledger, config, evaluated=CalibrationStore(ledger).evaluated)
        gov.start()
        below = gov.admin.use_cases.get("contracts").model_copy(
            update={"name": "summaries", "classification": "internal"}
        )
        gov.admin.use_cases.create(below, actor="admin-1", reason="r")
    finally:
        ledger.close()
    code, out, err = run("use-cases", "list", "-c", str(config_path))
    assert code == 0, err
    header, *lines = out.splitlines()
    assert header.split()[:8] == [
        "use", "case", "department", "risk", "tier", "class", "own", "class"
    ]  # fmt: skip
    rows = {line.split()[0]: line.split()[1:] for line in lines}
    assert rows == {
        "contracts": ["legal", "minimal", "confidential", "confidential", "any"],
        "releases": ["press", "minimal", "public", "public", "any"],
        "summaries": ["legal", "minimal", "confidential", "internal", "any"],
    }
    code, out, _ = run("use-cases", "list", "-c", str(config_path), "--department", "press")
    assert [line.split()[0] for line in out.splitlines()[1:]] == ["releases"]
