"""``stellwerk serve`` and ``stellwerk config check``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from stellwerk.errors import StellwerkError

ConfigOption = Annotated[
    Path, typer.Option("--config", "-c", help="Path of stellwerk.yaml.", show_default=False)
]


def serve(
    config: ConfigOption,
    host: Annotated[str | None, typer.Option(help="Override server.host.")] = None,
    port: Annotated[int | None, typer.Option(help="Override server.port.")] = None,
    log_level: Annotated[str, typer.Option(help="Log level (uvicorn's and Stellwerk's).")] = "info",
    access_log: Annotated[
        bool, typer.Option(help="One log line per request (at log level info).")
    ] = True,
) -> None:
    """Serve the gateway (OpenAI API on /v1, Ollama API on /api) until interrupted."""
    import uvicorn

    from stellwerk.cli.serve_summary import log_to_stderr, startup_summary
    from stellwerk.config import load_config
    from stellwerk.gateway import create_app
    from stellwerk.gateway.deadlines import http_protocol

    try:
        cfg = load_config(config)
        app = create_app(cfg)
    except StellwerkError as exc:
        typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
        raise typer.Exit(2) from exc
    bind_host, bind_port = host or cfg.server.host, port if port is not None else cfg.server.port
    log_to_stderr(log_level, access_log=access_log)
    for line in startup_summary(cfg, f"http://{bind_host}:{bind_port}", str(config)):
        typer.echo(line, err=True)
    uvicorn.run(
        app,
        host=bind_host,
        port=bind_port,
        log_level=log_level,
        access_log=False,
        loop="uvloop",
        http=http_protocol(cfg.server),  # httptools, with read deadlines
        timeout_graceful_shutdown=round(cfg.server.shutdown_grace_s),
        timeout_keep_alive=round(cfg.server.keep_alive_s),
    )


def check(path: Annotated[Path, typer.Argument(help="Path of stellwerk.yaml.")]) -> None:
    """Validate a config file without serving; exit 2 and name the problem if it is invalid."""
    from stellwerk.config import load_config

    try:
        cfg = load_config(path)
    except StellwerkError as exc:
        typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
        raise typer.Exit(2) from exc
    typer.echo(
        f"{path}: valid ({len(cfg.backends)} backends, {len(cfg.models)} models, "
        f"{len(cfg.departments)} departments, routes: {', '.join(cfg.routes)})"
    )


def register(app: typer.Typer) -> None:
    app.command()(serve)
    config_app = typer.Typer(help="Work with config files.", no_args_is_help=True)
    config_app.command("check")(check)
    app.add_typer(config_app, name="config")
