"""Placing models the router never saw: families, the size trend, and what a new model is
predicted to do before anyone measured it."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pytest

from stellwerk.config.schema import RouterConfig
from stellwerk.routing.base import Candidate
from stellwerk.routing.learned import LearnedRouter
from stellwerk.routing.loader import load_router
from stellwerk.routing.placement import (
    SizePlacement,
    family_key,
    family_of,
    fit_size_placement,
    theil_sen,
)

HARD = "Prove that every bounded monotone sequence of real numbers converges."


@pytest.mark.parametrize(
    ("name", "family"),
    [
        ("nvidia/llama3-chatqa-1.5-70b", "llama3-chatqa1.5"),
        ("llama3-chatqa-1.5-8b", "llama3-chatqa1.5"),
        ("qwen/qwen2.5-7b-instruct", "qwen2.5"),
        ("qwen2.5:14b", "qwen2.5"),
        ("meta/llama-3.1-8b-instruct", "llama3.1"),
        ("llama3.1:70b", "llama3.1"),
        ("google/gemma-2-9b-it", "gemma2"),
        ("gemma2:27b", "gemma2"),
        ("swiss-ai/Apertus-70B-Instruct-2509", "apertus-2509"),
        ("meta-llama/Llama-2-7b-chat-hf", "llama2"),
        ("Qwen/Qwen2.5-Coder-7B-Instruct", "qwen2.5-coder"),
        ("mistralai/Ministral-3-14B-Instruct-2512", "ministral3-2512"),
        ("ministral-3:8b", "ministral3"),
        ("qwen2.5:7b-instruct-q4_K_M", "qwen2.5"),
        ("Qwen2.5-7B-Instruct-Q8_0.gguf", "qwen2.5"),
        ("Qwen2.5-7B-Instruct-1M", "qwen2.5-1m"),
        ("phi-3-mini-128k-instruct", "phi3-mini"),
        ("mistral-7b-instruct-v0.3-bf16", "mistral-v0.3"),
        ("qwen3:30b-a3b", "qwen3-a3b"),
        ("mixtral-8x22b-instruct-v0.1-awq", "mixtral-v0.1"),
        ("modèle8b", "modèle8b"),
        ("modèle-8b", "modèle"),
        ("models/", "models/"),
        (".gguf", ".gguf"),
        ("", "-"),
        ("apertus:70b", "apertus"),
        ("mixtral-8x7b-instruct", "mixtral"),
        ("qwen2.5:1.5b", "qwen2.5"),
        ("SmolLM2-135M-Instruct-Q4_K_M.gguf", "smollm2"),
        ("/models/gemma-2-9b-it.gguf", "gemma2"),
        ("llama3.1:latest", "llama3.1"),
        ("tiny-small", "tiny-small"),
        ("70b", "70b"),
    ],
)
def test_a_family_is_the_name_without_its_size(name: str, family: str) -> None:
    assert family_of(name) == family


def test_different_models_of_one_maker_are_different_families() -> None:
    names = [
        "meta/llama-3.1-8b-instruct",
        "nvidia/llama-3.1-nemotron-51b-instruct",
        "nvidia/llama-3.3-nemotron-super-49b-v1",
        "google/gemma-2-9b-it",
        "google/codegemma-7b",
    ]
    assert len({family_of(n) for n in names}) == len(names)


def test_a_declared_family_wins_over_the_name() -> None:
    assert family_key("Llama3-ChatQA-1.5 ", "my-big-model") == "llama3-chatqa1.5"
    assert family_key(None, "nvidia/llama3-chatqa-1.5-70b") == "llama3-chatqa1.5"


# trained models following 0.3 x ln(size), and one family (two sizes) far below the rest
NORMAL = [(7, 0.55), (7, 0.65), (8, 0.60), (9, 0.70), (49, 1.15), (51, 1.2)]
ODD = [(8, -1.5), (70, -0.85)]


def _fit(
    models: Sequence[tuple[float, float]], odd: Sequence[tuple[float, float]]
) -> SizePlacement:
    rows = [(s, o, f"family-{i}") for i, (s, o) in enumerate(models)]
    rows += [(s, o, "odd") for s, o in odd]
    return fit_size_placement([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows])


def test_an_odd_family_of_two_sizes_does_not_drag_the_trend() -> None:
    """The offsets a router trained on open9 without nemotron-51b measured: chatqa-1.5 (8B and
    70B) sits far below everything. Taken as two odd points it bends the trend so far that a new
    51B model is placed below most 8B ones; taken as one odd family it is not."""
    trained = {
        ("llama3-chatqa1.5", 8): -1.326,
        ("llama3-chatqa1.5", 70): -1.368,
        ("qwen2.5", 7): 0.636,
        ("mistral-v0.3", 7): -0.159,
        ("codegemma", 7): -0.408,
        ("gemma2", 9): 0.763,
        ("llama3.1", 8): 0.884,
        ("llama3.3-nemotron-super-v1", 49): 0.978,
    }
    sizes = [size for _, size in trained]
    offsets = list(trained.values())
    placement = fit_size_placement(sizes, offsets, [family for family, _ in trained])
    intercept, slope = theil_sen([math.log(s) for s in sizes], offsets)
    assert intercept + slope * math.log(51) < 0.5 < 0.9 < placement.trend(51)
    assert placement.families["llama3-chatqa1.5"] < -2.0


def test_a_new_size_of_a_known_family_is_placed_beside_it() -> None:
    placement = _fit(NORMAL, ODD[:1])  # only the odd 8B model was trained
    odd_70b = placement.offsets(70, "odd")
    unknown_70b = placement.offsets(70, "someone-new")
    assert odd_70b.shape == (1,)
    assert odd_70b[0] < -0.5  # the 70B sibling of a bad 8B model is expected to be bad too
    assert odd_70b[0] < np.median(unknown_70b) - 1.0
    assert placement.point(70, "odd", np.zeros(3)) == pytest.approx(odd_70b[0])


def test_an_unknown_family_is_averaged_over_the_known_ones() -> None:
    placement = _fit(NORMAL, ODD)
    offsets = placement.offsets(30, None)
    assert len(offsets) == len(placement.families) == len(NORMAL) + 1
    assert offsets.min() < placement.trend(30) < offsets.max()
    # one offset that predicts as well on average: the mean quality over the known families
    ease = np.linspace(-2.0, 2.0, 101)
    point = placement.point(30, None, ease)
    mean = (1 / (1 + np.exp(-(ease[:, None] + offsets[None, :])))).mean()
    assert (1 / (1 + np.exp(-(ease + point)))).mean() == pytest.approx(mean, abs=1e-6)
    assert point < placement.trend(30)  # the odd family pulls the expectation down
    assert list(SizePlacement(0.1, 0.2).offsets(math.e, None)) == pytest.approx([0.3])


def test_one_member_families_do_not_move_the_trend() -> None:
    rows = NORMAL + ODD
    alone = fit_size_placement(
        [s for s, _ in rows], [o for _, o in rows], [f"f{i}" for i in range(len(rows))]
    )
    plain = theil_sen([math.log(s) for s, _ in rows], [o for _, o in rows])
    assert (alone.intercept, alone.slope) == pytest.approx(plain)


@pytest.fixture(scope="module")
def shipped() -> LearnedRouter:
    router = load_router(RouterConfig())
    assert isinstance(router, LearnedRouter)
    return router


def _quality(router: LearnedRouter, cand: Candidate, prompt: str = HARD) -> float:
    return float(router.qualities(prompt, (cand,))[0])


def test_the_shipped_router_places_a_big_sibling_of_a_weak_trained_model_low(
    shipped: LearnedRouter,
) -> None:
    """open9's chatqa-1.5 8B scores low (a prompt-format mismatch); its 70B sibling, unseen,
    is predicted low too, and a 70B model of an unknown family is not."""
    sibling = Candidate("big-chatqa", 70, "large", 0.9, 0.9, 8192, family="llama3-chatqa1.5")
    stranger = Candidate("big-new", 70, "large", 0.9, 0.9, 8192, family="big-new")
    small = Candidate("small-new", 3, "small", 0.1, 0.1, 8192, family="small-new")
    assert _quality(shipped, sibling) < _quality(shipped, small) < _quality(shipped, stranger)


def test_placed_qualities_stay_probabilities_that_grow_with_size(shipped: LearnedRouter) -> None:
    sizes = (1, 3, 8, 14, 32, 70, 400)
    qualities = [
        _quality(shipped, Candidate(f"m{s}", s, "medium", 0.1, 0.1, 8192, family=f"m{s}"))
        for s in sizes
    ]
    assert all(0.0 < q < 1.0 for q in qualities)
    assert np.all(np.diff(qualities) > 0)


def test_a_router_that_knows_no_sizes_places_new_models_among_the_trained_ones(
    shipped: LearnedRouter,
) -> None:
    """Trained only on models of unknown size (hosted APIs), a router has no trend to read a new
    model's size on: it predicts the new model as the trained ones do on average."""
    blind = LearnedRouter(replace(shipped.model, placement=SizePlacement()), version="test")
    assert not blind.model.placement.knows_sizes and shipped.model.placement.knows_sizes
    new = Candidate("new-70b", 70, "large", 0.9, 0.9, 8192, family="new")
    trained = [Candidate(m, 0.0, "medium", 0.1, 0.1, 8192) for m in shipped.model.models]
    qualities = blind.qualities(HARD, (new, *trained))
    assert qualities[0] == pytest.approx(
        float(np.mean(1 / (1 + np.exp(-(shipped.model.predict(HARD)[1] + shipped.model.offsets)))))
    )
    assert min(qualities[1:]) < qualities[0] < max(qualities[1:])
    assert blind.placed_by(new) == "no size to go by: the mean over the trained models"


@pytest.mark.parametrize("upstream", ["llama3.1:70b", "qwen2.5:32b-instruct-q4_K_M", "gemma2:27b"])
def test_ollama_tags_meet_the_shipped_routers_hub_families(
    shipped: LearnedRouter, upstream: str
) -> None:
    """A user's Ollama model of a family the shipped router was trained on (from hub ids such as
    meta/llama-3.1-8b-instruct) is placed beside that family, not as an unknown one."""
    family = family_of(upstream)
    assert family in shipped.model.placement.families
    cand = Candidate(upstream, 30, "large", 0.5, 0.5, 8192, family=family)
    assert shipped.placed_by(cand) == f"size and family ({family})"
