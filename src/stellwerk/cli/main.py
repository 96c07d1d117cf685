"""Entry point of the ``stellwerk`` command: one Typer app, sub-apps registered here."""

from __future__ import annotations

import typer

from stellwerk.build_info import describe
from stellwerk.cli import (
    audit_cmd,
    calibrate_cmd,
    demo_cmd,
    governance_cmd,
    init_cmd,
    limits_cmd,
    route_cmd,
    router_cmd,
    serve_cmd,
)
from stellwerk.cli.help_text import plain_helps


def build_app() -> typer.Typer:
    """Assemble the command tree; nothing runs at import."""
    app = typer.Typer(
        name="stellwerk",
        help="Stellwerk: one OpenAI- and Ollama-compatible endpoint for your own open models.",
        no_args_is_help=True,
        add_completion=False,
    )

    @app.callback()
    def root() -> None:
        """Stellwerk: one OpenAI- and Ollama-compatible endpoint for your own open models."""

    @app.command()
    def version() -> None:
        """Print the version, the git commit when run from a checkout, and the ledger schema
        revision this build expects (a ledger migrated past it is refused)."""
        typer.echo(describe())

    serve_cmd.register(app)
    demo_cmd.register(app)
    init_cmd.register(app)
    calibrate_cmd.register(app)
    governance_cmd.register(app)
    audit_cmd.register(app)
    limits_cmd.register(app)
    router_cmd.register(app)
    route_cmd.register(app)
    plain_helps(app)
    return app


def main() -> None:
    build_app()()
