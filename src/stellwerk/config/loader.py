"""Reading ``stellwerk.yaml``: YAML -> validated ``StellwerkConfig``, with errors that name the
file and the key path (``models.2.size_class: Input should be 'small', 'medium' or 'large'``).

A relative SQLite ledger path (the default ``sqlite:///stellwerk.db``) names a file in the config
file's folder, not in the working directory: every command given the same ``--config`` opens the
same ledger, wherever it is run from.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import yaml
from pydantic import ValidationError

from stellwerk.config.schema import StellwerkConfig
from stellwerk.config.weights import refuse_split_hosting
from stellwerk.config.yaml_keys import load_yaml
from stellwerk.errors import ConfigError

if TYPE_CHECKING:
    from sqlalchemy.engine import URL


def load_config(path: str | Path) -> StellwerkConfig:
    """Read and validate a config file; every problem is a ``ConfigError`` naming the file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the config file ({exc.strerror})") from exc
    try:
        raw = load_yaml(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    config = parse_config(raw, source=str(path)).read_from(str(path.resolve()))
    database_url = ledger_beside(config.server.database_url, path.parent)
    if database_url == config.server.database_url:
        return config
    server = config.server.model_copy(update={"database_url": database_url})
    return config.model_copy(update={"server": server})


def ledger_beside(database_url: str, folder: Path) -> str:
    """``database_url`` with a relative SQLite file path made absolute against ``folder``; any
    other URL (absolute, in memory, a ``file:`` URI, PostgreSQL, or not a URL) unchanged."""
    url = _sqlite_file_url(database_url)
    if url is None or Path(url.database or "").is_absolute():
        return database_url
    absolute = (folder / (url.database or "")).resolve()
    return url.set(database=str(absolute)).render_as_string(hide_password=False)


def sqlite_file(database_url: str) -> Path | None:
    """The file of a SQLite ledger (as the URL names it: ``load_config`` made it absolute), or
    None: another database, in memory, a ``file:`` URI, or not a URL."""
    url = _sqlite_file_url(database_url)
    return None if url is None else Path(url.database or "")


def _sqlite_file_url(database_url: str) -> URL | None:
    """``database_url`` parsed, where it names a SQLite database file; else None."""
    # SQLAlchemy's URL names the backend by the scheme's part before any "+": a URL that starts
    # otherwise is no SQLite URL, and is left as it is without importing SQLAlchemy (~0.2 s of
    # `stellwerk config check`).
    if not database_url.startswith(("sqlite://", "sqlite+")):
        return None
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        url = make_url(database_url)
    except ArgumentError:
        return None  # the ledger names the bad URL when it is opened
    database = url.database or ""
    if url.get_backend_name() != "sqlite" or database in ("", ":memory:"):
        return None
    return None if database.startswith("file:") else url


def parse_config(raw: object, *, source: str = "<config>") -> StellwerkConfig:
    """Validate an already parsed mapping (from YAML, JSON or code); model ids of the same
    weights that state different hosting are refused too (``config.weights``)."""
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{source}: the top level must be a mapping of sections")
    try:
        config = StellwerkConfig.model_validate(raw)
    except ValidationError as exc:
        lines = [_describe(err) for err in exc.errors()]
        raise ConfigError(f"{source}: invalid config:\n  " + "\n  ".join(lines)) from exc
    refuse_split_hosting(config, source)  # across models and backends: after their validation
    return config


def config_hash(config: StellwerkConfig) -> str:
    """A short stable hash of the validated config; stored with every usage record."""
    canonical = orjson.dumps(config.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).hexdigest()[:16]


def resolve_env(names: list[str], environ: Mapping[str, str]) -> dict[str, str]:
    """Look up the environment variables the config references; a missing one is an error."""
    missing = [name for name in dict.fromkeys(names) if not environ.get(name)]
    if missing:
        raise ConfigError(
            "the config references environment variables that are not set: " + ", ".join(missing)
        )
    return {name: environ[name] for name in names}


def _describe(err: Mapping[str, Any]) -> str:
    path = ".".join(str(part) for part in err.get("loc", ()))
    message = str(err.get("msg", "invalid"))
    if err.get("type") == "extra_forbidden":
        message = "unknown key"
    if message.startswith("Value error, "):
        message = message.removeprefix("Value error, ")
    return f"{path}: {message}" if path else message
