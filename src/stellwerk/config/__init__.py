"""Config: one YAML file, validated at start-up into frozen pydantic models."""

from stellwerk.config.loader import load_config, parse_config
from stellwerk.config.schema import (
    BackendConfig,
    DepartmentConfig,
    KeyConfig,
    ModelConfig,
    RouteConfig,
    RouterConfig,
    ServerConfig,
    StellwerkConfig,
)

__all__ = [
    "BackendConfig",
    "DepartmentConfig",
    "KeyConfig",
    "ModelConfig",
    "RouteConfig",
    "RouterConfig",
    "ServerConfig",
    "StellwerkConfig",
    "load_config",
    "parse_config",
]
