"""docs/router.md names every router command and every one of their options."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import typer

from stellwerk.cli.main import build_app

DOC = (Path(__file__).resolve().parents[2] / "docs" / "router.md").read_text(encoding="utf-8")


def _commands() -> list[tuple[str, Any]]:
    root: Any = typer.main.get_command(build_app())
    router = root.commands["router"]
    return [
        ("stellwerk router train", router.commands["train"]),
        ("stellwerk router eval", router.commands["eval"]),
        ("stellwerk route", root.commands["route"]),
    ]


@pytest.mark.parametrize(("name", "command"), _commands(), ids=lambda v: str(v))
def test_every_command_and_option_is_documented(name: str, command: Any) -> None:
    assert name in DOC
    for param in command.params:
        for opt in param.opts:
            if opt.startswith("--"):
                assert opt in DOC, f"{name}: {opt} is not in docs/router.md"
