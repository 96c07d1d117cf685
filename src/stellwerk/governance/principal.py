"""Who asks, as a key says: the principal of a request, and the rule for a key's data class.

Config keys (``departments[].keys``) and database keys (``stellwerk keys create``, the admin API)
become principals by the same rule, ``key_principal``; the gateway builds the config keys' once at
start-up, the governance snapshot the database keys' at every reload.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from stellwerk.config.schema import Classification, DepartmentConfig, UseCaseConfig


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller of one request, as its key says."""

    key_id: str
    department: str
    role: str
    classification: str
    allowed_models: frozenset[str] | None
    use_case: str | None = None


def default_classification(
    own: Classification | None,
    use_case: UseCaseConfig | None,
    department: DepartmentConfig | None,
) -> Classification:
    """A key's default class: its own, else its use case's, else its department's, else
    ``internal`` (a database key of a department no longer in the config)."""
    if own is not None:
        return own
    if use_case is not None:
        return use_case.classification
    if department is not None:
        return department.classification
    return "internal"


def key_principal(
    *,
    key_id: str,
    department: str,
    role: str,
    use_case: str | None,
    classification: Classification | None,
    departments: Mapping[str, DepartmentConfig],
    use_cases: Mapping[str, UseCaseConfig],
) -> Principal:
    """The principal of a key with these facts, its department and use case looked up by name
    (an unknown use case counts as none; an unknown department gives no model allow-list)."""
    dept = departments.get(department)
    case = use_cases.get(use_case) if use_case else None
    allowed = dept.allowed_models if dept is not None else None
    return Principal(
        key_id=key_id,
        department=department,
        role=role,
        classification=default_classification(classification, case, dept),
        allowed_models=frozenset(allowed) if allowed is not None else None,
        use_case=use_case,
    )
