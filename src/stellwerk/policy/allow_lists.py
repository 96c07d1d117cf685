"""The allow-lists of a request's key: its department's and its use case's ``allowed_models``,
rules 5 and 6 of the policy filter (``stellwerk.policy.filter``). Their test and their words are
here once: the filter refuses a model by them, and its 403 (``stellwerk.policy.denial``) tells a
key which of its lists leaves a model out and which models are its own."""

from __future__ import annotations

from typing import Literal

from stellwerk.config.schema import DepartmentConfig, UseCaseConfig

ListRule = Literal["department", "use_case"]
"""The filter's rules (``filter.Rule``) that are allow-lists."""


def off_lists(
    model_id: str, department: DepartmentConfig, use_case: UseCaseConfig | None
) -> tuple[ListRule, str] | None:
    """The first list that leaves ``model_id`` out (the department's, then the use case's) and
    why, or ``None`` when every list there is lets it through (no list: any model)."""
    if department.allowed_models is not None and model_id not in department.allowed_models:
        return "department", (
            f"not allowed for department {department.name!r} (not on its allowed_models)"
        )
    if (
        use_case is not None
        and use_case.allowed_models is not None
        and model_id not in use_case.allowed_models
    ):
        return "use_case", f"not allowed for use case {use_case.name!r} (not on its allowed_models)"
    return None
