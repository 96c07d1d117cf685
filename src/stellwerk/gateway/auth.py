"""Who asks: department keys from the config, stored only as SHA-256 digests.

Keys are high-entropy random strings, so one round of SHA-256 is enough (a slow password hash
protects guessable secrets; these are not guessable). Entries are indexed by the first 16 hex
digits of the digest; the whole digest is then compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass

from stellwerk.config.loader import resolve_env
from stellwerk.config.schema import StellwerkConfig
from stellwerk.errors import AuthenticationFailed


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller of one request, as its key says."""

    key_id: str
    department: str
    role: str
    classification: str
    allowed_models: frozenset[str] | None


def digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class Keyring:
    """Digest -> principal, built once at start-up."""

    def __init__(self, principals: Mapping[str, Principal]) -> None:
        self._index = {d[:16]: (d, p) for d, p in principals.items()}

    @classmethod
    def from_config(cls, config: StellwerkConfig, environ: Mapping[str, str]) -> Keyring:
        names = [k.key_env for d in config.departments for k in d.keys if k.key_env]
        values = resolve_env(names, environ)
        principals: dict[str, Principal] = {}
        for dept in config.departments:
            allowed = frozenset(dept.allowed_models) if dept.allowed_models is not None else None
            for key in dept.keys:
                key_digest = key.key_sha256 or digest(values[key.key_env or ""])
                principals[key_digest] = Principal(
                    key_id=key.id,
                    department=dept.name,
                    role="user",
                    classification=dept.classification,
                    allowed_models=allowed,
                )
        return cls(principals)

    def authenticate(self, authorization: str | None) -> Principal:
        """The principal of an ``Authorization: Bearer <key>`` header, or 401."""
        if not authorization:
            raise AuthenticationFailed("no API key: send 'Authorization: Bearer <key>'")
        scheme, _, key = authorization.partition(" ")
        key = key.strip()
        if scheme.lower() != "bearer" or not key:
            raise AuthenticationFailed("malformed Authorization header: use 'Bearer <key>'")
        presented = digest(key)
        entry = self._index.get(presented[:16])
        if entry is None or not hmac.compare_digest(entry[0], presented):
            raise AuthenticationFailed("unknown API key")
        return entry[1]
