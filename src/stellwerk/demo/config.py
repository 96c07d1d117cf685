"""The embedded default behind ``stellwerk demo``: three tiny models standing in for a small, a
medium and a large model, one department, one key, a SQLite ledger in a temporary folder."""

from __future__ import annotations

import secrets
from typing import Any

from stellwerk.config import StellwerkConfig, parse_config
from stellwerk.demo.llama_server import EMBEDDING_ALIAS
from stellwerk.governance.keys import hash_key

# (alias, size class, parameters it stands in for, internal price per 1M tokens, Wh per 1k tokens)
_TIERS = (
    ("tiny-small", "small", 3.0, 0.10, 0.05),
    ("tiny-medium", "medium", 8.0, 0.25, 0.12),
    ("tiny-large", "large", 14.0, 0.60, 0.25),
)


def new_demo_key() -> str:
    return "sk-stw-demo-" + secrets.token_urlsafe(24)


def demo_config(llama_url: str, database_url: str, key: str) -> StellwerkConfig:
    models: list[dict[str, Any]] = [
        {
            "id": alias,
            "backend": "llamacpp",
            "upstream": alias,
            "params_b": params,
            "size_class": size,
            "context_length": 1024,
            "licence": "Apache-2.0",
            "price": {"input_per_mtok": price, "output_per_mtok": price * 3},
            "energy_wh_per_1k_tokens": energy,
        }
        for alias, size, params, price, energy in _TIERS
    ]
    models.append(
        {
            "id": EMBEDDING_ALIAS,
            "backend": "llamacpp",
            "upstream": EMBEDDING_ALIAS,
            "params_b": 0.1,
            "size_class": "small",
            "context_length": 1024,
            "capabilities": ["embeddings"],
        }
    )
    return parse_config(
        {
            "server": {"database_url": database_url},
            "backends": [
                {"name": "llamacpp", "kind": "openai", "base_url": llama_url, "dialect": "llamacpp"}
            ],
            "models": models,
            "departments": [
                {
                    "name": "demo",
                    "keys": [{"id": "demo-1", "key_sha256": hash_key(key)}],
                }
            ],
        },
        source="<demo>",
    )
