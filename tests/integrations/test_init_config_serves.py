"""A config written by `stellwerk init` is served by the real gateway: only the engine's address
and the upstream names are swapped for the real llama.cpp test server's tiny models."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from stellwerk.cli.main import build_app
from tests.fixtures.gateway import in_process
from tests.fixtures.llama import LlamaBackend

pytestmark = pytest.mark.llama

KEY = "sk-stw-test-init-8c1d7e2f4a9b3c6d"


def test_init_config_answers_through_the_gateway(
    llama_server: LlamaBackend, tmp_path: Path
) -> None:
    out = tmp_path / "stellwerk.yaml"
    result = CliRunner().invoke(
        build_app(),
        ["init", "--engine", "llamacpp", "--ram", "32", "--languages", "de",
         "--output", str(out), "--no-interactive"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    raw = yaml.safe_load(out.read_text())
    for backend in raw["backends"]:
        backend["base_url"] = llama_server.openai_base_url
    for model in raw["models"]:
        model["upstream"] = llama_server.sizes[model["size_class"]]
        model["context_length"] = 1024
    raw["server"]["database_url"] = f"sqlite:///{tmp_path / 'ledger.db'}"
    raw["router"] = {"kind": "first"}
    # the keys init tells the operator to export: the department's, the admin's, the engines'
    environ = {key["key_env"]: KEY for key in raw["departments"][0]["keys"]}
    environ.update({b["api_key_env"]: "sk-engine" for b in raw["backends"] if "api_key_env" in b})

    with (
        in_process(raw, environ) as gateway,
        gateway.openai(KEY, max_retries=0) as client,
    ):
        listed = {m.id for m in client.models.list().data}
        assert {m["id"] for m in raw["models"]} | {"auto"} <= listed
        for model in raw["models"]:
            reply = client.chat.completions.with_raw_response.create(
                model=model["id"],
                messages=[{"role": "user", "content": "Guten Tag"}],
                max_tokens=4,
            )
            assert reply.headers["x-stellwerk-model"] == model["id"]
            assert reply.parse().choices[0].message.content is not None
