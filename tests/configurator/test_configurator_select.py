"""The proposal on several hardware profiles: what fits, what is chosen, what is refused."""

from __future__ import annotations

import pytest

from stellwerk.catalog import load_catalog
from stellwerk.configurator.needs import Needs
from stellwerk.configurator.select import Proposal, _reasons, memory_for, propose
from stellwerk.errors import ConfigError

CATALOG = load_catalog()


def _check_invariants(proposal: Proposal) -> None:
    needs = proposal.needs
    picks = proposal.picks
    assert [p.size_class for p in picks] == {
        1: ["medium"],
        2: ["small", "large"],
        3: ["small", "medium", "large"],
    }[len(picks)]
    sizes = [p.model.effective_params_b for p in picks]
    assert sizes == sorted(sizes) and len(set(sizes)) == len(sizes)
    for pick in picks:
        assert pick.memory_gb <= needs.memory_gb
        assert pick.model.variant != "base"
        assert all(code in pick.model.languages for code in needs.languages)
    if not needs.engine_swaps_models:
        assert proposal.total_memory_gb <= needs.memory_gb


@pytest.mark.parametrize(
    ("needs", "expected"),
    [
        # a laptop: 8 GB GPU; two classes fit, the 3B and an 8B
        (Needs(engine="ollama", gpu_memory_gb=8), ["ministral-3-3b", "llama-3.1-8b"]),
        # a workstation CPU box, German required
        (
            Needs(engine="ollama", ram_gb=16, languages=("de",)),
            ["ministral-3-3b", "llama-3.1-8b", "qwen3-14b"],
        ),
        # German with images and function calling: the whole Mistral 3 line
        (
            Needs(
                engine="ollama", gpu_memory_gb=48, languages=("de",), use_cases=("vision", "tools")
            ),
            ["ministral-3-3b", "ministral-3-8b", "ministral-3-14b"],
        ),
        # fully open only, on a CPU with llama.cpp (all models resident): Apertus and OLMo
        (
            Needs(engine="llamacpp", ram_gb=32, openness="fully_open"),
            ["apertus-8b", "olmo-3.1-32b-instruct"],
        ),
    ],
    ids=["laptop-8gb", "cpu-16gb-de", "gpu-48gb-de-vision-tools", "cpu-32gb-fully-open"],
)
def test_profiles(needs: Needs, expected: list[str]) -> None:
    proposal = propose(CATALOG, needs)
    assert [p.model.id for p in proposal.picks] == expected
    _check_invariants(proposal)


@pytest.mark.parametrize("gpu", [16, 24, 48, 80, 160, 640])
@pytest.mark.parametrize("engine", ["ollama", "vllm", "llamacpp", "localai"])
def test_every_proposal_fits_and_is_ordered(engine: str, gpu: float) -> None:
    needs = Needs(engine=engine, gpu_memory_gb=gpu)  # type: ignore[arg-type]
    proposal = propose(CATALOG, needs)
    assert proposal.fits
    _check_invariants(proposal)


def test_more_memory_never_means_a_smaller_large_model() -> None:
    larges = [
        propose(CATALOG, Needs(engine="ollama", gpu_memory_gb=gpu)).picks[-1].model.params_b
        for gpu in (8, 16, 24, 48, 96, 200, 500)
    ]
    assert larges == sorted(larges)


def test_vllm_sets_fit_together_and_serve_bf16() -> None:
    needs = Needs(engine="vllm", gpu_memory_gb=80, languages=("de",))
    proposal = propose(CATALOG, needs)
    assert all(p.quant == "f16" for p in proposal.picks)
    assert proposal.total_memory_gb <= 80
    alone = propose(CATALOG, Needs(engine="ollama", gpu_memory_gb=80, languages=("de",)))
    # the same budget holds a bigger large model when the engine swaps models in and out
    assert alone.picks[-1].model.params_b >= proposal.picks[-1].model.params_b
    assert any("must fit together" in note for note in proposal.notes)


def test_reasoning_use_case_prefers_reasoning_models() -> None:
    plain = propose(CATALOG, Needs(engine="ollama", gpu_memory_gb=200))
    thinking = propose(CATALOG, Needs(engine="ollama", gpu_memory_gb=200, use_cases=("reasoning",)))
    assert sum(p.model.variant == "reasoning" for p in thinking.picks) > sum(
        p.model.variant == "reasoning" for p in plain.picks
    )


def test_mixture_of_experts_counts_for_what_it_computes() -> None:
    qwen_moe = CATALOG.get("qwen3-30b-a3b")
    assert qwen_moe.effective_params_b == pytest.approx((30.5 * 3.3) ** 0.5)
    # the reason a pick of it would carry (no default set of needs picks it at these sizes)
    needs = Needs(engine="ollama", gpu_memory_gb=48)
    moe = _reasons("large", qwen_moe, needs)
    assert any("mixture of experts" in r and "active per token" in r for r in moe)
    dense = next(m for m in CATALOG if not m.is_moe)
    assert not any("mixture of experts" in r for r in _reasons("large", dense, needs))


def test_hardware_too_small_names_the_smallest_that_would_fit() -> None:
    proposal = propose(CATALOG, Needs(engine="ollama", gpu_memory_gb=2))
    assert not proposal.fits
    assert proposal.smallest is not None
    smallest = proposal.smallest.model
    need = memory_for(smallest, proposal.needs)
    assert need > 2
    assert all(
        memory_for(CATALOG.get(model_id), proposal.needs) >= need
        for model_id, reason in proposal.excluded
        if reason.startswith("needs ")
    )
    assert smallest.id in proposal.notes[0] and "fits in 2 GB GPU memory" in proposal.notes[0]


def test_a_shorter_context_is_suggested_when_it_would_fit() -> None:
    proposal = propose(CATALOG, Needs(engine="ollama", ram_gb=3.5, context=32768))
    assert not proposal.fits
    assert "(with --context 2048, gemma-3-1b fits" in proposal.notes[0]
    assert propose(CATALOG, Needs(engine="ollama", ram_gb=3.5, context=2048)).fits


def test_needs_nothing_in_the_catalog_meets() -> None:
    proposal = propose(
        CATALOG, Needs(engine="ollama", gpu_memory_gb=80, languages=("rm",), use_cases=("vision",))
    )
    assert not proposal.fits and proposal.smallest is None
    reasons = dict(proposal.excluded)
    assert reasons["apertus-8b"] == "no Ollama library tag"
    assert "does not list rm" in reasons["ministral-3-8b"]


def test_engine_decides_which_models_can_be_served() -> None:
    ollama = propose(CATALOG, Needs(engine="ollama", gpu_memory_gb=200, openness="fully_open"))
    vllm = propose(CATALOG, Needs(engine="vllm", gpu_memory_gb=200, openness="fully_open"))
    assert all(p.model.ollama_tag for p in ollama.picks)
    assert any(p.model.family == "Apertus" for p in vllm.picks), "Apertus has no Ollama tag"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"engine": "tgi", "gpu_memory_gb": 8}, "--engine: 'tgi' is not one of"),
        ({"engine": "vllm", "ram_gb": 64}, "--engine vllm needs a GPU"),
        ({"gpu_memory_gb": -1}, "--gpu-memory: -1 GB is not a usable amount"),
        ({"gpu_memory_gb": 8, "languages": ("German",)}, "--languages: 'German' is not an ISO"),
        ({"gpu_memory_gb": 8, "use_cases": ("poetry",)}, "--use-cases: 'poetry' is not one of"),
        ({"gpu_memory_gb": 8, "classifications": ("top",)}, "--classifications: 'top'"),
        ({"gpu_memory_gb": 8, "context": 100}, "--context: 100 tokens is outside"),
    ],
)
def test_bad_needs_are_refused_by_name(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Needs(**kwargs)  # type: ignore[arg-type]


def test_proposing_without_hardware_names_the_options() -> None:
    with pytest.raises(ConfigError, match="--gpu-memory GB or --ram GB"):
        propose(CATALOG, Needs(engine="ollama"))
