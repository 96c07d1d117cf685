"""Docs are checked where they can be: every config key and CLI command is documented."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer.main
from pydantic import BaseModel
from typer.core import TyperGroup

from stellwerk.cli.main import build_app
from stellwerk.config.schema import StellwerkConfig

ROOT = Path(__file__).resolve().parent.parent


def _keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    keys = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        inner = getattr(annotation, "__args__", (annotation,))
        nested = [a for a in inner if isinstance(a, type) and issubclass(a, BaseModel)]
        is_list = getattr(annotation, "__origin__", None) is tuple
        is_map = getattr(annotation, "__origin__", None) is dict
        path = f"{prefix}{name}{'[]' if is_list and nested else ''}"
        if is_map and nested:
            keys.append(path)
            keys += _keys(nested[0], f"{path}.*.")
        elif nested:
            keys.append(path)
            keys += _keys(nested[0], f"{path}.")
        else:
            keys.append(path)
    return keys


def test_every_config_key_is_documented() -> None:
    text = (ROOT / "docs" / "config.md").read_text()
    missing = [key for key in _keys(StellwerkConfig) if f"`{key}`" not in text]
    assert not missing, f"undocumented config keys in docs/config.md: {missing}"


def _commands(group: Any, prefix: str = "") -> list[str]:
    # Typer's own group class (Typer carries its own copy of click, not ``click.Group``)
    if not isinstance(group, TyperGroup):
        return [prefix.strip()]
    names = []
    for name, command in group.commands.items():
        names += _commands(command, f"{prefix}{name} ")
    return names


def test_every_cli_command_is_documented() -> None:
    text = (ROOT / "docs" / "cli.md").read_text()
    commands = _commands(typer.main.get_command(build_app()))
    assert "keys create" in commands  # the walk reaches the subcommands
    missing = [c for c in commands if f"stellwerk {c}" not in text]
    assert not missing, f"undocumented commands in docs/cli.md: {missing}"
