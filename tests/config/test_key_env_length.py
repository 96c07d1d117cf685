"""A key given by ``key_env`` shorter than 16 characters is refused where the gateway reads it
(its start, ``stellwerk serve``, ``stellwerk config check --env``), naming the key and its
variable, never the value: the ``config.load`` audit entry keeps the first 12 hex digits of its
SHA-256, from which a short key is guessed offline. A key the CLI makes is long enough."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from stellwerk.cli.main import build_app
from stellwerk.config import parse_config
from stellwerk.errors import ConfigError
from stellwerk.gateway import create_app
from stellwerk.governance.keys import generate_key
from tests.config.test_config import MINIMAL, STATED, write

ADMIN = {"id": "admin", "role": "admin", "key_env": "ADMIN_KEY"}
RAW = {**MINIMAL, "departments": [{**MINIMAL["departments"][0], "keys": [ADMIN]}]}
LONG = "sk-stw-" + "a" * 40


def _refusal(value: str) -> str:
    return (
        f"departments.0.keys.0.key_env: the key 'admin' in ADMIN_KEY has {len(value)}"
        ' characters; use at least 16, random (e.g. echo "sk-stw-$(openssl rand -hex 32)")'
    )


@pytest.mark.parametrize("value", ["hunter2", "letmein-1234567"])
def test_a_short_key_stops_the_gateway_naming_the_key_and_its_variable(value: str) -> None:
    with pytest.raises(ConfigError) as info:
        create_app(parse_config(RAW), environ={"ADMIN_KEY": value})
    assert str(info.value) == _refusal(value)
    assert value not in str(info.value)


def test_config_check_names_a_short_key_as_serve_would(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = str(write(tmp_path, {**RAW, "models": [STATED]}))
    monkeypatch.setenv("ADMIN_KEY", "admin-123")
    strict = CliRunner().invoke(build_app(), ["config", "check", "--env", path])
    assert strict.exit_code == 2
    assert f"error: {_refusal('admin-123')}" in strict.output
    assert "admin-123" not in strict.output.replace(_refusal("admin-123"), "")
    monkeypatch.setenv("ADMIN_KEY", "0123456789abcdef")  # 16: enough
    fine = CliRunner().invoke(build_app(), ["config", "check", "--env", path])
    assert fine.exit_code == 0, fine.output


@pytest.mark.parametrize("value", ["0123456789abcdef", LONG])
def test_a_key_of_16_characters_or_more_starts_the_gateway(value: str) -> None:
    create_app(parse_config(RAW), environ={"ADMIN_KEY": value})


def test_a_key_the_cli_makes_may_be_given_by_key_env() -> None:
    key = generate_key()  # stellwerk keys create's and POST /admin/keys' (governance.keys)
    assert len(key) == 50
    create_app(parse_config(RAW), environ={"ADMIN_KEY": key})


@pytest.mark.parametrize(
    ("value", "what"),
    [
        (" " * 16, "is only whitespace"),
        ("\t" * 20, "is only whitespace"),
        (" " + LONG, "begins or ends with whitespace"),
        (LONG + "\n", "begins or ends with whitespace"),
    ],
    ids=["sixteen-spaces", "tabs", "leading-space", "trailing-newline"],
)
def test_config_check_refuses_a_key_no_header_could_carry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str, what: str
) -> None:
    """Walk 20 (F7): 16 spaces passed ``config check --env``; an HTTP header's value loses the
    whitespace around it, so no client could ever send such a key."""
    path = str(write(tmp_path, {**RAW, "models": [STATED]}))
    monkeypatch.setenv("ADMIN_KEY", value)
    answer = CliRunner().invoke(build_app(), ["config", "check", "--env", path])
    assert answer.exit_code == 2, answer.output
    said = f"departments.0.keys.0.key_env: the key 'admin' in ADMIN_KEY {what}"
    assert f"error: {said}" in answer.output
    assert LONG not in answer.output
    with pytest.raises(ConfigError, match=what):
        create_app(parse_config(RAW), environ={"ADMIN_KEY": value})
