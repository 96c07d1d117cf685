"""The dashboard's session secret, read from the variable ``dashboard.session_secret_env``
names: by the dashboard when the gateway starts, and by ``stellwerk config check --env``, which
refuses what the start-up would refuse."""

from __future__ import annotations

import secrets
from collections.abc import Mapping

from stellwerk.config.loader import resolve_env
from stellwerk.config.schema import StellwerkConfig
from stellwerk.errors import ConfigError

MIN_SECRET = 32
"""The dashboard's session secret has at least this many characters."""


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
