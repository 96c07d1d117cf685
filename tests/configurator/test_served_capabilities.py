"""What a written config says a model can do is what the engine script makes it do: no
``vision`` without an image projector started, no ``thinking`` the gateway must refuse."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from stellwerk.config import load_config
from stellwerk.config.schema import ModelConfig
from stellwerk.configurator.engines import plan
from stellwerk.configurator.needs import Engine, Needs
from stellwerk.configurator.select import Pick, propose
from stellwerk.configurator.writer import build_config, render, write_files
from stellwerk.modelfacts import Quant, load_catalog

CATALOG = load_catalog()


def _written(tmp_path: Path, engine: Engine, model_id: str) -> tuple[ModelConfig, str]:
    """``model_id`` alone, written for ``engine``: its config entry and the engine script."""
    needs = Needs(engine=engine, gpu_memory_gb=80)
    model = CATALOG.get(model_id)
    quant: Quant = "f16" if engine == "vllm" else "q4_k_m"
    pick = Pick("medium", model, quant, model.memory_gb(quant, needs.context), ())
    engine_plan = plan([pick], needs)
    raw = build_config(
        engine_plan.backends, engine_plan.served, department="it", classification="internal"
    )
    path = tmp_path / "stellwerk.yaml"
    write_files(path, render(raw, []), engine_plan.commands, force=False)
    (configured,) = load_config(path).models
    return configured, "\n".join(engine_plan.commands)


@pytest.mark.parametrize(
    ("engine", "vision"),
    [("ollama", True), ("vllm", True), ("llamacpp", False), ("localai", False)],
)
def test_vision_only_where_the_engine_script_gives_the_model_its_image_input(
    tmp_path: Path, engine: Engine, vision: bool
) -> None:
    """walk27 F2: ministral-3-3b was written with vision for llama.cpp, whose script starts
    llama-server without a multimodal projector (--mmproj): an image routed there is not seen."""
    configured, script = _written(tmp_path, engine, "ministral-3-3b")
    assert ("vision" in configured.capabilities) is vision
    assert "chat" in configured.capabilities and "tools" in configured.capabilities
    assert "--mmproj" not in script and "mmproj" not in script


@pytest.mark.parametrize("engine", ["llamacpp", "localai"])
def test_the_vision_use_case_names_why_a_gguf_engine_cannot_serve_it(engine: Engine) -> None:
    proposal = propose(CATALOG, Needs(engine=engine, gpu_memory_gb=48, use_cases=("vision",)))
    assert not proposal.fits
    reasons = dict(proposal.excluded)
    assert "starts no image projector" in reasons["ministral-3-8b"]
    assert "--engine ollama or vllm" in reasons["ministral-3-8b"]


@pytest.mark.parametrize(
    ("engine", "model_id", "thinking", "switch"),
    [
        # Qwen3's chat template turns its thinking on and off by enable_thinking (its card)
        ("llamacpp", "qwen3-32b", True, "enable_thinking"),
        ("vllm", "qwen3-8b", True, "enable_thinking"),
        # Ollama is sent think itself: no switch, and none allowed
        ("ollama", "qwen3-8b", True, None),
        # LocalAI is not known to pass a template variable per request
        ("localai", "qwen3-8b", False, None),
        # a model that thinks always has no switch: think requests would be refused
        ("llamacpp", "olmo-3-7b-think", False, None),
        ("vllm", "ministral-3-14b-reasoning", False, None),
    ],
)
def test_thinking_is_written_only_with_the_switch_that_turns_it_on(
    tmp_path: Path, engine: Engine, model_id: str, thinking: bool, switch: str | None
) -> None:
    """walk27 F3: qwen3-32b on llama.cpp was written with thinking and no thinking_switch, so
    every request asking it to think was refused (thinking_unsupported)."""
    configured, _ = _written(tmp_path, engine, model_id)
    assert ("thinking" in configured.capabilities) is thinking
    assert configured.thinking_switch == switch


def test_the_reasoning_use_case_prefers_a_model_the_gateway_can_ask_to_think() -> None:
    """A reasoning model without a switch is written without ``thinking`` on llama.cpp, so a
    request asking to think could go to none of the set: of two about the same size the one
    with a switch (Qwen3 14B) wins over the one without (Ministral 3 14B Reasoning)."""
    needs = Needs(engine="llamacpp", gpu_memory_gb=80, languages=("de",), use_cases=("reasoning",))
    ids = [p.model.id for p in propose(CATALOG, needs).picks]
    assert "qwen3-14b" in ids and "ministral-3-14b-reasoning" not in ids
    # vLLM takes the switch too; LocalAI none, so there neither has the edge
    vllm = [p.model.id for p in propose(CATALOG, replace(needs, engine="vllm")).picks]
    assert "ministral-3-14b-reasoning" not in vllm
