"""``stellwerk serve`` and ``stellwerk config check``."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from stellwerk.cli.whole_number import port_number
from stellwerk.errors import ConfigError, StellwerkError

if TYPE_CHECKING:
    from stellwerk.config.schema import StellwerkConfig

ConfigOption = Annotated[
    Path, typer.Option("--config", "-c", help="Path of stellwerk.yaml.", show_default=False)
]


def serve(
    config: ConfigOption,
    host: Annotated[str | None, typer.Option(help="Override server.host.")] = None,
    port: Annotated[
        int | None, typer.Option(parser=port_number(), help="Override server.port.")
    ] = None,
    log_level: Annotated[str, typer.Option(help="Log level (uvicorn's and Stellwerk's).")] = "info",
    access_log: Annotated[
        bool, typer.Option(help="One log line per request (at log level info).")
    ] = True,
) -> None:
    """Serve the gateway (OpenAI API on /v1, Ollama API on /api) until interrupted.

    Model ids that serve the same weights with a different data owner or lifecycle are named in
    a warning, as ``config check`` names them; with different hosting the config is refused
    (``config.weights``)."""
    import uvicorn

    from stellwerk.cli.serve_summary import log_to_stderr, startup_summary
    from stellwerk.config import load_config
    from stellwerk.gateway import create_app
    from stellwerk.gateway.deadlines import http_protocol
    from stellwerk.governance.catalog import Catalog
    from stellwerk.ledger.ledger import open_ledger

    try:
        cfg = load_config(config)
    except StellwerkError as exc:
        typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
        raise typer.Exit(2) from exc
    # every variable not set named at once, as `config check --env` does (the start-up's own
    # checks stop at the first group of them), before the ledger is opened or created
    if _said(environment_problems(cfg, os.environ), refused=True):
        raise typer.Exit(2)
    _same_weights(cfg)
    try:
        # the ledger opened (and migrated) before the server starts: a database it cannot reach
        # is this error line, not a traceback of the server's start-up; the app's start takes
        # this one over rather than opening (and checking its migrations) once more
        ledger = open_ledger(cfg.server.database_url)
        try:
            # the state the gateway will enforce: the catalog's, which its start seeds only
            # with the models it lacks (the banner showed the config's, misleading once changed)
            catalog = {state.id: state for state in Catalog(ledger, cfg).states()}
            app = create_app(cfg, ledger=ledger)
        except BaseException:
            ledger.close()
            raise
    except StellwerkError as exc:
        typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
        raise typer.Exit(2) from exc
    bind_host, bind_port = host or cfg.server.host, port if port is not None else cfg.server.port
    log_to_stderr(log_level, access_log=access_log)
    for line in startup_summary(cfg, f"http://{bind_host}:{bind_port}", str(config), catalog):
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


def check(
    path: Annotated[Path, typer.Argument(help="Path of stellwerk.yaml.")],
    env: Annotated[
        bool,
        typer.Option(
            "--env",
            help="Also require the environment variables the config references (keys, backend "
            "tokens, the Redis password, the dashboard's session secret of 32 characters or "
            "more), as `stellwerk serve` does; exit 2 if one is not set.",
        ),
    ] = False,
) -> None:
    """Validate a config file without serving; exit 2 and name the problem if it is invalid.

    Variables the config references that are not set are named too: a warning, or with
    ``--env`` an error (what a service unit should check before it starts the gateway). Models
    without a stated ``hosting`` or ``lifecycle`` are named in a warning (``config.unstated``),
    and so are model ids that serve the same weights with a different data owner or lifecycle;
    ids of the same weights with different hosting make the config invalid (``config.weights``).
    With shadow grading on, a ``reference_max_tokens`` that leaves the judging call too little
    room in every chat model's context is named in a warning (``gateway.shadow_room``)."""
    from stellwerk.config import load_config
    from stellwerk.config.unstated import unstated_warnings

    try:
        cfg = load_config(path)
    except StellwerkError as exc:
        typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
        raise typer.Exit(2) from exc
    if _said(environment_problems(cfg, os.environ), refused=env) and env:
        raise typer.Exit(2)
    for warning in unstated_warnings(cfg):
        typer.secho(f"warning: {warning}", err=True, fg=typer.colors.YELLOW)
    _same_weights(cfg)
    _unservable(cfg)
    if cfg.router.shadow.share > 0:  # the judging call's room (only then: it needs the gateway's)
        from stellwerk.gateway.shadow_room import shadow_room_warnings

        for warning in shadow_room_warnings(cfg):
            typer.secho(f"warning: {warning}", err=True, fg=typer.colors.YELLOW)
    typer.echo(
        f"{path}: valid ({len(cfg.backends)} backends, {len(cfg.models)} models, "
        f"{len(cfg.departments)} departments, routes: {', '.join(cfg.routes)})"
    )


def _said(problems: list[str], *, refused: bool) -> bool:
    """Print ``problems`` on stderr, as errors (``serve``, ``config check --env``) or as warnings
    (``config check``); whether there were any."""
    for problem in problems:
        if refused:
            typer.secho(f"error: {problem}", err=True, fg=typer.colors.RED)
        else:
            typer.secho(
                f"warning: {problem} (`stellwerk serve` would refuse to start here)",
                err=True,
                fg=typer.colors.YELLOW,
            )
    return bool(problems)


def _same_weights(config: StellwerkConfig) -> None:
    """Warn of model ids that serve the same weights but differ in data owner or lifecycle: a
    warning, not a refusal (consent holds for the weights whatever the ids say, and a lifecycle
    may differ on purpose: an id retired whose weights serve on under a new one). Different
    hosting is no warning: ``load_config`` refused it (``config.weights.hosting_errors``)."""
    from stellwerk.config.weights import weights_warnings

    for warning in weights_warnings(config):
        typer.secho(f"warning: {warning}", err=True, fg=typer.colors.YELLOW)


def _unservable(config: StellwerkConfig) -> None:
    """Warn of each use case no model may serve as the config seeds the catalog: a warning, as
    the gateway starts all the same (a model may be approved or re-hosted later)."""
    from stellwerk.policy.reach import unservable_in_config

    for found in unservable_in_config(config):
        typer.secho(
            f"warning: {found.describe()}: every request of a key bound to it is refused",
            err=True,
            fg=typer.colors.YELLOW,
        )


def environment_problems(config: StellwerkConfig, environ: Mapping[str, str]) -> list[str]:
    """What ``stellwerk serve`` would refuse in ``environ``: the variables the config references
    that are not set (and a dashboard session secret too short), read by the same functions the
    gateway resolves them with. Every variable not set is named once, in one problem (the
    start-up's checks stop at the first group of them); ``serve`` refuses these before it opens
    the ledger, so that one attempt names them all."""
    from stellwerk.config.loader import sqlite_file
    from stellwerk.config.session_secret import MIN_SECRET, session_secret
    from stellwerk.gateway.config_secrets import Secrets
    from stellwerk.governance.counters import redis_password

    problems = []
    checks: list[Callable[[StellwerkConfig, Mapping[str, str]], object]] = [
        Secrets.resolve,
        redis_password,
    ]
    names = [k.key_env for d in config.departments for k in d.keys if k.key_env]
    names += [b.api_key_env for b in config.backends if b.api_key_env]
    names.append(config.server.redis_password_env or "")
    names.append(config.router.record_noise_key_env or "")
    if config.dashboard.enabled:
        checks.append(session_secret)
        names.append(config.dashboard.session_secret_env or "")
    missing = [name for name in dict.fromkeys(names) if name and not environ.get(name)]
    if missing:
        problems.append(
            "the config references environment variables that are not set: " + ", ".join(missing)
        )
    # the checks then run with a stand-in for each missing variable, so that they name what
    # else is wrong (a session secret too short) and not the same variables again
    filled = {**environ, **dict.fromkeys(missing, "x" * MIN_SECRET)}
    for resolve in checks:
        try:
            resolve(config, filled)
        except ConfigError as exc:
            problems.append(str(exc))
    ledger = sqlite_file(config.server.database_url)
    if ledger is not None and not ledger.parent.is_dir():
        problems.append(
            f"server.database_url: the SQLite ledger's folder {ledger.parent} does not exist"
        )
    return problems


def register(app: typer.Typer) -> None:
    app.command()(serve)
    config_app = typer.Typer(help="Work with config files.", no_args_is_help=True)
    config_app.command("check")(check)
    app.add_typer(config_app, name="config")
