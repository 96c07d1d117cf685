"""The config's own secrets, read from the variables it names: the dashboard's session secret
(``dashboard.session_secret_env``) and the graded records' noise key
(``router.record_noise_key_env``), by the gateway when it starts, and by ``stellwerk config check
--env``, which refuses what the start-up would refuse."""

from __future__ import annotations

import secrets
from collections.abc import Mapping

from stellwerk.config.loader import resolve_env
from stellwerk.config.schema import StellwerkConfig
from stellwerk.errors import ConfigError

MIN_SECRET = 32
"""A secret the config names has at least this many characters."""


def named_secret(setting: str, name: str | None, environ: Mapping[str, str]) -> bytes:
    """The secret in the variable ``name`` (config setting ``setting``), or a random one for this
    process when the config names none; a variable not set, or shorter than ``MIN_SECRET``, is a
    ``ConfigError`` naming it."""
    if name is None:
        return secrets.token_bytes(32)
    value = resolve_env([name], environ)[name]
    if len(value) < MIN_SECRET:
        raise ConfigError(
            f"{setting}: the secret in {name} has {len(value)} characters;"
            f" use at least {MIN_SECRET} (e.g. python -c 'import secrets;"
            " print(secrets.token_urlsafe(32))')"
        )
    return value.encode("utf-8")


def session_secret(config: StellwerkConfig, environ: Mapping[str, str]) -> bytes:
    """The dashboard's session secret (a random one for this process when the config names none:
    sessions then end with it and hold on one replica only)."""
    name = config.dashboard.session_secret_env
    return named_secret("dashboard.session_secret_env", name, environ)


def record_key(config: StellwerkConfig, environ: Mapping[str, str]) -> bytes:
    """The key half of a graded record's noise is drawn with (``routing.record_noise``; a random
    one for this process when the config names none: the records of one prompt then share that
    half only while the process runs)."""
    return named_secret("router.record_noise_key_env", config.router.record_noise_key_env, environ)
