"""Who asks, as a key says: the principal of a request, and the rule for a key's data class.

Config keys (``departments[].keys``) and database keys (``stellwerk keys create``, the admin API)
become principals by the same rule, ``key_principal``, with the same use cases: the governance
snapshot builds both kinds at every reload from the use cases in the database (which the admin API
changes), so a changed use case counts for every key bound to it from the next reload. Only a
gateway without the governance layer builds its config keys' principals once, from the config's
use cases.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from stellwerk.config.key_class import key_class
from stellwerk.config.schema import (
    Classification,
    DepartmentConfig,
    StellwerkConfig,
    UseCaseConfig,
)


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller of one request, as its key says."""

    key_id: str
    department: str
    role: str
    classification: str
    allowed_models: frozenset[str] | None
    use_case: str | None = None


def default_class(
    *,
    own: Classification | None,
    department: str,
    use_case: str | None,
    departments: Mapping[str, DepartmentConfig],
    use_cases: Mapping[str, UseCaseConfig],
) -> Classification:
    """The class the requests of a key with these facts run under without a header: the highest
    of its own, its use case's and its department's (``stellwerk.config.key_class``), both
    looked up by name (an unknown use case or department counts as none; ``internal`` when none
    is known). What the key listings show as a key's class."""
    case = use_cases.get(use_case) if use_case else None
    return key_class(own, case, departments.get(department))


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
    allowed = dept.allowed_models if dept is not None else None
    return Principal(
        key_id=key_id,
        department=department,
        role=role,
        classification=default_class(
            own=classification,
            department=department,
            use_case=use_case,
            departments=departments,
            use_cases=use_cases,
        ),
        allowed_models=frozenset(allowed) if allowed is not None else None,
        use_case=use_case,
    )


def config_key_principals(
    config: StellwerkConfig, use_cases: Mapping[str, UseCaseConfig]
) -> dict[str, Principal]:
    """The principals of the config's keys (``departments[].keys``) by key id, their use cases
    looked up in ``use_cases`` (the database's, or the config's without governance)."""
    departments = {d.name: d for d in config.departments}
    return {
        key.id: key_principal(
            key_id=key.id,
            department=dept.name,
            role=key.role,
            use_case=key.use_case,
            classification=key.classification,
            departments=departments,
            use_cases=use_cases,
        )
        for dept in config.departments
        for key in dept.keys
    }
