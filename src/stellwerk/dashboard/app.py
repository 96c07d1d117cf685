"""``install_dashboard``: add the dashboard's pages and static files to the gateway app."""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import FastAPI

from stellwerk.config.schema import StellwerkConfig
from stellwerk.config.session_secret import session_secret
from stellwerk.dashboard.auth import AdminDirectory
from stellwerk.dashboard.routes import build_router, not_found_router
from stellwerk.dashboard.session import SessionCodec
from stellwerk.dashboard.web import Dashboard, templates


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
