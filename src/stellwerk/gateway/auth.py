"""Who asks: department keys from the config, stored only as SHA-256 digests.

Keys are high-entropy random strings, so one round of SHA-256 is enough (a slow password hash
protects guessable secrets; these are not guessable). Entries are indexed by the first 16 hex
digits of the digest; the whole digest is then compared in constant time.

The keyring only recognises keys; what a key stands for (its principal) is looked up at each
request in the governance snapshot, rebuilt at every reload for config and database keys alike.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from stellwerk.config.schema import StellwerkConfig
from stellwerk.errors import AuthenticationFailed
from stellwerk.gateway.config_secrets import key_digests
from stellwerk.governance.keys import hash_key
from stellwerk.governance.principal import Principal as Principal
from stellwerk.governance.service import Governance


class Keyring:
    """The config keys' digests (resolved once at start-up) -> key id; what a key stands for
    from the governance snapshot."""

    def __init__(self, digests: Mapping[str, str], governance: Governance) -> None:
        self._index = {d[:16]: (d, key_id) for d, key_id in digests.items()}
        self._governance = governance

    @classmethod
    def from_config(
        cls, config: StellwerkConfig, environ: Mapping[str, str], governance: Governance
    ) -> Keyring:
        """The config's keys, with their values read from ``environ``."""
        return cls(key_digests(config, environ), governance)

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
            found = self._governance.snapshot.config_principal(entry[1])
        else:
            found = self._governance.snapshot.principal(presented)
        if found is None:
            raise AuthenticationFailed("unknown API key")
        return found
