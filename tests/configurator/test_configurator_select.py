"""The proposal on several hardware profiles: what fits, what is chosen, what is refused."""

from __future__ import annotations

from dataclasses import replace

import pytest

from stellwerk.configurator.needs import Needs
from stellwerk.configurator.select import Proposal, _reasons, memory_for, propose, why_not
from stellwerk.errors import ConfigError
from stellwerk.modelfacts import load_catalog

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
        assert pick.memory_gb <= needs.budget_gb <= 0.9 * needs.memory_gb
        assert pick.model.variant != "base"
        assert all(code in pick.model.languages for code in needs.languages)
    if not needs.engine_swaps_models:
        assert proposal.total_memory_gb <= needs.budget_gb


@pytest.mark.parametrize(
    ("needs", "expected"),
    [
        # a laptop: 8 GB GPU; two classes fit, the 3B and an 8B
        (Needs(engine="ollama", gpu_memory_gb=8), ["ministral-3-3b", "llama-3.1-8b"]),
        # a workstation CPU box, German required: among the models of about the same size one
        # that Ollama pulls (Llama, not Apertus, a GGUF file to make first: walk27 F5) and the
        # one that does not think before every answer (Ministral, not Qwen3)
        (
            Needs(engine="ollama", ram_gb=16, languages=("de",)),
            ["ministral-3-3b", "llama-3.1-8b", "ministral-3-14b"],
        ),
        # German with images and function calling: the whole Mistral 3 line
        (
            Needs(
                engine="ollama", gpu_memory_gb=48, languages=("de",), use_cases=("vision", "tools")
            ),
            ["ministral-3-3b", "ministral-3-8b", "ministral-3-14b"],
        ),
        # fully open only, on a CPU with llama.cpp (all models resident): the 32B OLMo fits
        # but is too slow on CPUs (walk27 F4), and the 7B to 8B ones are too close in size to
        # make two classes: the fully open Apertus alone
        (
            Needs(engine="llamacpp", ram_gb=48, openness="fully_open"),
            ["apertus-8b"],
        ),
        # a European public body: 24 GB GPU, Ollama, German and English, OSI licences only:
        # no Gemma (its own terms) and no 32B reasoning model filling 23 of the 24 GB; the
        # 8B that Ollama pulls, not the one whose GGUF file is to be made (walk27 F5)
        (
            Needs(engine="ollama", gpu_memory_gb=24, languages=("de", "en"), licences=("osi",)),
            ["ministral-3-3b", "qwen3-8b", "ministral-3-14b"],
        ),
    ],
    ids=[
        "laptop-8gb",
        "cpu-16gb-de",
        "gpu-48gb-de-vision-tools",
        "cpu-48gb-fully-open",
        "gpu-24gb-de-en-osi",
    ],
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
    assert need > proposal.needs.budget_gb
    assert all(
        memory_for(CATALOG.get(model_id), proposal.needs) >= need
        for model_id, reason in proposal.excluded
        if reason.startswith("needs ")
    )
    assert smallest.id in proposal.notes[0]
    assert "fits in 1.8 GB (90 % of 2 GB GPU memory)" in proposal.notes[0]


def test_a_shorter_context_is_suggested_when_it_would_fit() -> None:
    proposal = propose(CATALOG, Needs(engine="ollama", ram_gb=3, context=32768))
    assert not proposal.fits
    assert "(with --context 2048, gemma-3-1b fits" in proposal.notes[0]
    assert propose(CATALOG, Needs(engine="ollama", ram_gb=3, context=2048)).fits


@pytest.mark.parametrize(
    ("gpu", "context", "advice", "followed"),
    [
        # walk 14 (14-3): "--context 2048" was advised, which long_documents raises to 32768
        (
            2.5,
            8192,
            "(the long_documents use case needs a 32768-token context: without it in "
            "--use-cases, with --context 8192, llama-3.2-1b fits: 2.0 GB)",
            {"use_cases": ("chat",), "context": 8192},
        ),
        (
            2.2,
            8192,
            "without it in --use-cases, with --context 2048, llama-3.2-1b fits: 1.8 GB)",
            {"use_cases": ("chat",), "context": 2048},
        ),
        # a context above what the use case forces may come down to it, not below
        (
            4,
            131072,
            "(with --context 32768 (the least the long_documents use case takes), "
            "llama-3.2-1b fits: 2.8 GB)",
            {"context": 32768},
        ),
    ],
    ids=["drop-8192", "drop-2048", "down-to-32768"],
)
def test_shorter_context_advice_respects_what_the_use_cases_force(
    gpu: float, context: int, advice: str, followed: dict[str, object]
) -> None:
    needs = {
        "engine": "llamacpp",
        "gpu_memory_gb": gpu,
        "languages": ("de",),
        "use_cases": ("long_documents",),
        "context": context,
    }
    proposal = propose(CATALOG, Needs(**needs))  # type: ignore[arg-type]
    assert not proposal.fits
    assert advice in proposal.notes[0]
    assert "--context 2048, " not in proposal.notes[0] or "without it" in proposal.notes[0]
    # the advice is true: following it, a model fits
    assert propose(CATALOG, Needs(**{**needs, **followed})).fits  # type: ignore[arg-type]


def test_nothing_meets_names_the_licences_when_some_are_asked_for() -> None:
    """Walk 14 (14-9): every model left out for its licence, and the advice did not name them."""
    needs = Needs(engine="ollama", gpu_memory_gb=24, languages=("zzz",), licences=("mit",))
    proposal = propose(CATALOG, needs)
    assert not proposal.fits
    assert "relax the languages, openness, licences or use cases" in proposal.notes[0]
    plain = propose(CATALOG, Needs(engine="ollama", gpu_memory_gb=24, languages=("zzz",)))
    assert "relax the languages, openness or use cases" in plain.notes[0]


def test_needs_nothing_in_the_catalog_meets() -> None:
    proposal = propose(
        CATALOG, Needs(engine="ollama", gpu_memory_gb=80, languages=("rm",), use_cases=("vision",))
    )
    assert not proposal.fits and proposal.smallest is None
    reasons = dict(proposal.excluded)
    assert "does not list rm" in reasons["ministral-3-8b"]
    weightless = CATALOG.get("apertus-8b").model_copy(update={"hf_id": None})
    assert why_not(weightless, proposal.needs) == "no Ollama library tag and no weights to import"


def test_engine_decides_which_models_can_be_served() -> None:
    ollama = propose(CATALOG, Needs(engine="ollama", gpu_memory_gb=200, openness="fully_open"))
    vllm = propose(CATALOG, Needs(engine="vllm", gpu_memory_gb=200, openness="fully_open"))
    assert any(p.model.family == "Apertus" for p in vllm.picks)
    # Ollama imports a model without a library tag from a GGUF file of its weights
    apertus = [p for p in ollama.picks if p.model.family == "Apertus"]
    assert apertus and apertus[0].quant == "q4_k_m"
    assert any("imported into Ollama from a GGUF file" in r for r in apertus[0].reasons)


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


def test_licences_and_families_narrow_and_prefer() -> None:
    base = Needs(engine="ollama", gpu_memory_gb=24, languages=("de", "en"))
    anything = propose(CATALOG, base)
    assert any(p.model.licence == "Gemma Terms of Use" for p in anything.picks)
    osi = propose(CATALOG, replace(base, licences=("osi",)))
    assert {p.model.licence for p in osi.picks} <= {"Apache-2.0", "MIT"}
    assert "is not among those accepted (osi)" in dict(osi.excluded)["gemma-3-27b"]
    named = propose(CATALOG, Needs(engine="ollama", gpu_memory_gb=24, licences=("mit",)))
    assert {p.model.licence for p in named.picks} == {"MIT"}
    # a preferred family wins among models of about the same size
    plain = propose(CATALOG, Needs(engine="vllm", gpu_memory_gb=80, languages=("de",)))
    preferred = propose(
        CATALOG, Needs(engine="vllm", gpu_memory_gb=80, languages=("de",), families=("mistral 3",))
    )
    mistral = sum(p.model.family == "Mistral 3" for p in preferred.picks)
    assert mistral > sum(p.model.family == "Mistral 3" for p in plain.picks)
    assert any("of a preferred family (Mistral 3)" in r for p in preferred.picks for r in p.reasons)


def test_long_documents_raise_the_served_context() -> None:
    needs = Needs(engine="ollama", gpu_memory_gb=48, use_cases=("long_documents",))
    assert needs.context == 32768
    assert all(
        p.model.context_length is not None and p.model.context_length >= 32768
        for p in propose(CATALOG, needs).picks
    )


def test_cpu_only_sets_leave_out_models_too_slow_to_answer() -> None:
    """walk27 F4: ``--ram 32`` with llama.cpp proposed a dense 32B reasoning model (qwen3-32b,
    23 GB of the 28.8 usable): on CPUs, where every token reads all active weights from memory,
    one or two tokens a second and minutes per answer."""
    needs = Needs(engine="llamacpp", ram_gb=32, languages=("de", "en"))
    proposal = propose(CATALOG, needs)
    assert proposal.fits
    assert all((p.model.active_params_b or 0) <= 15 for p in proposal.picks)
    assert "qwen3-32b" not in [p.model.id for p in proposal.picks]
    slow = dict(proposal.excluded)["qwen3-32b"]
    assert "32.8B active parameters" in slow and "about 3 tokens/s" in slow
    # what the set will run at is said, and why bigger models are missing
    (speed,) = [note for note in proposal.notes if "tokens/s" in note]
    large = proposal.picks[-1]
    assert f"about 6 tokens/s for {large.model.id}" in speed
    assert "above 15B active parameters were left out" in speed
    # a mixture of experts reads only its active weights: on CPUs it stays
    assert why_not(CATALOG.get("qwen3-30b-a3b"), needs) is None
    # on a GPU the same memory still takes the bigger model
    gpu = propose(CATALOG, Needs(engine="llamacpp", gpu_memory_gb=32, languages=("de", "en")))
    assert max(p.model.params_b for p in gpu.picks) > 15
    assert not any("tokens/s" in note for note in gpu.notes)


def test_ollama_prefers_a_model_it_can_pull_over_one_of_the_same_size_to_build() -> None:
    """walk27 F5: a 16 GB CPU box on Ollama got apertus-8b as medium, which has no Ollama
    library tag (a GGUF file to make by hand first), over llama-3.1-8b and ministral-3-8b."""
    needs = Needs(engine="ollama", ram_gb=16, languages=("de",), use_cases=("chat", "code"))
    picks = propose(CATALOG, needs).picks
    assert all(p.model.ollama_tag is not None for p in picks), [p.model.id for p in picks]
    assert [p.model.id for p in picks][1] == "llama-3.1-8b"
    # a preferred family still wins, and is imported from a GGUF file
    apertus = propose(CATALOG, replace(needs, families=("apertus",))).picks
    assert "apertus-8b" in [p.model.id for p in apertus]
    # an engine that loads GGUF files has no such difference (a file to make for every model)
    gguf = propose(CATALOG, replace(needs, engine="llamacpp", ram_gb=64)).picks
    assert [p.model.id for p in gguf][1] == "apertus-8b"
