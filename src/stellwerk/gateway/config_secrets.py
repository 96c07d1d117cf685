"""The secrets a config references by env var name (its department keys, its backends' API
keys, the graded records' noise key), resolved once before anything starts: by the gateway's
start-up, and by ``stellwerk config check``, which names a variable that is not set as the
start-up would (the dashboard's session secret: ``config.session_secret``).

Apart from the runtime, so that the check imports the config and nothing of the running gateway.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from stellwerk.config.loader import resolve_env
from stellwerk.config.schema import StellwerkConfig
from stellwerk.config.session_secret import record_key
from stellwerk.errors import ConfigError
from stellwerk.governance.keys import hash_key

MIN_KEY = 16
"""A key given by ``key_env`` has at least this many characters: the ``config.load`` audit
entry keeps the first 12 hex digits of its SHA-256 (``env_key_hashes``), against which a short
key is guessed offline. A key ``stellwerk keys create`` or ``POST /admin/keys`` makes has 50
(``governance.keys``); one given as ``key_sha256`` cannot be checked."""


def key_digests(config: StellwerkConfig, environ: Mapping[str, str]) -> dict[str, str]:
    """The config keys' SHA-256 digests -> key id, their values read from ``environ`` (a
    missing variable, a key shorter than ``MIN_KEY`` or one with whitespace around it, is a
    ``ConfigError`` naming the key and its variable, never the value; every such key at once,
    so that one attempt names them all)."""
    names = [k.key_env for d in config.departments for k in d.keys if k.key_env]
    values = resolve_env(names, environ)
    problems = [
        problem
        for i, dept in enumerate(config.departments)
        for j, key in enumerate(dept.keys)
        if key.key_env
        and (
            problem := _key_problem(
                f"departments.{i}.keys.{j}.key_env", key.id, key.key_env, values
            )
        )
    ]
    if problems:
        raise ConfigError("; ".join(problems))
    return {
        key.key_sha256 or hash_key(values[key.key_env or ""]): key.id
        for dept in config.departments
        for key in dept.keys
    }


def _key_problem(where: str, key_id: str, name: str, values: Mapping[str, str]) -> str | None:
    """What is wrong with a ``key_env`` key that no client could send, or that is guessed
    offline, named with its variable (never its value): one that is blank or begins or ends with
    whitespace (an HTTP header's value loses it, so the key never matched), or one shorter than
    ``MIN_KEY``; ``None`` for a good one."""
    value = values[name]
    if value != value.strip() or not value:
        what = "is only whitespace" if not value.strip() else "begins or ends with whitespace"
        return (
            f"{where}: the key {key_id!r} in {name} {what}, which no request's header keeps;"
            ' set it without (e.g. echo "sk-stw-$(openssl rand -hex 32)")'
        )
    if len(value) < MIN_KEY:
        return (
            f"{where}: the key {key_id!r} in {name} has {len(value)} characters; use at least"
            f' {MIN_KEY}, random (e.g. echo "sk-stw-$(openssl rand -hex 32)")'
        )
    return None


def env_key_hashes(config: StellwerkConfig, environ: Mapping[str, str]) -> dict[str, str]:
    """Key id -> the SHA-256 of a ``key_env`` key's value, for the variables set in ``environ``
    (what the ``config.load`` audit entry records of them: the first 12 hex digits)."""
    return {
        key.id: hash_key(environ[key.key_env])
        for dept in config.departments
        for key in dept.keys
        if key.key_env and environ.get(key.key_env)
    }


@dataclass(frozen=True)
class Secrets:
    """What the config references by env var name, resolved once before anything starts."""

    key_digests: Mapping[str, str]
    backend_keys: Mapping[str, str]
    record_key: bytes
    """The graded records' noise key (``config.session_secret.record_key``)."""

    @classmethod
    def resolve(cls, config: StellwerkConfig, environ: Mapping[str, str]) -> Secrets:
        digests = key_digests(config, environ)
        names = [b.api_key_env for b in config.backends if b.api_key_env]
        return cls(digests, resolve_env(names, environ), record_key(config, environ))
