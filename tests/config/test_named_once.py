"""A list of names in the config that names one twice is refused at load, naming the list's
place and the name, as a model id or a YAML key given twice is: a department's
``allowed_models`` as a use case's (and ``POST /admin/use-cases``) already was."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from stellwerk.cli.main import build_app
from stellwerk.config import load_config
from stellwerk.errors import ConfigError
from tests.config.test_config import MINIMAL, write

MODEL = MINIMAL["models"][0]


@pytest.mark.parametrize(
    ("change", "said"),
    [
        (
            {"departments": [{"name": "it", "allowed_models": ["mistral-3-8b", "mistral-3-8b"]}]},
            "departments.0.allowed_models: names the model 'mistral-3-8b' twice; name each"
            " model once",
        ),
        (
            {"models": [{**MODEL, "capabilities": ["chat", "tools", "chat"]}]},
            "models.0.capabilities: names the capability 'chat' twice; name each capability once",
        ),
        (
            {"models": [{**MODEL, "languages": ["de", "en", "de"]}]},
            "models.0.languages: names the language 'de' twice; name each language once",
        ),
        (
            {"server": {"cors_origins": ["https://a.example", "https://a.example"]}},
            "server.cors_origins: names the origin 'https://a.example' twice; name each origin"
            " once",
        ),
        (
            {"models": [{**MODEL, "languages": ["de", "DE"]}]},
            "models.0.languages: names the language 'DE' twice (as 'de' too); name each"
            " language once",
        ),
        (
            {"server": {"cors_origins": ["http://a.example", "HTTP://A.example"]}},
            "server.cors_origins: names the origin 'HTTP://A.example' twice (as"
            " 'http://a.example' too); name each origin once",
        ),
        (
            {"server": {"cors_origins": ["http://a.example", "http://a.example/"]}},
            "server.cors_origins: names the origin 'http://a.example/' twice (as"
            " 'http://a.example' too); name each origin once",
        ),
        (
            {"router": {"shadow": {"departments": ["it", "it"]}}},
            "router.shadow.departments: names the department 'it' twice; name each department once",
        ),
        (
            {"router": {"shadow": {"routes": ["auto", "auto"]}}},
            "router.shadow.routes: names the route 'auto' twice; name each route once",
        ),
        (
            {"router": {"shadow": {"classifications": ["public", "public"]}}},
            "router.shadow.classifications: names the classification 'public' twice; name each"
            " classification once",
        ),
        (
            {"governance": {"classification_hosting": {"secret": ["on_prem", "on_prem"]}}},
            "governance.classification_hosting.secret: names the hosting 'on_prem' twice; name"
            " each hosting once",
        ),
        (
            {"governance": {"required_model_facts": {"high": ["licence", "owner", "licence"]}}},
            "governance.required_model_facts.high: names the fact 'licence' twice; name each"
            " fact once",
        ),
        (
            {"governance": {"required_use_case_facts": {"limited": ["purpose", "purpose"]}}},
            "governance.required_use_case_facts.limited: names the fact 'purpose' twice; name"
            " each fact once",
        ),
    ],
)
def test_a_list_naming_one_twice_is_refused_naming_its_place(
    tmp_path: Path, change: dict[str, Any], said: str
) -> None:
    path = write(tmp_path, {**MINIMAL, **change})
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert f"{path}: invalid config:\n  {said}" in str(info.value)


def test_config_check_names_a_departments_model_given_twice(tmp_path: Path) -> None:
    raw = {**MINIMAL, "departments": [{"name": "it", "allowed_models": ["mistral-3-8b"] * 2}]}
    path = tmp_path / "stellwerk.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    answer = CliRunner().invoke(build_app(), ["config", "check", str(path)])
    assert answer.exit_code == 2
    assert (
        "departments.0.allowed_models: names the model 'mistral-3-8b' twice; name each model once"
    ) in answer.output
