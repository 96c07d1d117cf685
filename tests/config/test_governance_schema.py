from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from stellwerk.cli.main import build_app
from stellwerk.errors import ConfigError
from tests.governance.factories import config, model


def test_a_config_without_governance_sections_gets_the_defaults() -> None:
    cfg = config()
    assert cfg.governance.compliance_mode == "flag"
    assert cfg.governance.retention_days["high"] >= 183
    assert cfg.use_cases == ()
    assert cfg.departments[0].limits.monthly_budget is None
    assert cfg.models[0].risk_tier == "minimal"


def test_prohibited_risk_tier_is_refused_for_models_and_use_cases() -> None:
    with pytest.raises(ConfigError, match=r"models.0.risk_tier: risk tier 'prohibited' is refused"):
        config(models=[model("m", risk_tier="prohibited")])
    with pytest.raises(ConfigError, match=r"use_cases.0.risk_tier: .*prohibited"):
        config(use_cases=[{"name": "s", "department": "it", "risk_tier": "prohibited"}])


def test_high_risk_retention_below_six_months_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"retention_days.high: 30 days is too short"):
        config(governance={"retention_days": {"high": 30}})


@pytest.mark.parametrize(
    ("sections", "message"),
    [
        ({"use_cases": [{"name": "u", "department": "nope"}]}, "'nope' is not a configured dep"),
        (
            {"use_cases": [{"name": "u", "department": "it", "allowed_models": ["x"]}]},
            "use_cases.0.allowed_models: 'x' is not a configured model",
        ),
        (
            {
                "departments": [
                    {"name": "it", "keys": [{"id": "k", "key_env": "K", "use_case": "u"}]}
                ]
            },
            "departments.0.keys.0.use_case: 'u' is not a configured use case",
        ),
        ({"models": [model("m", data_owner="ghost")]}, "models.0.data_owner: 'ghost'"),
        (  # the audit log prints a target as kind:name (walk 15, LOW-7)
            {"use_cases": [{"name": "model:small-onprem", "department": "it"}]},
            "use_cases.0.name: 'model:small-onprem' holds ':', which the audit log reads as",
        ),
        (  # its requests would be counted as shadow grading's calls
            {"departments": [{"name": "it", "keys": [{"id": "shadow", "key_env": "K"}]}]},
            "departments.0.keys.0.id: .*key id 'shadow' is reserved for shadow grading",
        ),
        (
            {"departments": [{"name": "it", "limits": {"requests_per_minute": 0}}]},
            "departments.0.limits.requests_per_minute",
        ),
        (
            {"departments": [{"name": "it", "limits": {"monthly_budget": "lots"}}]},
            "departments.0.limits.monthly_budget",
        ),
        (
            {"departments": [{"name": "it", "limits": {"monthly_budget": 1e303}}]},
            "departments.0.limits.monthly_budget: Input should be less than or equal to",
        ),
        (
            {"departments": [{"name": "it", "limits": {"monthly_budget": float("inf")}}]},
            "departments.0.limits.monthly_budget: Input should be a finite number",
        ),
        (
            {"departments": [{"name": "it", "limits": {"requests_per_minute": 2**63}}]},
            "departments.0.limits.requests_per_minute: Input should be less than",
        ),
        (
            {
                "departments": [
                    {
                        "name": "it",
                        "keys": [
                            {"id": "k", "key_env": "K", "limits": {"tokens_per_minute": 10**23}}
                        ],
                    }
                ]
            },
            "departments.0.keys.0.limits.tokens_per_minute: Input should be less than",
        ),
        ({"models": [model("m", price={"input_per_mtok": float("inf")})]}, "models.0.price"),
        ({"governance": {"compliance_mode": "warn"}}, "governance.compliance_mode"),
        ({"governance": {"classification_hosting": {"secret": ["moon"]}}}, "secret"),
    ],
)
def test_bad_governance_config_names_the_key(sections: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        config(**sections)


def test_a_key_bound_to_another_departments_use_case_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"belongs to department 'legal', not 'it'"):
        config(
            departments=[
                {"name": "legal"},
                {"name": "it", "keys": [{"id": "k", "key_env": "K", "use_case": "contracts"}]},
            ],
            use_cases=[{"name": "contracts", "department": "legal"}],
        )


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("redis://:hunter2@10.0.0.5:6379/0", "holds a password"),
        ("redis://app:hunter2@10.0.0.5:6379/0", "holds a password"),
        ("http://10.0.0.5:6379", "is not a redis://"),
    ],
)
def test_redis_url_without_secrets(url: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        config(server={"redis_url": url})
    assert config(server={"redis_url": "redis://10.0.0.5:6379/0"}).server.redis_url


def _legal_key(own: str, use_case: str | None = None) -> dict[str, object]:
    key: dict[str, object] = {"id": "legal-1", "key_env": "K", "classification": own}
    key.update({"use_case": use_case} if use_case else {})
    return {"name": "legal", "classification": "confidential", "keys": [key]}


@pytest.mark.parametrize(
    ("department", "message"),
    [
        (  # the walk-through's key: public for a confidential use case in a confidential dept
            _legal_key("public", "contracts"),
            "departments.0.keys.0.classification: key 'legal-1': public is below the"
            " classification confidential of use case 'contracts' and department 'legal'",
        ),
        (
            _legal_key("confidential", "vault"),
            "departments.0.keys.0.classification: key 'legal-1': confidential is below the"
            " classification secret of use case 'vault'",
        ),
        (
            _legal_key("internal"),
            "departments.0.keys.0.classification: key 'legal-1': internal is below the"
            " classification confidential of department 'legal'",
        ),
    ],
)
def test_a_config_key_may_not_lower_its_classification(
    tmp_path: Path, department: dict[str, object], message: str
) -> None:
    """Refused when the file is loaded (``stellwerk config check`` and start-up alike), naming
    the key, both classes and whose the higher one is."""
    raw = {
        "backends": [{"name": "local", "kind": "openai", "base_url": "http://127.0.0.1:9"}],
        "models": [model("small-onprem")],
        "departments": [department],
        "use_cases": [
            {"name": "contracts", "department": "legal", "classification": "confidential"},
            {"name": "vault", "department": "legal", "classification": "secret"},
        ],
    }
    path = tmp_path / "stellwerk.yaml"
    path.write_text(yaml.safe_dump(raw))
    result = CliRunner().invoke(build_app(), ["config", "check", str(path)])
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
    assert "never lower it" in result.output


@pytest.mark.parametrize(("own", "use_case"), [("confidential", "contracts"), ("secret", None)])
def test_a_config_key_may_raise_its_classification(own: str, use_case: str | None) -> None:
    cfg = config(
        departments=[_legal_key(own, use_case)],
        use_cases=[{"name": "contracts", "department": "legal", "classification": "confidential"}],
    )
    assert cfg.departments[0].keys[0].classification == own


def test_config_check_refuses_a_use_case_naming_a_model_twice_as_the_admin_api_does(
    tmp_path: Path,
) -> None:
    """Walk 15 (LOW-15): the config took ``allowed_models: [a, b, a]``, which ``POST
    /admin/use-cases`` refuses; both now refuse it in the same words, naming the field."""
    raw = {
        "backends": [{"name": "local", "kind": "openai", "base_url": "http://127.0.0.1:9"}],
        "models": [model("small-onprem"), model("big-cloud", hosting="eu_cloud")],
        "departments": [{"name": "legal"}],
        "use_cases": [
            {
                "name": "contracts",
                "department": "legal",
                "allowed_models": ["small-onprem", "big-cloud", "small-onprem"],
            }
        ],
    }
    path = tmp_path / "stellwerk.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    answer = CliRunner().invoke(build_app(), ["config", "check", str(path)])
    assert answer.exit_code == 2
    assert (
        "use_cases.0.allowed_models: names the model 'small-onprem' twice; name each model once"
    ) in answer.output
