"""The config behind ``stellwerk demo``, written to a file so that every command can use it.

Three tiny models stand in for a small, a medium and a large model, plus one for embeddings, all
on the demo's llama.cpp server. Two departments: ``demo`` with a user key (the one a client
uses) and ``it`` with an admin key (the dashboard, the admin API). The file holds only the keys'
SHA-256; the ledger is ``ledger.db`` beside the file (a relative path follows the config file).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from stellwerk.demo.llama_server import EMBEDDING_ALIAS
from stellwerk.governance.keys import hash_key

CONFIG_FILE = "stellwerk.yaml"
USER_KEY_ID = "demo-user"
ADMIN_KEY_ID = "demo-admin"

# (alias, size class, parameters it stands in for, internal price per 1M tokens, Wh per 1k tokens);
# prices are decimals, so that the written config says 0.3, not 0.30000000000000004
_TIERS = (
    ("tiny-small", "small", 3.0, Decimal("0.10"), 0.05),
    ("tiny-medium", "medium", 8.0, Decimal("0.25"), 0.12),
    ("tiny-large", "large", 14.0, Decimal("0.60"), 0.25),
)
OUTPUT_PRICE_FACTOR = 3  # output tokens cost three times input tokens

# The demo's models are written by the demo itself (stellwerk.demo.tiny_gguf: random weights drawn
# by Stellwerk's own code, nothing downloaded), so they carry Stellwerk's licence; the embedding
# model is the small model's file loaded with embeddings on.
DEMO_MODEL_LICENCE = "Apache-2.0"

_HEADER = """\
# Written by `stellwerk demo` for this run: its models are served by the demo's llama.cpp server
# at the backend's base_url below, which stops with the demo. Keys are kept as SHA-256 only; the
# demo printed them once. Use this file with any command, e.g.
#   stellwerk keys list -c {path}
"""


@dataclass(frozen=True, slots=True)
class DemoKeys:
    """The raw keys of a demo run: printed once, never written."""

    user: str
    admin: str


def new_demo_keys() -> DemoKeys:
    return DemoKeys(
        user="sk-stw-demo-" + secrets.token_urlsafe(24),
        admin="sk-stw-demo-admin-" + secrets.token_urlsafe(24),
    )


def _exact(price: Decimal) -> float:
    """``price`` for YAML, which writes the float nearest a short decimal as that decimal
    (``0.3``); the gateway reads prices as the decimals written."""
    return float(price)


EMBEDDING_PARAMS_B = 0.1


def model_sizes() -> dict[str, float]:
    """Each served model's size in billions of parameters, as the config says (what ``init
    --discover`` cannot read from the tiny generated models: give it as ``--size``)."""
    sizes = {alias: params for alias, _, params, _, _ in _TIERS}
    return {**sizes, EMBEDDING_ALIAS: EMBEDDING_PARAMS_B}


def demo_config_data(llama_url: str, keys: DemoKeys, *, host: str, port: int) -> dict[str, Any]:
    """The demo's config as plain data, in the shape ``stellwerk.yaml`` has."""
    models: list[dict[str, Any]] = [
        {
            "id": alias,
            "backend": "llamacpp",
            "upstream": alias,
            "params_b": params,
            "size_class": size,
            "context_length": 1024,
            # llama.cpp answers JSON by a grammar made from the schema, so even these can; the
            # small one takes tools too (its server answers a tool request, the calls as random
            # as its text), for a client's tool round trip to be tried on the demo
            "capabilities": ["chat", "completion", "json", *(["tools"] if size == "small" else [])],
            "licence": DEMO_MODEL_LICENCE,
            # stated, as every config should: the demo's server runs on this machine
            "hosting": "on_prem",
            "lifecycle": "approved",
            "price": {
                "input_per_mtok": _exact(price),
                "output_per_mtok": _exact(price * OUTPUT_PRICE_FACTOR),
            },
            "energy_wh_per_1k_tokens": energy,
        }
        for alias, size, params, price, energy in _TIERS
    ]
    models.append(
        {
            "id": EMBEDDING_ALIAS,
            "backend": "llamacpp",
            "upstream": EMBEDDING_ALIAS,
            "params_b": EMBEDDING_PARAMS_B,
            "size_class": "small",
            "context_length": 1024,
            "capabilities": ["embeddings"],
            "licence": DEMO_MODEL_LICENCE,
            "hosting": "on_prem",
            "lifecycle": "approved",
        }
    )
    return {
        "server": {"host": host, "port": port, "database_url": "sqlite:///ledger.db"},
        "backends": [
            {"name": "llamacpp", "kind": "openai", "base_url": llama_url, "dialect": "llamacpp"}
        ],
        "models": models,
        "departments": [
            {"name": "demo", "keys": [{"id": USER_KEY_ID, "key_sha256": hash_key(keys.user)}]},
            {
                "name": "it",
                "keys": [{"id": ADMIN_KEY_ID, "key_sha256": hash_key(keys.admin), "role": "admin"}],
            },
        ],
    }


def _shown_path(path: Path) -> str:
    """``path`` as the header's example command gives it: quoted for the shell, and kept on the
    comment's line (a line break in a folder's name would start a line of settings)."""
    import shlex

    from stellwerk.config.plain_text import escaped

    return escaped(shlex.quote(str(path)))


def write_demo_config(
    folder: Path, llama_url: str, keys: DemoKeys, *, host: str, port: int
) -> Path:
    """Write the demo's ``stellwerk.yaml`` into ``folder``; returns its (absolute) path."""
    path = (folder / CONFIG_FILE).resolve()
    data = demo_config_data(llama_url, keys, host=host, port=port)
    text = _HEADER.format(path=_shown_path(path)) + yaml.safe_dump(data, sort_keys=False)
    path.write_text(text, encoding="utf-8")
    return path
