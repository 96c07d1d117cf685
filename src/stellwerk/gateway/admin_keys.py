"""The keys ``GET /admin/keys`` answers: the config file's (``departments[].keys[]``) and those
made through the CLI or the admin API (the database's), as ``stellwerk keys list`` and the
dashboard's keys table show them, each with its ``source``.

A config key is made, changed and removed by editing the config: it has no time it was made at
(``created_at`` ``null``), its maker is ``config`` (the actor the config's changes are audited
under), and it is active while the config holds it (``revoked_at`` and ``revoked_by`` ``null``).
"""

from __future__ import annotations

from typing import Any

from stellwerk.config.base import Classification
from stellwerk.config.governance import KeyConfig
from stellwerk.governance.key_store import KeyInfo
from stellwerk.governance.service import Governance

CONFIG_ACTOR = "config"
"""Who made a config key, as its ``created_by`` says."""


def key_json(gov: Governance, info: KeyInfo) -> dict[str, Any]:
    """A key of the database as the API shows it: ``classification`` its own (``null``: none),
    and ``effective_classification`` the class its requests run under now without a header
    (the highest of its own, its use case's and its department's)."""
    return {
        **_facts(gov, info.key_id, info.department, info.role, info.use_case, info.classification),
        "created_at": info.created_at.isoformat(),
        "created_by": info.created_by,
        "revoked_at": info.revoked_at.isoformat() if info.revoked_at else None,
        "revoked_by": info.revoked_by,
        "source": "database",
    }


def config_keys_json(gov: Governance, department: str | None) -> list[dict[str, Any]]:
    """The config's keys (of ``department``; ``None``: of every department), in its order."""
    return [
        _config_key(gov, dept.name, key)
        for dept in gov.admin.config.departments
        if department is None or dept.name == department
        for key in dept.keys
    ]


def _config_key(gov: Governance, department: str, key: KeyConfig) -> dict[str, Any]:
    return {
        **_facts(gov, key.id, department, key.role, key.use_case, key.classification),
        "created_at": None,
        "created_by": CONFIG_ACTOR,
        "revoked_at": None,
        "revoked_by": None,
        "source": "config",
    }


def _facts(
    gov: Governance,
    key_id: str,
    department: str,
    role: str,
    use_case: str | None,
    classification: Classification | None,
) -> dict[str, Any]:
    return {
        "key_id": key_id,
        "department": department,
        "role": role,
        "use_case": use_case,
        "classification": classification,
        "effective_classification": gov.snapshot.key_class(department, use_case, classification),
    }
