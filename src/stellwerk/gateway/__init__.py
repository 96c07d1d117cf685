"""The gateway: the FastAPI app built by ``create_app(config)``, run by a server or, without one,
by ``started(app)``.

Both are imported from ``stellwerk.gateway.app`` when first asked for (PEP 562), so importing one
module of the gateway (``stellwerk.gateway.config_secrets`` for ``stellwerk config check``,
``stellwerk.gateway.auth``) does not import the whole app (FastAPI, the dashboard, SciPy).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from stellwerk.gateway.app import create_app, started

__all__ = ["create_app", "started"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(import_module("stellwerk.gateway.app"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
