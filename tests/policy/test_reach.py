"""Which use cases no model may serve (``stellwerk.policy.reach``), by the filter's own rules:
the class that applies is the department's when higher, and a model in review serves a pilot
department only."""

from __future__ import annotations

from typing import Any

import pytest
from tests.governance.factories import config, model

from stellwerk.policy.reach import unservable_in_config

MODELS = [
    model("small-onprem"),
    model("big-cloud", hosting="eu_cloud"),
    model("new", lifecycle="in_review"),
]


@pytest.mark.parametrize(
    ("case", "warning"),
    [
        (  # its own class is public, legal's confidential applies: on premises only
            {"department": "legal", "classification": "public", "allowed_models": ["big-cloud"]},
            "no allowed model may serve its class confidential (big-cloud: hosted eu_cloud,"
            " where confidential data may not go)",
        ),
        (
            {"department": "legal", "allowed_models": ["new"]},
            "no allowed model may serve its class confidential (new: in_review, and department"
            " 'legal' is not a pilot)",
        ),
        ({"department": "it", "allowed_models": ["new"]}, None),  # it is a pilot
        ({"department": "legal", "allowed_models": ["small-onprem", "big-cloud"]}, None),
        ({"department": "it", "classification": "internal"}, None),
    ],
)
def test_a_use_case_no_model_may_serve_is_found(case: dict[str, Any], warning: str | None) -> None:
    found = unservable_in_config(config(models=MODELS, use_cases=[{"name": "u"} | case]))
    assert [u.describe() for u in found] == (
        [] if warning is None else [f"use case 'u': {warning}"]
    )


def test_without_an_allow_list_every_model_of_the_catalog_is_tried() -> None:
    cloud = [model("big-cloud", hosting="eu_cloud"), model("us", hosting="non_eu_cloud")]
    case = {"name": "u", "department": "legal"}
    [found] = unservable_in_config(config(models=cloud, use_cases=[case]))
    assert found.describe().startswith(
        "use case 'u': no model of the catalog may serve its class confidential (big-cloud:"
    )
    assert dict(found.refused) == {
        "big-cloud": "hosted eu_cloud, where confidential data may not go",
        "us": "hosted non_eu_cloud, where confidential data may not go",
    }
