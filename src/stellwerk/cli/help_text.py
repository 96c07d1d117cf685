"""The help the commands show, from their docstrings: written for Python readers, told plainly.

A docstring wraps its paragraphs at the source's line length and quotes names as reST does
(````--env````); Typer's rich help keeps both, so ``stellwerk config check --help`` showed a
paragraph broken where the source was and ````--env```` literally. ``plain_helps`` rewrites the
help of every command and group of an app before it runs: each paragraph one line (the terminal
wraps it), a name in single backticks as the options' help writes it, and a square bracket
escaped, which rich would read as markup and drop (it ate ``[default: 50]`` once).
"""

from __future__ import annotations

import inspect
import re

import typer

_LITERAL = re.compile(r"``(.+?)``", re.DOTALL)


def plain(text: str) -> str:
    """``text`` (a docstring) as the help shows it."""
    paragraphs = inspect.cleandoc(text).split("\n\n")
    joined = "\n\n".join(" ".join(p.split()) for p in paragraphs if p.strip())
    return _LITERAL.sub(r"`\1`", joined).replace("[", "\\[")


def plain_helps(app: typer.Typer) -> None:
    """Rewrite the help of ``app``'s commands and groups, and of theirs, with ``plain``."""
    if isinstance(app.info.help, str):
        app.info.help = plain(app.info.help)
    for command in app.registered_commands:
        doc = command.help if command.help is not None else inspect.getdoc(command.callback)
        if doc:
            command.help = plain(doc)
    for group in app.registered_groups:
        if group.typer_instance is not None:
            plain_helps(group.typer_instance)
