"""Turning a plan into ``stellwerk.yaml`` (validated with the gateway's own schema before a
byte is written) and the engine script beside it.

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
from stellwerk.configurator.engines import Served
from stellwerk.errors import ConfigError

PRICE_PER_ACTIVE_B = {"input_per_mtok": 0.01, "output_per_mtok": 0.02}
ENGINE_SCRIPT_SUFFIX = "-engine.sh"
ADMIN_KEY_ENV = "STELLWERK_ADMIN_KEY"
LEDGER_URL = "sqlite:///stellwerk.db"


@dataclass(frozen=True, slots=True)
class Written:
    config: Path
    script: Path | None


def engine_script_path(config_path: Path) -> Path:
    """The engine script beside a config, named after it (``stellwerk.yaml``:
    ``stellwerk-engine.sh``, ``gpu2.yaml``: ``gpu2-engine.sh``), so that two configs in one
    folder each have their own."""
    return config_path.with_name(config_path.stem + ENGINE_SCRIPT_SUFFIX)


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
) -> dict[str, object]:
    """The config as plain data, in the shape ``stellwerk.config.parse_config`` reads."""
    models = []
    for row in served:
        models.append(
            {
                "id": row.model_id,
                "backend": row.backend,
                "upstream": row.upstream,
                "params_b": row.params_b,
                "size_class": row.size_class,
                "context_length": row.context_length,
                "capabilities": _with_json(row.capabilities),
                "languages": list(row.languages),
                "licence": row.licence,
                "openness": row.openness,
                "hosting": "on_prem",
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
        "server": {"host": "127.0.0.1", "port": 8080, "database_url": LEDGER_URL},
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
    comments = "".join(f"# {line}".rstrip() + "\n" for line in header)
    body = yaml.safe_dump(
        raw, sort_keys=False, allow_unicode=True, width=100, default_flow_style=None
    )
    return comments + ("\n" if comments else "") + body


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
    _atomic_write(config_path, config_text, mode=0o644)
    if script_path is not None:
        script = "#!/usr/bin/env bash\n# written by `stellwerk init`\nset -euo pipefail\n"
        script += "\n".join(script_lines) + "\nwait\n"
        _atomic_write(script_path, script, mode=0o755)
    return Written(config_path, script_path)


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
