"""The rule for a key's data class, for every combination of key, use case and department."""

from __future__ import annotations

import pytest
from tests.governance.factories import config

from stellwerk.config.schema import Classification
from stellwerk.governance.principal import key_principal

CFG = config(
    departments=[
        {"name": "legal", "classification": "confidential", "allowed_models": ["small-onprem"]},
        {"name": "it"},  # the default class, internal
    ],
    use_cases=[
        {"name": "contracts", "department": "legal", "classification": "secret"},
        {"name": "lobby", "department": "legal", "classification": "public"},
    ],
)
DEPARTMENTS = {d.name: d for d in CFG.departments}
USE_CASES = {u.name: u for u in CFG.use_cases}


@pytest.mark.parametrize(
    ("own", "use_case", "department", "expected"),
    [
        # neither the key nor a use case says: the department's class
        (None, None, "legal", "confidential"),
        (None, None, "it", "internal"),
        (None, None, "gone", "internal"),  # a department no longer in the config
        # a use case above its department raises the key's class
        (None, "contracts", "legal", "secret"),
        (None, "contracts", "gone", "secret"),
        # one below its department does not lower it: the department's class holds
        (None, "lobby", "legal", "confidential"),
        (None, "lobby", "gone", "public"),
        # a use case no longer known counts as none
        (None, "retired", "legal", "confidential"),
        (None, "retired", "gone", "internal"),
        # the key's own class raises, never lowers (the stores refuse a lower one at creation;
        # a use case raised since is followed all the same)
        ("public", None, "legal", "confidential"),
        ("public", "contracts", "legal", "secret"),
        ("confidential", "contracts", "legal", "secret"),
        ("secret", "lobby", "it", "secret"),
        ("secret", None, "legal", "secret"),
        ("confidential", "retired", "gone", "confidential"),
        ("public", None, "gone", "public"),
    ],
)
def test_a_keys_class_is_the_highest_of_its_own_its_use_cases_and_its_departments(
    own: Classification | None, use_case: str | None, department: str, expected: str
) -> None:
    principal = key_principal(
        key_id="key-1",
        department=department,
        role="user",
        use_case=use_case,
        classification=own,
        departments=DEPARTMENTS,
        use_cases=USE_CASES,
    )
    assert principal.classification == expected
    assert (principal.department, principal.use_case) == (department, use_case)


@pytest.mark.parametrize(
    ("department", "allowed"),
    [("legal", frozenset({"small-onprem"})), ("it", None), ("gone", None)],
)
def test_a_key_gets_its_departments_model_allow_list(
    department: str, allowed: frozenset[str] | None
) -> None:
    principal = key_principal(
        key_id="key-1",
        department=department,
        role="admin",
        use_case=None,
        classification=None,
        departments=DEPARTMENTS,
        use_cases=USE_CASES,
    )
    assert principal.allowed_models == allowed
    assert principal.role == "admin"
