"""Familiarity: the router knows, says and acts on a prompt unlike what it was trained on."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from pydantic import ValidationError
from tests.fixtures.gateway import raw_config

from stellwerk.config.loader import parse_config
from stellwerk.config.schema import RouterConfig
from stellwerk.errors import ConfigError
from stellwerk.gateway.auth import Principal
from stellwerk.gateway.selection import Selector
from stellwerk.routing.adapt import adapt
from stellwerk.routing.artifact import Artifact
from stellwerk.routing.base import Candidate, RouteRequest, UnfamiliarPolicy
from stellwerk.routing.familiarity import familiarity_auc, fit_familiarity
from stellwerk.routing.graded_record import GradedRecord
from stellwerk.routing.learned import LearnedRouter
from stellwerk.routing.loader import load_learned

TINY = (
    Candidate("tiny-small", 1.0, "small", 0.1, 0.1, 8192),
    Candidate("tiny-medium", 8.0, "medium", 0.5, 0.5, 8192),
    Candidate("tiny-large", 70.0, "large", 3.0, 3.0, 8192),
)
FAMILIAR = (
    "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in"
    " May. How many clips did Natalia sell altogether in April and May?"
)
GIBBERISH = "zqxv wpoktr blemfuss ghrrk vunzel"
NEW_KIND = [
    f"Convert {n} furlongs per fortnight into millimetres per hour, rounding to {n % 4} decimals."
    for n in range(3, 123)
]
RESEARCH = Principal("research-1", "research", "user", "internal", None)


@pytest.fixture(scope="module")
def shipped() -> LearnedRouter:
    return load_learned()


def _request(prompt: str, weight: float, unfamiliar: UnfamiliarPolicy = "route") -> RouteRequest:
    return RouteRequest(prompt, len(prompt) // 4 + 1, TINY, weight, unfamiliar=unfamiliar)


def test_a_benchmark_like_prompt_is_familiar_and_gibberish_is_not(shipped: LearnedRouter) -> None:
    familiar = shipped.decide(_request(FAMILIAR, 0.5))
    strange = shipped.decide(_request(GIBBERISH, 0.5))
    assert familiar.familiarity is not None and familiar.familiarity > 0.3
    assert not familiar.unfamiliar and "unfamiliar" not in familiar.reason
    assert strange.familiarity == 0.0 and strange.unfamiliar
    assert "unfamiliar prompt (familiarity 0.00)" in strange.reason


def test_unfamiliar_quality_sends_unfamiliar_prompts_to_the_best_rated_model(
    shipped: LearnedRouter,
) -> None:
    routed = shipped.decide(_request(GIBBERISH, 2.0))
    careful = shipped.decide(_request(GIBBERISH, 2.0, "quality"))
    ratings = {c.model_id: shipped.rating(c) for c in TINY}
    assert careful.model_id == max(ratings, key=lambda m: ratings[m]) == "tiny-large"
    assert routed.model_id != careful.model_id  # the economy route alone picks a cheaper one
    assert "best overall rating" in careful.reason and "unfamiliar" in careful.reason
    # a familiar prompt is routed as the route's cost weight says, whatever the option
    assert (
        shipped.decide(_request(FAMILIAR, 2.0, "quality")).ranking
        == shipped.decide(_request(FAMILIAR, 2.0)).ranking
    )


def test_the_route_option_reaches_the_router_through_the_gateway_selection() -> None:
    raw = raw_config("http://127.0.0.1:9", "sqlite://")
    raw["routes"] = {
        "auto-economy": {"cost_weight": 2.0},
        "auto-careful": {"cost_weight": 2.0, "unfamiliar": "quality"},
    }
    selector = Selector(parse_config(raw), load_learned())
    plain = selector.routed(RESEARCH, "auto-economy", GIBBERISH, 8, {"chat"}).decision
    careful = selector.routed(RESEARCH, "auto-careful", GIBBERISH, 8, {"chat"}).decision
    assert careful.model_id == "tiny-large" and plain.model_id != "tiny-large"


def test_the_config_refuses_an_unknown_unfamiliar_option() -> None:
    raw = raw_config("http://127.0.0.1:9", "sqlite://")
    raw["routes"] = {"auto-careful": {"cost_weight": 0.5, "unfamiliar": "panic"}}
    with pytest.raises((ConfigError, ValidationError), match="unfamiliar"):
        parse_config(raw)
    assert RouterConfig().familiarity_threshold == 0.05


def test_adaptation_makes_its_traffic_familiar(trained: Artifact) -> None:
    model = trained.model
    records = [
        GradedRecord.of(model, p, {m: float(i % 2) for i, m in enumerate(model.models)})
        for p in NEW_KIND[:100]
    ]
    adapted = adapt(model, records, seed=0).model
    before = model.read(NEW_KIND[110]).familiarity
    after = adapted.read(NEW_KIND[110]).familiarity
    assert before is not None and after is not None
    assert after > before + 0.3, (before, after)


def test_familiarity_is_calibrated_on_the_training_prompts(trained: Artifact) -> None:
    model = trained.model
    assert model.familiarity is not None
    q = model.familiarity.quantiles
    assert len(q) == 101 and (np.diff(q) >= 0).all()
    assert model.familiarity.score(float(q[50])) == pytest.approx(0.5, abs=0.02)
    assert model.familiarity.score(-1.0) == 0.0 and model.familiarity.score(1.0) == 1.0
    assert fit_familiarity(model.neighbour_emb[:2]) is None
    # an artifact's familiarity is computed at load, the same as at training
    again = replace(model, familiarity=fit_familiarity(model.neighbour_emb))
    assert again.read(NEW_KIND[0]).familiarity == model.read(NEW_KIND[0]).familiarity


@pytest.mark.parametrize(
    ("unfamiliar", "familiar", "auc"),
    [([0.1, 0.2], [0.3, 0.9], 1.0), ([0.5, 0.5], [0.5, 0.5], 0.5), ([0.9], [0.1, 0.2], 0.0)],
)
def test_familiarity_auc(unfamiliar: list[float], familiar: list[float], auc: float) -> None:
    assert familiarity_auc(np.array(unfamiliar), np.array(familiar)) == pytest.approx(auc)
