"""Who may open the dashboard: holders of an API key with the ``admin`` role.

Admin keys come from the config (``departments[].keys[]`` with ``role: admin``, by env var or
SHA-256) or from the key store in the database. A key is checked once at login; each later
request checks that the session's key is still an active admin key, so revoking it ends its
sessions at once.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from stellwerk.config.loader import resolve_env
from stellwerk.config.schema import StellwerkConfig
from stellwerk.dashboard.session import KeySource, Session
from stellwerk.errors import AuthenticationFailed, NotFound, PermissionDenied
from stellwerk.governance.key_store import KeyStore

ADMIN = "admin"


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class AdminDirectory:
    """The config's keys by digest, with their roles; database keys are asked of the key store."""

    def __init__(self, config: StellwerkConfig, environ: Mapping[str, str]) -> None:
        names = [k.key_env for d in config.departments for k in d.keys if k.key_env]
        values = resolve_env(names, environ)
        self._config_keys: dict[str, tuple[str, str]] = {}
        for dept in config.departments:
            for key in dept.keys:
                digest = key.key_sha256 or _digest(values[key.key_env or ""])
                self._config_keys[digest] = (key.id, key.role)
        self._config_roles = {key_id: role for key_id, role in self._config_keys.values()}

    def login(self, presented: str, store: KeyStore) -> tuple[str, KeySource]:
        """The key id and source of an admin key; 401 for an unknown key, 403 for a non-admin."""
        key = presented.strip()
        if not key:
            raise AuthenticationFailed("enter an admin key", code="login_failed")
        digest = _digest(key)
        for stored, (key_id, role) in self._config_keys.items():
            if hmac.compare_digest(stored, digest):
                _require_admin(key_id, role)
                return key_id, "config"
        try:
            info = store.authenticate(key)
        except AuthenticationFailed as exc:
            raise AuthenticationFailed(exc.message, code="login_failed") from exc
        _require_admin(info.key_id, info.role)
        return info.key_id, "database"

    def check(self, session: Session, store: KeyStore) -> None:
        """Refuse a session whose key was revoked or lost its admin role since login."""
        if session.source == "config":
            role = self._config_roles.get(session.key_id)
            if role is None:
                raise AuthenticationFailed(
                    f"key {session.key_id!r} is no longer in the config", code="login_required"
                )
            _require_admin(session.key_id, role)
            return
        try:
            info = store.get(session.key_id)
        except NotFound as exc:
            raise AuthenticationFailed(exc.message, code="login_required") from exc
        if not info.active:
            raise AuthenticationFailed(
                f"key {info.key_id!r} has been revoked; log in with another admin key",
                code="login_required",
            )
        _require_admin(info.key_id, info.role)


def _require_admin(key_id: str, role: str) -> None:
    if role != ADMIN:
        raise PermissionDenied(
            f"key {key_id!r} has the role {role!r}; the dashboard needs a key with the role"
            f" {ADMIN!r}",
            code="not_admin",
        )
