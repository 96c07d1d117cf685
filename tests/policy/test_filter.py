from __future__ import annotations

from dataclasses import replace

import pytest
from tests.governance.factories import Caller, config, model

from stellwerk.config.schema import Classification, ModelConfig
from stellwerk.errors import NotFound, PermissionDenied
from stellwerk.policy.filter import PolicyFilter
from stellwerk.policy.state import ModelState


def states(cfg_models: tuple[ModelConfig, ...]) -> list[ModelState]:
    return [ModelState.from_config(m) for m in cfg_models]


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
    detail = info.value.detail
    assert detail is not None
    assert detail.startswith("no model may serve this request of department 'legal'")
    assert "cloud: hosted eu_cloud, where secret data may not go" in detail
    assert "old: lifecycle state is deprecated" in detail
    assert "review: in_review, and department 'legal' is not a pilot" in detail
    # legal has no allow-list, but only the model the request's class keeps out is its to see
    assert info.value.message == (
        "no model may serve this request of department 'legal' (classification secret may go"
        " only to on_prem): cloud: hosted eu_cloud, where secret data may not go;"
        " 2 other models are not available to this key"
    )
    with pytest.raises(PermissionDenied) as admin:
        PolicyFilter.from_config(cfg).allowed(
            replace(principal("legal"), role="admin"), "secret", states(cfg.models)
        )
    assert admin.value.message == detail


def test_a_user_key_learns_why_the_models_it_sees_are_out_and_only_counts_the_others() -> None:
    """The walk-through's case: of the models the use case allows, one is withdrawn by its
    owner, one deprecated (neither listed by ``GET /v1/models``: counted, unnamed) and one hosted
    where the request's class may not go (the key sees it: named, with why)."""
    cfg = config(
        models=[
            model("cloud", hosting="eu_cloud"),
            model("expert", data_owner="it"),
            model("general"),
            model("pilot", lifecycle="in_review"),
            model("sunset", lifecycle="deprecated"),
            model("embed", capabilities=["embeddings"]),
        ],
        use_cases=[
            {
                "name": "contracts",
                "department": "legal",
                "allowed_models": ["cloud", "expert", "sunset", "embed"],
            }
        ],
    )
    models = states(cfg.models)
    models[1] = replace(models[1], consent=False)
    models[5] = replace(models[5], consent=False)
    flt = PolicyFilter.from_config(cfg)
    with pytest.raises(PermissionDenied) as info:
        flt.allowed(principal("legal", "contracts"), "confidential", models, kind="chat")
    assert info.value.message == (
        "no model may serve this request of department 'legal' (classification confidential"
        " may go only to on_prem): cloud: hosted eu_cloud, where confidential data may not go;"
        " 4 other models are not available to this key"
    )
    detail = info.value.detail or ""
    assert "pilot: in_review" in detail and "general: not allowed for use case" in detail
    assert "expert: its data owner 'it' has withdrawn consent" in detail
    assert "sunset: lifecycle state is deprecated" in detail
    assert "embed: " in detail  # the operators' list has every model


def test_a_named_model_off_the_keys_lists_is_answered_as_an_unknown_one() -> None:
    cfg = config(
        models=[model("a"), model("b", lifecycle="in_review", data_owner="it")],
        use_cases=[{"name": "faq", "department": "legal", "allowed_models": ["a"]}],
    )
    models = states(cfg.models)
    models[1] = replace(models[1], consent=False)
    flt = PolicyFilter.from_config(cfg)
    with pytest.raises(NotFound) as info:
        flt.allowed(principal("legal", "faq"), "internal", models, requested="b")
    with pytest.raises(NotFound) as unknown:
        flt.allowed(principal("legal", "faq"), "internal", models, requested="c")
    assert info.value.message == "unknown model 'b'"
    assert unknown.value.message == "unknown model 'c'"
    assert info.value.code == unknown.value.code == "model_not_found"
    assert "b: in_review" in (info.value.detail or "")  # the operators' log says why


def test_a_routed_request_leaves_out_models_that_cannot_do_its_kind() -> None:
    cfg = config(
        models=[
            model("embed", capabilities=["embeddings"], data_owner="it"),
            model("chat", lifecycle="retired"),
        ],
        use_cases=[{"name": "faq", "department": "legal", "allowed_models": ["embed"]}],
    )
    models = states(cfg.models)
    models[0] = replace(models[0], consent=False)
    flt = PolicyFilter.from_config(cfg)
    with pytest.raises(PermissionDenied) as info:
        flt.allowed(principal("legal", "faq"), "internal", models, kind="chat")
    assert info.value.message == (
        "no model may serve this request of department 'legal':"
        " 1 other model is not available to this key"
    )


def test_in_review_models_serve_pilot_departments_only() -> None:
    cfg = config(models=[model("fresh", lifecycle="in_review")])
    flt = PolicyFilter.from_config(cfg)
    assert ids(flt.allowed(principal("it"), "internal", states(cfg.models))) == ["fresh"]
    with pytest.raises(PermissionDenied) as info:
        flt.allowed(principal("legal"), "confidential", states(cfg.models))
    assert info.value.message.endswith(": 1 other model is not available to this key")
    assert "not a pilot" in (info.value.detail or "")
    with pytest.raises(NotFound):  # not one legal sees: as an unknown one
        flt.allowed(principal("legal"), "confidential", states(cfg.models), requested="fresh")


def test_withdrawn_consent_removes_the_model() -> None:
    cfg = config(
        models=[model("expert", data_owner="legal"), model("general")],
    )
    models = states(cfg.models)
    models[0] = replace(models[0], consent=False)
    flt = PolicyFilter.from_config(cfg)
    assert ids(flt.allowed(principal(), "internal", models)) == ["general"]
    with pytest.raises(NotFound, match=r"unknown model 'expert'") as info:
        flt.allowed(principal(), "internal", models, requested="expert")
    assert "data owner 'legal' has withdrawn consent" in (info.value.detail or "")
    admin = replace(principal(), role="viewer")  # reads the catalog: told why
    with pytest.raises(PermissionDenied, match=r"data owner 'legal' has withdrawn consent"):
        flt.allowed(admin, "internal", models, requested="expert")


def test_consent_withdrawn_before_the_owner_was_dropped_is_told_without_a_name() -> None:
    """A withdrawal stays in force after the config drops the model's data owner: the refusal
    says so without naming an owner the model no longer has (it read "owner None")."""
    cfg = config(models=[model("expert"), model("general")])
    models = states(cfg.models)
    models[0] = replace(models[0], consent=False)
    with pytest.raises(NotFound) as info:
        PolicyFilter.from_config(cfg).allowed(principal(), "internal", models, requested="expert")
    assert "expert: its data owner has withdrawn consent" in (info.value.detail or "")


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
    with pytest.raises(NotFound) as info:
        flt.allowed(bound, "internal", states(cfg.models), requested="c")
    assert "c: not allowed for department 'it'" in (info.value.detail or "")


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
