from __future__ import annotations

import pytest

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
