"""Who asks: department keys from the config, stored only as SHA-256 digests.

Keys are high-entropy random strings, so one round of SHA-256 is enough (a slow password hash
protects guessable secrets; these are not guessable). Entries are indexed by the first 16 hex
digits of the digest; the whole digest is then compared in constant time.

The keyring only recognises keys; what a key stands for (its principal) comes from a
``Principals`` source looked up at each request: the governance snapshot, rebuilt at every reload
for config and database keys alike, or, in a gateway without the governance layer, the config
keys' principals as the config gave them at start-up.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from stellwerk.config.loader import resolve_env
from stellwerk.config.schema import StellwerkConfig
from stellwerk.errors import AuthenticationFailed
from stellwerk.governance.keys import hash_key
from stellwerk.governance.principal import Principal as Principal
from stellwerk.governance.principal import config_key_principals


class Principals(Protocol):
    """Where the keyring finds what a key stands for now (the governance snapshot of the moment:
    ``gateway.governance.SnapshotPrincipals``)."""

    def config_principal(self, key_id: str) -> Principal | None:
        """A config key's principal by its id."""
        ...

    def principal(self, digest: str) -> Principal | None:
        """A key the config does not hold (a database key) by its SHA-256."""
        ...


@dataclass(frozen=True, slots=True)
class StartupPrincipals:
    """Without the governance layer: the config keys as the config gave them, no other keys."""

    config_keys: Mapping[str, Principal]

    def config_principal(self, key_id: str) -> Principal | None:
        return self.config_keys.get(key_id)

    def principal(self, digest: str) -> Principal | None:
        return None


class Keyring:
    """The config keys' digests (resolved once at start-up) -> key id; principals from a source."""

    def __init__(self, digests: Mapping[str, str], principals: Principals) -> None:
        self._index = {d[:16]: (d, key_id) for d, key_id in digests.items()}
        self._principals = principals

    @classmethod
    def from_config(
        cls,
        config: StellwerkConfig,
        environ: Mapping[str, str],
        principals: Principals | None = None,
    ) -> Keyring:
        """The config's keys, with their values read from ``environ``; ``principals`` default:
        the config's own facts (its use cases), fixed from now on."""
        names = [k.key_env for d in config.departments for k in d.keys if k.key_env]
        values = resolve_env(names, environ)
        digests = {
            key.key_sha256 or hash_key(values[key.key_env or ""]): key.id
            for dept in config.departments
            for key in dept.keys
        }
        if principals is None:
            use_cases = {u.name: u for u in config.use_cases}
            principals = StartupPrincipals(config_key_principals(config, use_cases))
        return cls(digests, principals)

    def governed_by(self, principals: Principals) -> Keyring:
        """This keyring's keys, standing for what ``principals`` (the governance snapshot) says."""
        keyring = Keyring({}, principals)
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
            found = self._principals.config_principal(entry[1])
        else:
            found = self._principals.principal(presented)
        if found is None:
            raise AuthenticationFailed("unknown API key")
        return found
