"""Who asks: department keys from the config, stored only as SHA-256 digests.

Keys are high-entropy random strings, so one round of SHA-256 is enough (a slow password hash
protects guessable secrets; these are not guessable). Entries are indexed by the first 16 hex
digits of the digest; the whole digest is then compared in constant time.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Mapping

from stellwerk.config.loader import resolve_env
from stellwerk.config.schema import StellwerkConfig
from stellwerk.errors import AuthenticationFailed
from stellwerk.governance.keys import hash_key
from stellwerk.governance.principal import Principal as Principal
from stellwerk.governance.principal import key_principal


class Keyring:
    """Digest -> principal, built once at start-up."""

    def __init__(
        self,
        principals: Mapping[str, Principal],
        more: Callable[[str], Principal | None] | None = None,
    ) -> None:
        self._index = {d[:16]: (d, p) for d, p in principals.items()}
        self._more = more  # keys kept elsewhere (the governance key store), looked up by digest

    @classmethod
    def from_config(
        cls,
        config: StellwerkConfig,
        environ: Mapping[str, str],
        more: Callable[[str], Principal | None] | None = None,
    ) -> Keyring:
        names = [k.key_env for d in config.departments for k in d.keys if k.key_env]
        values = resolve_env(names, environ)
        principals: dict[str, Principal] = {}
        departments = {d.name: d for d in config.departments}
        use_cases = {u.name: u for u in config.use_cases}
        for dept in config.departments:
            for key in dept.keys:
                key_digest = key.key_sha256 or hash_key(values[key.key_env or ""])
                principals[key_digest] = key_principal(
                    key_id=key.id,
                    department=dept.name,
                    role=key.role,
                    use_case=key.use_case,
                    classification=key.classification,
                    departments=departments,
                    use_cases=use_cases,
                )
        return cls(principals, more)

    def extended(self, more: Callable[[str], Principal | None]) -> Keyring:
        """This keyring, looking up keys it does not hold with ``more`` (by SHA-256 digest)."""
        keyring = Keyring({}, more)
        keyring._index = self._index
        return keyring

    def authenticate(self, authorization: str | None) -> Principal:
        """The principal of an ``Authorization: Bearer <key>`` header, or 401."""
        if not authorization:
            raise AuthenticationFailed("no API key: send 'Authorization: Bearer <key>'")
        scheme, _, key = authorization.partition(" ")
        key = key.strip()
        if scheme.lower() != "bearer" or not key:
            raise AuthenticationFailed("malformed Authorization header: use 'Bearer <key>'")
        presented = hash_key(key)
        entry = self._index.get(presented[:16])
        if entry is not None and hmac.compare_digest(entry[0], presented):
            return entry[1]
        found = self._more(presented) if self._more is not None else None
        if found is None:
            raise AuthenticationFailed("unknown API key")
        return found
