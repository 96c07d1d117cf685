from __future__ import annotations

from tests.governance.factories import config, model

from stellwerk.policy.compliance import check_model, check_use_case, non_compliant


def test_minimal_model_with_licence_is_compliant() -> None:
    cfg = config()
    report = check_model(cfg.models[0], cfg.governance)
    assert report.compliant
    assert "is compliant" in report.describe()


def test_high_risk_model_lists_every_missing_fact() -> None:
    cfg = config(models=[model("triage", risk_tier="high", owner="it")])
    report = check_model(cfg.models[0], cfg.governance)
    assert not report.compliant
    assert report.missing == ("model_card_url", "evaluation_url", "oversight_contact")
    assert "triage" in report.describe() and "oversight_contact" in report.describe()


def test_blank_strings_do_not_count_as_facts() -> None:
    cfg = config(models=[model("m", licence="  ")])
    assert check_model(cfg.models[0], cfg.governance).missing == ("licence",)


def test_required_facts_are_configurable_per_tier() -> None:
    cfg = config(
        models=[model("m", risk_tier="limited")],
        governance={"required_model_facts": {"limited": ["data_owner"]}},
    )
    assert check_model(cfg.models[0], cfg.governance).missing == ("data_owner",)
    # the tiers not mentioned keep their defaults
    assert cfg.governance.required_model_facts["high"][-1] == "oversight_contact"


def test_high_risk_use_case_needs_oversight_and_an_allow_list() -> None:
    cfg = config(
        use_cases=[
            {"name": "hr-screening", "department": "it", "risk_tier": "high", "purpose": "cv"},
            {"name": "faq", "department": "it", "risk_tier": "minimal"},
        ]
    )
    report = check_use_case(cfg.use_cases[0], cfg.governance)
    assert report.missing == ("oversight_contact", "allowed_models")
    assert check_use_case(cfg.use_cases[1], cfg.governance).compliant


def test_non_compliant_lists_models_and_use_cases_only_when_missing() -> None:
    cfg = config(
        models=[model("ok"), model("bad", licence=None)],
        use_cases=[{"name": "x", "department": "it", "risk_tier": "limited"}],
    )
    found = non_compliant(cfg.models, cfg.use_cases, cfg.governance)
    assert [(r.kind, r.name, r.missing) for r in found] == [
        ("model", "bad", ("licence",)),
        ("use case", "x", ("purpose",)),
    ]
