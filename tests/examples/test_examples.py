"""The example configs load with the gateway's loader and agree with the catalog's facts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from stellwerk.config import StellwerkConfig, load_config
from stellwerk.configurator.engines import plan
from stellwerk.configurator.needs import Needs
from stellwerk.configurator.select import Pick, memory_for
from stellwerk.modelfacts import load_catalog

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.yaml"))
CATALOG = load_catalog()


def test_there_are_examples_for_each_engine() -> None:
    assert {p.stem for p in EXAMPLES} >= {"ollama", "vllm", "llamacpp"}


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_loads_and_matches_the_catalog(path: Path) -> None:
    config = load_config(path)
    assert {m.size_class for m in config.models} == {"small", "medium", "large"}
    for model in config.models:
        facts = CATALOG.get(model.id)
        assert model.params_b == facts.params_b
        assert model.licence == facts.licence
        assert set(model.languages) <= set(facts.languages)
        # json is the engine's (each example's engine constrains any answer to JSON), as
        # `stellwerk init` writes it for every chat model; the rest is the model's own
        assert set(model.capabilities) - {"json"} <= set(facts.capabilities)
        assert facts.context_length is not None and model.context_length <= facts.context_length
        assert model.hosting == "on_prem"
    for department in config.departments:
        assert all(key.key_env and key.key_sha256 is None for key in department.keys)


def _config(name: str) -> StellwerkConfig:
    return load_config(next(p for p in EXAMPLES if p.stem == name))


def test_ollama_example_uses_library_tags_or_says_how_to_create_the_model() -> None:
    text = next(p for p in EXAMPLES if p.stem == "ollama").read_text()
    for model in _config("ollama").models:
        tag = CATALOG.get(model.id).ollama_tag
        if tag is not None:
            assert model.upstream == tag
            assert f"ollama pull {tag}" in text
        else:
            assert f"ollama create {model.upstream} " in text


def test_vllm_example_commands_are_the_ones_init_would_write() -> None:
    config = _config("vllm")
    needs = Needs(engine="vllm", gpu_memory_gb=80)
    picks = [
        Pick(m.size_class, CATALOG.get(m.id), "f16", memory_for(CATALOG.get(m.id), needs), ())
        for m in config.models
    ]
    expected = {
        line.split("--served-model-name ")[1].split()[0]: line.split("--gpu-memory-utilization ")[
            1
        ].split()[0]
        for line in plan(picks, needs).commands
        if line.startswith("vllm serve")
    }
    text = next(p for p in EXAMPLES if p.stem == "vllm").read_text()
    written = dict(
        re.findall(
            r"--served-model-name (\S+) --max-model-len \d+ --gpu-memory-utilization (\S+)", text
        )
    )
    assert written == expected
    for model, backend in zip(config.models, config.backends, strict=True):
        assert model.backend == backend.name and model.upstream == model.id


def test_router_learning_example_grades_on_an_account_of_its_own() -> None:
    """docs/router.md points at it: shadow grading on, charged to a department without keys
    whose budget is grading's own, confidential data never graded, adapting on a schedule."""
    config = _config("router-learning")
    shadow = config.router.shadow
    assert shadow is not None and shadow.share > 0
    account = next(d for d in config.departments if d.name == shadow.account)
    assert not account.keys and account.limits.monthly_budget
    assert set(shadow.classifications) <= {"public", "internal"}
    assert config.router.adapt_every_s > 0 and config.router.graded_retention_days
