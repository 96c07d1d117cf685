from __future__ import annotations

import pytest
from tests.governance.factories import config

from stellwerk.errors import InvalidRequest, PermissionDenied
from stellwerk.policy.classification import (
    allowed_hosting,
    classes_by_hosting,
    effective_classification,
    parse_classification,
    stricter,
)


def test_default_mapping() -> None:
    rules = config().governance
    assert allowed_hosting("public", rules) == ("on_prem", "eu_cloud", "non_eu_cloud")
    assert allowed_hosting("internal", rules) == ("on_prem", "eu_cloud")
    assert allowed_hosting("confidential", rules) == ("on_prem",)
    assert allowed_hosting("secret", rules) == ("on_prem",)


def test_mapping_is_configurable_and_keeps_other_defaults() -> None:
    rules = config(governance={"classification_hosting": {"confidential": ["on_prem", "eu_cloud"]}})
    assert allowed_hosting("confidential", rules.governance) == ("on_prem", "eu_cloud")
    assert allowed_hosting("secret", rules.governance) == ("on_prem",)


def test_no_header_means_the_keys_default() -> None:
    assert effective_classification(None, "confidential") == "confidential"


@pytest.mark.parametrize("blank", ["", " "])
def test_an_empty_header_is_refused_not_taken_as_absent(blank: str) -> None:
    with pytest.raises(InvalidRequest, match="x-stellwerk-classification is empty"):
        effective_classification(blank, "internal")


def test_a_request_may_raise_its_class() -> None:
    assert effective_classification("Secret", "internal") == "secret"


def test_a_request_may_not_lower_its_class() -> None:
    with pytest.raises(
        PermissionDenied, match=r"public is below this key's default classification confidential"
    ):
        effective_classification("public", "confidential")


def test_unknown_class_names_the_header() -> None:
    with pytest.raises(InvalidRequest, match=r"x-stellwerk-classification: unknown.*'topsecret'"):
        parse_classification("topsecret")


def test_stricter() -> None:
    assert stricter("internal", None, "secret", "public") == "secret"
    assert stricter() == "public"


def test_classes_by_hosting() -> None:
    assert classes_by_hosting(config().governance) == {
        "on_prem": ("public", "internal", "confidential", "secret"),
        "eu_cloud": ("public", "internal"),
        "non_eu_cloud": ("public",),
    }
