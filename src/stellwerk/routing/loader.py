"""Loading the configured router. (Placeholder until the learned router lands: ``first`` only.)"""

from __future__ import annotations

from stellwerk.config.schema import RouterConfig
from stellwerk.routing.base import FirstAllowedRouter, Router


def load_router(config: RouterConfig) -> Router:
    return FirstAllowedRouter()
