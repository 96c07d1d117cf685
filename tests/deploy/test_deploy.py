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
from scripts.runtime_lock import requirement_name, roots, runtime_lock
from typer.testing import CliRunner

from stellwerk.cli.main import build_app
from stellwerk.config import load_config
from stellwerk.errors import ConfigError
from stellwerk.gateway import create_app
from stellwerk.gateway.pending_open import build_pending

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
GATEWAYS = ("gateway-1", "gateway-2")
COMPOSE_FILES = ("compose.yaml", "compose.gpu.yaml", "compose.tls.yaml")


def _compose() -> dict[str, Any]:
    data = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    assert isinstance(data, dict)
    return data


def _validator() -> Draft202012Validator:
    schema_file = resources.files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json"
    return Draft202012Validator(json.loads(schema_file.read_text(encoding="utf-8")))


@pytest.mark.parametrize("name", COMPOSE_FILES)
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


def _env_example() -> dict[str, str]:
    lines = (DEPLOY / "env.example").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def test_every_variable_the_compose_files_need_is_in_env_example() -> None:
    used = {
        name
        for file in COMPOSE_FILES
        for name in re.findall(r"\$\{([A-Z_]+)", (DEPLOY / file).read_text())
    }
    assert used == set(_env_example())


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
    # --env: an environment file that lacks a key fails the check, not the start
    assert "ExecStartPre=/opt/stellwerk/venv/bin/stellwerk config check --env " in unit
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


def test_the_replicas_share_counters_dashboard_sessions_and_have_an_admin_key() -> None:
    """What two replicas need beyond a shared ledger: limits counted in the one Redis (else each
    replica counts its own), the requests waiting for feedback kept there too (else nginx, which
    balances without stickiness, sends half of all feedback to the replica that does not hold its
    request), one session secret (else a dashboard login holds on one replica only), and an
    admin key for the dashboard and the admin API."""
    config = load_config(DEPLOY / "stellwerk.yaml")
    services = _compose()["services"]
    assert config.server.redis_url is not None
    assert config.server.redis_url.startswith("redis://redis:6379/")
    assert "redis" in services
    assert build_pending(config).shared
    gateway_env = services["gateway-1"]["environment"]
    assert config.dashboard.session_secret_env in gateway_env
    admins = [k for d in config.departments for k in d.keys if k.role == "admin"]
    assert admins and all(k.key_env in gateway_env for k in admins)


def test_the_gateway_builds_from_the_deploy_config_with_env_example_s_values() -> None:
    """The gateway resolves every secret the config names (the session secret's length too)
    from the variables compose passes, with the example values once its secrets are filled in:
    a key or the session secret left as ``change-me`` is refused, naming it (too short), so a
    deployment that forgets one does not run with a secret published here."""
    config = load_config(DEPLOY / "stellwerk.yaml")
    example = _env_example()
    passed = _compose()["services"]["gateway-1"]["environment"]
    environ = {
        name: example[m.group(1)] if (m := re.match(r"\$\{([A-Z_]+)", str(value))) else str(value)
        for name, value in passed.items()
    }
    with pytest.raises(ConfigError) as short:
        create_app(config, environ=environ)
    # every short key at once, not one a start (walk28 F10)
    assert "the key 'default-key' in STELLWERK_KEY_DEFAULT has 9" in str(short.value)
    assert "the key 'it-admin' in STELLWERK_ADMIN_KEY has 9" in str(short.value)
    keys = [k.key_env for d in config.departments for k in d.keys if k.key_env]
    filled = {**environ, **{name: "sk-stw-" + "7" * 43 for name in keys}}
    with pytest.raises(ConfigError, match="STELLWERK_SESSION_SECRET"):
        create_app(config, environ=filled)
    signed = {**filled, "STELLWERK_SESSION_SECRET": "5" * 64}
    create_app(config, environ=signed)  # raises ConfigError naming a missing or bad secret


def test_every_image_is_pinned_to_a_version() -> None:
    for file in COMPOSE_FILES:
        for name, service in yaml.safe_load((DEPLOY / file).read_text())["services"].items():
            image = service.get("image")
            if image is None or image == "stellwerk:local":  # built here, from the lock
                continue
            tag = image.rpartition(":")[2] if ":" in image else ""
            # a release, not a series a new minor or patch lands in silently (postgres:17)
            assert re.match(r"\d+\.\d+\.?\d*$", tag), f"{file}: {name} runs {image!r}"
    base = re.search(r"^FROM python:(\S+)$", (DEPLOY / "Dockerfile").read_text(), re.MULTILINE)
    assert base is not None and re.match(r"\d+\.\d+\.\d+-slim$", base.group(1)), base


def test_the_image_installs_the_locked_hash_checked_dependencies() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert "scripts/runtime_lock.py requirements.lock pyproject.toml > runtime.lock" in dockerfile
    assert "pip install --no-cache-dir --require-hashes -r runtime.lock" in dockerfile
    assert "pip install --no-cache-dir --no-deps --no-build-isolation ." in dockerfile
    root = DEPLOY.parent
    lock = runtime_lock(
        (root / "requirements.lock").read_text(), (root / "pyproject.toml").read_text()
    )
    pinned = {requirement_name(line) for line in lock.splitlines() if re.match(r"[a-z]", line)}
    assert roots((root / "pyproject.toml").read_text()) <= pinned
    assert {"uvloop", "httptools", "psycopg-binary", "hatchling"} <= pinned
    assert not {"pytest", "llama-cpp-python", "playwright", "mypy"} & pinned
    blocks = re.split(r"\n(?=[a-z])", lock)
    assert all("--hash=sha256:" in block for block in blocks if re.match(r"[a-z]", block))


def test_the_systemd_install_is_hash_checked_as_the_image_s() -> None:
    """walk28 F6: ``pip install ./stellwerk`` took every dependency unlocked, unchecked."""
    steps = (
        "python3 scripts/runtime_lock.py requirements.lock pyproject.toml >",
        "/opt/stellwerk/venv/bin/pip install --require-hashes -r",
        "/opt/stellwerk/venv/bin/pip install --no-deps --no-build-isolation .",
    )
    for text in (
        (DEPLOY.parent / "docs" / "deploy.md").read_text(),
        (DEPLOY / "stellwerk.service").read_text(),
    ):
        assert all(step in text for step in steps)
        assert "pip install ./stellwerk" not in text


def _http_block(conf: str) -> tuple[str, str]:
    upstream = re.search(r"upstream stellwerk \{.*?\}", conf, re.DOTALL)
    location = re.search(r"location / \{.*?\}", conf, re.DOTALL)
    assert upstream is not None and location is not None
    return upstream.group(0), location.group(0)


def test_tls_at_the_load_balancer_proxies_as_the_plain_config_does() -> None:
    plain = (DEPLOY / "nginx.conf").read_text()
    tls = (DEPLOY / "nginx-tls.conf").read_text()
    assert _http_block(tls) == _http_block(plain)
    assert "listen 8443 ssl;" in tls and "ssl_protocols TLSv1.2 TLSv1.3;" in tls
    # plain HTTP redirects the dashboard's pages (tests/deploy/test_load_balancer.py)
    assert "return 308 https://$host:${STELLWERK_TLS_PORT}$request_uri;" in tls


def test_deploy_md_describes_the_files_as_they_are() -> None:
    text = (DEPLOY.parent / "docs" / "deploy.md").read_text()
    assert "no Redis setting yet" not in text
    for name in sorted(p.name for p in DEPLOY.iterdir() if p.is_file()):
        assert f"deploy/{name}" in text, f"docs/deploy.md does not mention deploy/{name}"
