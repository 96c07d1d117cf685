"""The written config validates with the gateway's own loader; engines get their commands."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from stellwerk.config import load_config
from stellwerk.configurator.engines import plan
from stellwerk.configurator.needs import Needs
from stellwerk.configurator.select import Pick, propose
from stellwerk.configurator.writer import build_config, key_env_name, render, write_files
from stellwerk.errors import ConfigError
from stellwerk.modelfacts import load_catalog

CATALOG = load_catalog()


def _write(tmp_path: Path, needs: Needs) -> tuple[Path, list[str]]:
    proposal = propose(CATALOG, needs)
    engine_plan = plan(proposal.picks, needs)
    raw = build_config(
        engine_plan.backends,
        engine_plan.served,
        department="research",
        classification=needs.highest_classification,
    )
    path = tmp_path / "stellwerk.yaml"
    write_files(path, render(raw, ["a header"]), engine_plan.commands, force=False)
    return path, list(engine_plan.commands)


@pytest.mark.parametrize(
    "needs",
    [
        Needs(engine="ollama", gpu_memory_gb=24, languages=("de",)),
        Needs(engine="vllm", gpu_memory_gb=80, classifications=("public", "confidential")),
        Needs(engine="llamacpp", ram_gb=32),
        Needs(engine="localai", gpu_memory_gb=16, openness="fully_open"),
    ],
    ids=["ollama", "vllm", "llamacpp", "localai"],
)
def test_written_config_loads_with_the_gateway_loader(tmp_path: Path, needs: Needs) -> None:
    path, _ = _write(tmp_path, needs)
    config = load_config(path)
    proposal = propose(CATALOG, needs)
    assert [m.id for m in config.models] == [p.model.id for p in proposal.picks]
    assert [m.size_class for m in config.models] == [p.size_class for p in proposal.picks]
    for model, pick in zip(config.models, proposal.picks, strict=True):
        assert model.hosting == "on_prem" and model.lifecycle == "approved"
        assert model.params_b == pick.model.params_b
        assert model.price.output_per_mtok > model.price.input_per_mtok > 0
        assert model.backend in {b.name for b in config.backends}
        # every engine constrains JSON for any model: a JSON request may go to each chat model
        assert "json" in model.capabilities or "chat" not in model.capabilities
    # a model costs by the parameters that compute each token: a mixture of experts as few
    prices = [m.price.input_per_mtok for m in config.models]
    active = [p.model.active_params_b or p.model.params_b for p in proposal.picks]
    assert sorted(prices) == [prices[i] for i in sorted(range(len(active)), key=active.__getitem__)]
    (dept,) = config.departments
    assert dept.classification == needs.highest_classification
    assert dept.keys[0].key_env == "STELLWERK_KEY_RESEARCH"
    script = (tmp_path / "stellwerk-engine.sh").read_text()
    assert script.startswith("#!/usr/bin/env bash")
    assert (tmp_path / "stellwerk-engine.sh").stat().st_mode & 0o111


def test_ollama_commands_pull_each_tag(tmp_path: Path) -> None:
    needs = Needs(
        engine="ollama", gpu_memory_gb=48, languages=("de",), use_cases=("vision", "tools")
    )
    _, commands = _write(tmp_path, needs)
    pulls = [c.removeprefix("ollama pull ") for c in commands if c.startswith("ollama pull")]
    assert pulls == ["ministral-3:3b", "ministral-3:8b", "ministral-3:14b"]
    # on loopback only: Ollama has no key, so nobody but the gateway may reach it
    assert any(
        c.strip().startswith("OLLAMA_HOST=127.0.0.1:11434 OLLAMA_CONTEXT_LENGTH=8192 ollama serve")
        for c in commands
    )


def test_vllm_commands_share_the_gpu_and_name_the_models(tmp_path: Path) -> None:
    needs = Needs(engine="vllm", gpu_memory_gb=80, languages=("de",))
    path, commands = _write(tmp_path, needs)
    config = load_config(path)
    launches = [c for c in commands if c.startswith("vllm serve")]
    assert len(launches) == len(config.models)
    shares = [float(c.split("--gpu-memory-utilization ")[1].split()[0]) for c in launches]
    # the CUDA context of every process lives outside its share: together at most 0.9
    assert sum(shares) <= 0.9
    for share, model in zip(shares, propose(CATALOG, needs).picks, strict=True):
        assert share >= model.memory_gb / 80 - 0.01
    assert all(
        "--host 127.0.0.1" in c and '--api-key "$STELLWERK_ENGINE_KEY"' in c for c in launches
    )
    assert all(b.api_key_env == "STELLWERK_ENGINE_KEY" for b in config.backends)
    for launch, configured, backend in zip(launches, config.models, config.backends, strict=True):
        assert f"--served-model-name {configured.id}" in launch
        assert configured.upstream == configured.id
        port = launch.split("--port ")[1].split()[0]
        assert backend.base_url.endswith(f":{port}/v1") and backend.kind == "openai"
        if configured.id.startswith("ministral"):
            assert "--tokenizer-mode mistral" in launch


def test_llamacpp_commands_serve_gguf_files_under_the_catalog_id(tmp_path: Path) -> None:
    path, commands = _write(tmp_path, Needs(engine="llamacpp", ram_gb=32))
    config = load_config(path)
    servers = [c for c in commands if c.startswith("llama-server")]
    assert len(servers) == len(config.models)
    for server, model in zip(servers, config.models, strict=True):
        assert f"--alias {model.id}" in server
        assert f"models/{model.id}-Q4_K_M.gguf" in server
        assert f"-c {model.context_length}" in server
        assert "-ngl" not in server, "no GPU was given"


def test_unknown_context_is_assumed_short_and_said_so() -> None:
    needs = Needs(engine="vllm", gpu_memory_gb=80, context=32768)
    teuken = CATALOG.get("teuken-7b")
    assert teuken.context_length is None
    pick = Pick("medium", teuken, "f16", teuken.memory_gb("f16", 4096), ())
    (row,) = plan([pick], needs).served
    assert row.context_length == 4096
    assert "not published" in row.notes[0]


def test_existing_files_are_never_overwritten_without_force(tmp_path: Path) -> None:
    path = tmp_path / "stellwerk.yaml"
    path.write_text("mine\n")
    with pytest.raises(ConfigError, match="already exists; nothing written"):
        write_files(path, "new\n", ["echo hi"], force=False)
    assert path.read_text() == "mine\n"
    assert not (tmp_path / "stellwerk-engine.sh").exists()
    write_files(path, "new\n", ["echo hi"], force=True)
    assert path.read_text() == "new\n"


def test_an_existing_engine_script_also_blocks_the_write(tmp_path: Path) -> None:
    (tmp_path / "stellwerk-engine.sh").write_text("mine\n")
    with pytest.raises(ConfigError, match=r"stellwerk-engine\.sh already exists"):
        write_files(tmp_path / "stellwerk.yaml", "new\n", ["echo hi"], force=False)
    assert not (tmp_path / "stellwerk.yaml").exists()


def test_header_is_yaml_comments_only(tmp_path: Path) -> None:
    text = render({"a": 1}, ["line one", "line two"])
    assert text.splitlines()[:2] == ["# line one", "# line two"]
    assert yaml.safe_load(text) == {"a": 1}


@pytest.mark.parametrize(
    ("department", "env"),
    [("default", "STELLWERK_KEY_DEFAULT"), ("R&D team", "STELLWERK_KEY_R_D_TEAM")],
)
def test_key_env_names(department: str, env: str) -> None:
    assert key_env_name(department) == env


@pytest.mark.parametrize("engine", ["ollama", "vllm", "llamacpp", "localai"])
def test_engine_host_is_where_the_gateway_reaches_the_engine(engine: str) -> None:
    needs = Needs(engine=engine, gpu_memory_gb=80)  # type: ignore[arg-type]
    engine_plan = plan(propose(CATALOG, needs).picks, needs, host="models.internal")
    assert all("//models.internal:" in str(b["base_url"]) for b in engine_plan.backends)


def test_ollama_on_another_host_is_a_warning_and_imports_come_after_the_pulls() -> None:
    needs = Needs(engine="ollama", gpu_memory_gb=24, languages=("de", "en"), families=("apertus",))
    picks = propose(CATALOG, needs).picks
    local = plan(picks, needs)
    assert not local.notes and not any("WARNING" in c for c in local.commands)
    remote = plan(picks, needs, host="ollama")
    (warning,) = remote.notes
    assert "Ollama has no key" in warning and "anyone else" in warning
    assert any(c.strip().startswith("OLLAMA_HOST=0.0.0.0:11434") for c in remote.commands)
    # a GGUF file still to be made stops none of the pulls: the imports come last, and skip
    commands = list(local.commands)
    last_pull = max(i for i, c in enumerate(commands) if c.startswith("ollama pull"))
    first_import = min(i for i, c in enumerate(commands) if "ollama create" in c)
    assert last_pull < first_import
    assert not any("exit 1" in c for c in commands[first_import:])
