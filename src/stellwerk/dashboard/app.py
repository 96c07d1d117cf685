"""``install_dashboard``: add the dashboard's pages and static files to the gateway app."""

from __future__ import annotations

import secrets
from collections.abc import Mapping

from fastapi import FastAPI

from stellwerk.config.loader import resolve_env
from stellwerk.config.schema import StellwerkConfig
from stellwerk.dashboard.auth import AdminDirectory
from stellwerk.dashboard.routes import build_router, not_found_router
from stellwerk.dashboard.session import SessionCodec
from stellwerk.dashboard.web import Dashboard, templates
from stellwerk.errors import ConfigError

MIN_SECRET = 32


def session_secret(config: StellwerkConfig, environ: Mapping[str, str]) -> bytes:
    name = config.dashboard.session_secret_env
    if name is None:
        return secrets.token_bytes(32)
    value = resolve_env([name], environ)[name]
    if len(value) < MIN_SECRET:
        raise ConfigError(
            f"dashboard.session_secret_env: the secret in {name} has {len(value)} characters;"
            f" use at least {MIN_SECRET} (e.g. python -c 'import secrets;"
            " print(secrets.token_urlsafe(32))')"
        )
    return value.encode("utf-8")


def install_dashboard(app: FastAPI, config: StellwerkConfig, environ: Mapping[str, str]) -> None:
    """Serve the dashboard under ``/dashboard`` (unless ``dashboard.enabled`` is false)."""
    if not config.dashboard.enabled:
        return
    app.state.dashboard = Dashboard(
        config=config,
        env=templates(),
        codec=SessionCodec(
            session_secret(config, environ), lifetime_s=config.dashboard.session_minutes * 60
        ),
        directory=AdminDirectory(config),
    )
    app.include_router(build_router())
    # last: every other path below the prefix is the dashboard's own 404 page, in HTML
    app.include_router(not_found_router())
