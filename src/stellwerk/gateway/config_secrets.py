"""The secrets a config references by env var name (its department keys, its backends' API
keys, the dashboard's session secret), resolved once before anything starts: by the gateway's
start-up, and by ``stellwerk config check``, which names a variable that is not set (or a
session secret too short) as the start-up would.

Apart from the runtime, so that the check imports the config and nothing of the running gateway.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from stellwerk.config.loader import resolve_env
from stellwerk.config.schema import StellwerkConfig
from stellwerk.errors import ConfigError
from stellwerk.governance.keys import hash_key

MIN_SECRET = 32
"""The dashboard's session secret has at least this many characters."""


def key_digests(config: StellwerkConfig, environ: Mapping[str, str]) -> dict[str, str]:
    """The config keys' SHA-256 digests -> key id, their values read from ``environ`` (a
    missing variable is a ``ConfigError`` naming it)."""
    names = [k.key_env for d in config.departments for k in d.keys if k.key_env]
    values = resolve_env(names, environ)
    return {
        key.key_sha256 or hash_key(values[key.key_env or ""]): key.id
        for dept in config.departments
        for key in dept.keys
    }


@dataclass(frozen=True)
class Secrets:
    """What the config references by env var name, resolved once before anything starts."""

    key_digests: Mapping[str, str]
    backend_keys: Mapping[str, str]

    @classmethod
    def resolve(cls, config: StellwerkConfig, environ: Mapping[str, str]) -> Secrets:
        digests = key_digests(config, environ)
        names = [b.api_key_env for b in config.backends if b.api_key_env]
        return cls(digests, resolve_env(names, environ))


def session_secret(config: StellwerkConfig, environ: Mapping[str, str]) -> bytes:
    """The dashboard's session secret, from ``dashboard.session_secret_env`` (a random one for
    this process when the config names none: sessions then end with it and hold on one replica
    only); a variable not set, or shorter than ``MIN_SECRET``, is a ``ConfigError`` naming it."""
    name = config.dashboard.session_secret_env
    if name is None:
        return secrets.token_bytes(32)
    value = resolve_env([name], environ)[name]
    if len(value) < MIN_SECRET:
        raise ConfigError(
            f"dashboard.session_secret_env: the secret in {name} has {len(value)} characters;"
            f" use at least {MIN_SECRET} (e.g. python -c 'import secrets;"
            " print(secrets.token_urlsafe(32))')"
        )
    return value.encode("utf-8")
