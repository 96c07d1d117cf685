"""Who may open the dashboard: holders of an API key with the ``admin`` role; holders of a
``viewer`` key, who see every page an admin sees and may change nothing (no form is theirs, and
the server refuses any they post: ``routes``); holders of a ``head`` key, who see their own
department's page only and change nothing; and holders of an ``owner`` key, who see only the
consent page of their department's models (a data owner withdraws and re-grants its consent
there, as it may through the admin API).

Admin keys are the gateway's own keys: in the config (``departments[].keys[]`` with
``role: admin``) or in the key store (``stellwerk keys create --role admin``). A key is checked once
at login, by the gateway's keyring; each later request checks that the session's key is still an
active admin key, so revoking it ends its sessions (at once on this replica, within
``governance.refresh_seconds`` on the others).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from stellwerk.config.base import HEAD
from stellwerk.config.schema import StellwerkConfig
from stellwerk.dashboard.session import KeySource, Session
from stellwerk.errors import AuthenticationFailed, PermissionDenied
from stellwerk.governance.principal import Principal
from stellwerk.governance.service import Governance

ADMIN = "admin"
VIEWER = "viewer"
OWNER = "owner"
ROLES = (ADMIN, VIEWER, HEAD, OWNER)


class Keyring(Protocol):
    """What a login needs of the gateway's keyring (``gateway.auth.Keyring`` is it)."""

    def authenticate(self, authorization: str | None) -> Principal:
        """The principal of an ``Authorization: Bearer <key>`` header, or 401."""
        ...


@dataclass(frozen=True, slots=True)
class Holder:
    """The role and department of a session's key, as they are now."""

    role: str
    department: str


class AdminDirectory:
    """Logs admin keys in and checks the keys of sessions."""

    def __init__(self, config: StellwerkConfig) -> None:
        self._config_roles = {k.id: k.role for d in config.departments for k in d.keys}
        self._config_departments = {k.id: d.name for d in config.departments for k in d.keys}

    def login(self, presented: str, keyring: Keyring) -> tuple[str, KeySource]:
        """The key id and source of an admin, viewer, head or owner key; 401 for an unknown key,
        403 for another role."""
        key = presented.strip()
        if not key:
            raise AuthenticationFailed("enter an admin key", code="login_empty")
        try:
            principal = keyring.authenticate(f"Bearer {key}")
        except AuthenticationFailed as exc:
            raise AuthenticationFailed(exc.message, code="login_failed") from exc
        _require_role(principal.key_id, principal.role)
        source: KeySource = "config" if principal.key_id in self._config_roles else "database"
        return principal.key_id, source

    def check(self, session: Session, governance: Governance) -> Holder:
        """The role and department of the session's key; refuses a session whose key was revoked
        or lost its admin, viewer, head or owner role since login."""
        role: str | None
        department = ""
        if session.source == "config":
            role = self._config_roles.get(session.key_id)
            department = self._config_departments.get(session.key_id, "")
        else:
            active = governance.snapshot.keys.values()
            info = next((k for k in active if k.key_id == session.key_id), None)
            role = info.role if info is not None else None
            department = info.department if info is not None else ""
        if role is None:
            raise AuthenticationFailed(
                f"key {session.key_id!r} is no longer active (revoked or removed);"
                " log in with another admin key",
                code="key_inactive",
            )
        _require_role(session.key_id, role)
        return Holder(role, department)


def _require_role(key_id: str, role: str) -> None:
    if role not in ROLES:
        raise PermissionDenied(
            f"key {key_id!r} has the role {role!r}; the dashboard needs a key with the role"
            f" {ADMIN!r} or {VIEWER!r} (which may only read), {HEAD!r} (which reads its own"
            f" department's page) or {OWNER!r} (for the consent of its department's models)",
            code="role_not_allowed",
        )
