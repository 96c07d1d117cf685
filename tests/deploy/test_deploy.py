"""deploy/: the compose file is valid Compose (checked against the Compose Specification's JSON
schema as vendored by check-jsonschema; no Docker engine here), its structure is the one
docs/deploy.md describes, and the systemd unit passes ``systemd-analyze verify``."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator
from typer.testing import CliRunner

from stellwerk.cli.main import build_app
from stellwerk.config import load_config

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
GATEWAYS = ("gateway-1", "gateway-2")


def _compose() -> dict[str, Any]:
    data = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    assert isinstance(data, dict)
    return data


def _validator() -> Draft202012Validator:
    schema_file = resources.files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json"
    return Draft202012Validator(json.loads(schema_file.read_text(encoding="utf-8")))


@pytest.mark.parametrize("name", ["compose.yaml", "compose.gpu.yaml"])
def test_compose_files_follow_the_compose_specification(name: str) -> None:
    document = yaml.safe_load((DEPLOY / name).read_text())
    errors = sorted(_validator().iter_errors(document), key=str)
    assert not errors, "\n".join(e.message for e in errors)


@pytest.mark.parametrize(
    "break_it",
    [
        lambda c: c["services"]["redis"].update(imagee="redis:7"),
        lambda c: c["services"]["lb"].update(ports="8080:8080"),
        lambda c: c["services"]["gateway-1"].update(depends_on={"postgres": {"condition": "up"}}),
    ],
    ids=["unknown-key", "ports-not-a-list", "bad-depends-condition"],
)
def test_the_schema_check_catches_mistakes(break_it: Any) -> None:
    compose = _compose()
    break_it(compose)
    assert list(_validator().iter_errors(compose))


def test_two_identical_gateway_replicas_behind_the_load_balancer() -> None:
    services = _compose()["services"]
    first, second = (services[name] for name in GATEWAYS)
    for key in ("build", "image", "command", "environment", "volumes", "healthcheck"):
        assert first[key] == second[key], key
    assert "ports" not in first and "ports" not in second, "only the load balancer is published"
    assert first["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert first["depends_on"]["redis"]["condition"] == "service_healthy"
    assert second["depends_on"]["gateway-1"]["condition"] == "service_healthy"
    assert set(services["lb"]["depends_on"]) == set(GATEWAYS)
    published = [name for name, svc in services.items() if "ports" in svc]
    assert published == ["lb"]
    nginx = (DEPLOY / "nginx.conf").read_text()
    upstreams = re.findall(r"^\s*server (\S+):8080", nginx, re.MULTILINE)
    assert sorted(upstreams) == sorted(GATEWAYS)
    assert "proxy_buffering off;" in nginx, "streamed answers must not be buffered"


def test_every_variable_the_compose_file_needs_is_in_env_example() -> None:
    used = set(re.findall(r"\$\{([A-Z_]+)", (DEPLOY / "compose.yaml").read_text()))
    documented = {
        line.split("=", 1)[0]
        for line in (DEPLOY / "env.example").read_text().splitlines()
        if line and not line.startswith("#")
    }
    assert used == documented


def test_the_mounted_gateway_config_is_valid_and_points_at_the_services() -> None:
    config = load_config(DEPLOY / "stellwerk.yaml")
    services = _compose()["services"]
    backend_hosts = {b.base_url.split("//")[1].split(":")[0] for b in config.backends}
    assert backend_hosts <= set(services)
    assert "@postgres:5432/" in config.server.database_url
    assert ":" not in config.server.database_url.split("//")[1].split("@")[0], "no password"
    gateway_env = services["gateway-1"]["environment"]
    for department in config.departments:
        for key in department.keys:
            assert key.key_env in gateway_env
    assert config.server.port == 8080 and config.server.host == "0.0.0.0"


def test_the_unit_s_config_check_command_exists() -> None:
    result = CliRunner().invoke(build_app(), ["config", "check", str(DEPLOY / "stellwerk.yaml")])
    assert result.exit_code == 0, result.output
    unit = (DEPLOY / "stellwerk.service").read_text()
    assert "ExecStartPre=/opt/stellwerk/venv/bin/stellwerk config check " in unit
    assert "ExecStart=/opt/stellwerk/venv/bin/stellwerk serve --config " in unit


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not found")
def test_systemd_unit_verifies_cleanly(tmp_path: Path) -> None:
    """``systemd-analyze verify`` checks keys and values and that ExecStart is executable, so
    the install path is pointed at an executable that exists here."""
    unit = (DEPLOY / "stellwerk.service").read_text()
    executable = shutil.which("python3")
    assert executable is not None
    (tmp_path / "stellwerk.service").write_text(
        unit.replace("/opt/stellwerk/venv/bin/stellwerk", executable)
    )
    result = subprocess.run(
        ["systemd-analyze", "verify", str(tmp_path / "stellwerk.service")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", result.stderr
