from __future__ import annotations

from dataclasses import replace

import pytest
from tests.governance.factories import Caller, config, model

from stellwerk.config.schema import Classification
from stellwerk.errors import NotFound, PermissionDenied
from stellwerk.policy.filter import PolicyFilter
from stellwerk.policy.state import ModelState


def states(cfg_models: tuple[object, ...]) -> list[ModelState]:
    return [ModelState.from_config(m) for m in cfg_models]  # type: ignore[arg-type]


def ids(models: tuple[ModelState, ...]) -> list[str]:
    return [m.id for m in models]


def principal(department: str = "it", use_case: str | None = None) -> Caller:
    return Caller(department=department, use_case=use_case)


def test_internal_data_may_use_on_prem_and_eu_cloud() -> None:
    cfg = config()
    allowed = PolicyFilter.from_config(cfg).allowed(principal(), "internal", states(cfg.models))
    assert ids(allowed) == ["small-onprem", "big-cloud"]


def test_confidential_data_never_goes_to_the_cloud() -> None:
    cfg = config()
    allowed = PolicyFilter.from_config(cfg).allowed(
        principal("legal"), "confidential", states(cfg.models)
    )
    assert ids(allowed) == ["small-onprem"]


def test_requesting_a_forbidden_model_by_name_is_403_with_the_reason() -> None:
    cfg = config()
    with pytest.raises(PermissionDenied) as info:
        PolicyFilter.from_config(cfg).allowed(
            principal("legal"), "confidential", states(cfg.models), requested="big-cloud"
        )
    message = info.value.message
    assert "model 'big-cloud' may not serve this request" in message
    assert "classification confidential may go only to on_prem" in message
    assert "hosted eu_cloud" in message
    assert info.value.status_code == 403


def test_when_no_model_may_serve_every_reason_is_given() -> None:
    cfg = config(
        models=[
            model("cloud", hosting="eu_cloud"),
            model("old", lifecycle="deprecated"),
            model("review", lifecycle="in_review"),
        ]
    )
    with pytest.raises(PermissionDenied) as info:
        PolicyFilter.from_config(cfg).allowed(principal("legal"), "secret", states(cfg.models))
    message = info.value.message
    assert message.startswith("no model may serve this request of department 'legal'")
    assert "cloud: hosted eu_cloud, where secret data may not go" in message
    assert "old: lifecycle state is deprecated" in message
    assert "review: in_review, and department 'legal' is not a pilot" in message


def test_in_review_models_serve_pilot_departments_only() -> None:
    cfg = config(models=[model("fresh", lifecycle="in_review")])
    flt = PolicyFilter.from_config(cfg)
    assert ids(flt.allowed(principal("it"), "internal", states(cfg.models))) == ["fresh"]
    with pytest.raises(PermissionDenied, match=r"not a pilot"):
        flt.allowed(principal("legal"), "confidential", states(cfg.models))


def test_withdrawn_consent_removes_the_model() -> None:
    cfg = config(
        models=[model("expert", data_owner="legal"), model("general")],
    )
    models = states(cfg.models)
    models[0] = replace(models[0], consent=False)
    flt = PolicyFilter.from_config(cfg)
    assert ids(flt.allowed(principal(), "internal", models)) == ["general"]
    with pytest.raises(PermissionDenied, match=r"data owner 'legal' has withdrawn consent"):
        flt.allowed(principal(), "internal", models, requested="expert")


@pytest.mark.parametrize(("mode", "served"), [("block", ["ok"]), ("flag", ["ok", "bare"])])
def test_compliance_mode_blocks_or_flags(mode: str, served: list[str]) -> None:
    cfg = config(
        models=[model("ok"), model("bare", licence=None)],
        governance={"compliance_mode": mode},
    )
    allowed = PolicyFilter.from_config(cfg).allowed(principal(), "internal", states(cfg.models))
    assert ids(allowed) == served


def test_department_and_use_case_allow_lists() -> None:
    cfg = config(
        models=[model("a"), model("b"), model("c")],
        departments=[{"name": "it", "allowed_models": ["a", "b"]}],
        use_cases=[{"name": "faq", "department": "it", "allowed_models": ["b", "c"]}],
    )
    flt = PolicyFilter.from_config(cfg)
    assert ids(flt.allowed(principal(), "internal", states(cfg.models))) == ["a", "b"]
    bound = principal(use_case="faq")
    assert ids(flt.allowed(bound, "internal", states(cfg.models))) == ["b"]
    with pytest.raises(PermissionDenied, match=r"c: not allowed for department 'it'"):
        flt.allowed(bound, "internal", states(cfg.models), requested="c")


def test_non_compliant_use_case_is_refused_in_block_mode() -> None:
    cfg = config(
        use_cases=[{"name": "hr", "department": "it", "risk_tier": "high", "purpose": "cv"}],
        governance={"compliance_mode": "block"},
    )
    with pytest.raises(
        PermissionDenied, match=r"use case 'hr' is non-compliant.*oversight_contact"
    ):
        PolicyFilter.from_config(cfg).allowed(
            principal(use_case="hr"), "internal", states(cfg.models)
        )


def test_unknown_model_is_404_and_unknown_department_403() -> None:
    cfg = config()
    flt = PolicyFilter.from_config(cfg)
    with pytest.raises(NotFound, match=r"unknown model 'nope'"):
        flt.allowed(principal(), "internal", states(cfg.models), requested="nope")
    with pytest.raises(PermissionDenied, match=r"department 'ghost'"):
        flt.allowed(principal("ghost"), "internal", states(cfg.models))


@pytest.mark.parametrize("classification", ["public", "internal", "confidential", "secret"])
def test_no_allowed_model_is_hosted_where_the_class_may_not_go(
    classification: Classification,
) -> None:
    cfg = config(
        models=[
            model("a", hosting="on_prem"),
            model("b", hosting="eu_cloud"),
            model("c", hosting="non_eu_cloud"),
        ]
    )
    allowed = PolicyFilter.from_config(cfg).allowed(principal(), classification, states(cfg.models))
    hosting = cfg.governance.classification_hosting[classification]
    assert allowed
    assert all(m.config.hosting in hosting for m in allowed)
    assert len(allowed) == len(hosting)
