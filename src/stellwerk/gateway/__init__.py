"""The gateway: the FastAPI app built by ``create_app(config)``, run by a server or, without one,
by ``started(app)``."""

from stellwerk.gateway.app import create_app, started

__all__ = ["create_app", "started"]
