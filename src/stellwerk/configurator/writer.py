"""Turning a plan into ``stellwerk.yaml`` and the engine script beside it. The config is made
as data, validated with the gateway's own schema, written by the YAML emitter, and its text read
back and validated again (it must hold exactly the data meant) before a byte is written.

Prices are internal cost, not money paid to anyone: the compute a token takes grows with the
parameters active for it, so each model is charged ``PRICE_PER_ACTIVE_B`` units per one
million tokens per billion active parameters (output tokens twice as much, as they are
generated one at a time). Departments are charged in these units; set real ones in the file.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from stellwerk.config import StellwerkConfig, parse_config
from stellwerk.config.plain_text import escaped
from stellwerk.config.yaml_keys import load_yaml
from stellwerk.configurator.engines import Served
from stellwerk.errors import ConfigError

PRICE_PER_ACTIVE_B = {"input_per_mtok": 0.01, "output_per_mtok": 0.02}
ENGINE_SCRIPT_SUFFIX = "-engine.sh"
ADMIN_KEY_ENV = "STELLWERK_ADMIN_KEY"
LEDGER_SUFFIX = ".db"


@dataclass(frozen=True, slots=True)
class Written:
    config: Path
    script: Path | None


def engine_script_path(config_path: Path) -> Path:
    """The engine script beside a config, named after it (``stellwerk.yaml``:
    ``stellwerk-engine.sh``, ``gpu2.yaml``: ``gpu2-engine.sh``), so that two configs in one
    folder each have their own."""
    return config_path.with_name(config_path.stem + ENGINE_SCRIPT_SUFFIX)


def ledger_file(config_path: Path) -> str:
    """The SQLite ledger's file name, beside a config and named after it (``stellwerk.yaml``:
    ``stellwerk.db``, ``gpu24.yaml``: ``gpu24.db``), so that two configs in one folder keep
    their keys, audit logs and budgets apart. A character other than an ASCII letter, digit,
    ``.``, ``_`` or ``-`` becomes ``_`` (a ``?`` or ``#`` would end the URL's path)."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", config_path.stem) + LEDGER_SUFFIX


def ledger_url(config_path: Path) -> str:
    """``server.database_url`` of the config written to ``config_path``: its ledger file as a
    relative SQLite path, which the gateway reads beside the config file."""
    return "sqlite:///" + ledger_file(config_path)


def key_env_name(department: str) -> str:
    return "STELLWERK_KEY_" + re.sub(r"[^A-Za-z0-9]+", "_", department).strip("_").upper()


def _with_json(capabilities: Sequence[str]) -> list[str]:
    """A chat model's capabilities with ``json``: every engine a config is written for (Ollama,
    llama.cpp, vLLM, LocalAI) constrains any model's answer to JSON (a grammar made from the
    schema), and a request asking for JSON goes only to a model with ``json``."""
    out = list(capabilities)
    if "chat" in out and "json" not in out:
        out.append("json")
    return out


def build_config(
    backends: Sequence[dict[str, object]],
    served: Sequence[Served],
    *,
    department: str,
    classification: str,
    database_url: str = "sqlite:///stellwerk.db",
) -> dict[str, object]:
    """The config as plain data, in the shape ``stellwerk.config.parse_config`` reads;
    ``database_url`` is the ledger's (``ledger_url`` of the file it is written to)."""
    models: list[dict[str, object]] = []
    for row in served:
        models.append(
            {
                "id": row.model_id,
                "backend": row.backend,
                "upstream": row.upstream,
                "params_b": row.params_b,
                "size_class": row.size_class,
                "context_length": row.context_length,
                "capabilities": _with_json(row.capabilities)
                if row.json_by_grammar
                else list(row.capabilities),
                **({"thinking_switch": row.thinking_switch} if row.thinking_switch else {}),
                "languages": list(row.languages),
                "licence": row.licence,
                "openness": row.openness,
                **({"hosting": row.hosting} if row.hosting else {}),  # none: not stated
                "lifecycle": row.lifecycle,
                "price": {
                    name: round(per_b * row.active_params_b, 4)
                    for name, per_b in PRICE_PER_ACTIVE_B.items()
                },
            }
        )
    return {
        # the ledger beside the config file (a relative path follows the config, not the
        # working directory)
        "server": {"host": "127.0.0.1", "port": 8080, "database_url": database_url},
        "backends": [dict(b) for b in backends],
        "models": models,
        "departments": [
            {
                "name": department,
                "classification": classification,
                "keys": [
                    {
                        "id": f"{department}-key",
                        "key_env": key_env_name(department),
                        "use_case": use_case_name(department),
                    },
                    {"id": "admin", "role": "admin", "key_env": ADMIN_KEY_ENV},
                ],
            }
        ],
        "use_cases": [
            {
                "name": use_case_name(department),
                "department": department,
                "purpose": "general assistance: drafting, summarising, answering questions",
                "risk_tier": "minimal",
                "classification": classification,
            }
        ],
    }


def use_case_name(department: str) -> str:
    return f"{department}-assistant"


def validate(raw: dict[str, object]) -> StellwerkConfig:
    """The same validation the gateway runs at start-up; a failure here is a bug."""
    return parse_config(raw, source="stellwerk init")


def render(raw: dict[str, object], header: Sequence[str]) -> str:
    """The config's text: ``header`` as comments, ``raw`` as YAML made by the emitter (never by
    pasting values into text). The text is read back before it is returned: it must give
    exactly ``raw`` (no setting more, none less or changed), else a ``ConfigError`` (a bug)."""
    comments = "".join(comment(line) + "\n" for line in header)
    body = yaml.safe_dump(
        raw, sort_keys=False, allow_unicode=True, width=100, default_flow_style=None
    )
    text = comments + ("\n" if comments else "") + body
    parsed = _read(text)
    if parsed != _as_yaml_reads(raw):
        extra = sorted(map(str, set(parsed) - set(raw))) if isinstance(parsed, dict) else []
        raise ConfigError(
            "stellwerk init: the config text would not read back as the config meant"
            + (f" (it adds {', '.join(extra)})" if extra else "")
            + "; nothing written"
        )
    return text


def comment(line: str) -> str:
    """``line`` as one YAML comment line. The header quotes names a catalog file or a server
    gave (a model's name, a served model's id): a line break in one would end the comment, and
    what follows it would be read as settings. So every character a terminal does not show as
    itself (line breaks, U+2028 and U+0085, which YAML also reads as line breaks, direction
    marks ...) is written as its escape (``\\u000a``): the comment stays one line and says
    what the name holds."""
    return f"# {escaped(line)}".rstrip()


def validate_text(text: str) -> StellwerkConfig:
    """``text`` read and validated as the gateway reads a config file (``stellwerk config
    check`` says the same of the file written); a ``ConfigError`` when it would refuse it."""
    return parse_config(_read(text), source="stellwerk init (the text to write)")


def _read(text: str) -> object:
    try:
        return load_yaml(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"stellwerk init: the config text is not valid YAML: {exc}") from exc


def _as_yaml_reads(value: object) -> object:
    """``value`` as YAML gives it back: tuples as lists."""
    if isinstance(value, dict):
        return {key: _as_yaml_reads(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_as_yaml_reads(item) for item in value]
    return value


def write_files(
    config_path: Path,
    config_text: str,
    script_lines: Sequence[str],
    *,
    force: bool,
) -> Written:
    """Write the config and the engine script; refuse to replace either without ``force``.
    Each file is written to a temporary name and renamed, so a crash leaves the old file."""
    script_path = engine_script_path(config_path) if script_lines else None
    targets = [config_path] + ([script_path] if script_path else [])
    if not force:
        existing = [str(p) for p in targets if p.exists()]
        if existing:
            raise ConfigError(
                f"{', '.join(existing)} already exists; nothing written (use --force to overwrite)"
            )
    try:
        _atomic_write(config_path, config_text, mode=0o644)
    except OSError as exc:
        raise ConfigError(f"cannot write {config_path}: {_why(exc)}; nothing written") from exc
    if script_path is not None:
        script = "#!/usr/bin/env bash\n# written by `stellwerk init`\nset -euo pipefail\n"
        script += "\n".join(script_lines) + "\nwait\n"
        try:
            _atomic_write(script_path, script, mode=0o755)
        except OSError as exc:
            raise ConfigError(
                f"cannot write {script_path}: {_why(exc)}; {config_path} was written, the "
                "engine script not"
            ) from exc
    return Written(config_path, script_path)


def _why(exc: OSError) -> str:
    """The system's reason, without the temporary file's name it may give."""
    return exc.strerror or exc.__class__.__name__


def _atomic_write(path: Path, text: str, *, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        Path(tmp).chmod(mode)
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
