"""The gateway: the FastAPI app built by ``create_app(config)``."""

from stellwerk.gateway.app import create_app

__all__ = ["create_app"]
