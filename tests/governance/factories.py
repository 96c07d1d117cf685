"""Small configs for governance and policy tests, built through the real config parser."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from stellwerk.config import StellwerkConfig, parse_config


def model(model_id: str, **extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": model_id,
        "backend": "local",
        "upstream": model_id,
        "params_b": 3,
        "size_class": "small",
        "licence": "apache-2.0",
        # stated, as config check asks: an unstated location gets public data only
        "hosting": "on_prem",
        "lifecycle": "approved",
    }
    base.update(extra)
    return base


def config(**sections: Any) -> StellwerkConfig:
    raw: dict[str, Any] = {
        "backends": [{"name": "local", "kind": "openai", "base_url": "http://127.0.0.1:9"}],
        "models": [model("small-onprem"), model("big-cloud", hosting="eu_cloud", params_b=70)],
        "departments": [
            {"name": "legal", "classification": "confidential"},
            {"name": "it", "pilot": True},
        ],
    }
    raw.update(sections)
    return parse_config(raw, source="test")


@dataclass(frozen=True, slots=True)
class Caller:
    """A caller as the policy filter sees it (the gateway's principal has these fields)."""

    department: str
    key_id: str = "key-1"
    use_case: str | None = None
    role: str = "user"
