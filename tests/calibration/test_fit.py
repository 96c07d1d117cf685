"""Placing calibrated models into the shipped router: from its facts-only guess towards what was
measured, trained models untouched, saved as an artifact the router loads."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from stellwerk.calibration.fit import place_models, prior_offset, save_placed, with_placed
from stellwerk.calibration.placement import Placement
from stellwerk.errors import TrainingDataError
from stellwerk.routing.artifact import Artifact, load_artifact
from stellwerk.routing.base import Candidate, RouteRequest
from stellwerk.routing.knowledge import Knowledge
from stellwerk.routing.loader import load_learned, shipped_artifact
from stellwerk.training.data import ModelFacts, load_outcomes
from tests.fixtures.routing_data import rows

SOURCE = "llama3-chatqa-1.5-70b"  # large, but scores low on open9 (a prompt-format mismatch)
NEW = "org-assistant-70b"


@pytest.fixture(scope="module")
def shipped() -> Artifact:
    return load_artifact(shipped_artifact())


@pytest.fixture(scope="module")
def outcomes(open9_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An organisation's calibration: its 70B model answered every 20th open9 train prompt the
    way llama3-chatqa-1.5-70b did (281 prompts; a fifth of them are the calibration's test rows)."""
    path = tmp_path_factory.mktemp("fit") / "calibrated.jsonl"
    lines: list[dict[str, Any]] = []
    for i, row in enumerate(rows(open9_path)):
        if row["split"] != "train" or i % 20:
            continue
        split = "test" if len(lines) % 5 == 4 else "train"
        lines.append({**row, "split": split, "scores": {NEW: row["scores"][SOURCE]}})
    path.write_text("".join(json.dumps(r) + "\n" for r in lines[:300]))
    return path


FACTS = {NEW: ModelFacts(params_b=70.0, price_in_per_mtok=0.9, price_out_per_mtok=0.9)}


def test_a_placed_model_moves_from_its_size_guess_to_its_measured_level(
    shipped: Artifact, outcomes: Path
) -> None:
    data = load_outcomes(outcomes)
    placements = place_models(shipped.model, data, FACTS)
    assert set(placements) == {NEW}
    placed = placements[NEW]
    assert placed.prompts == len(data.train()) == 225
    guess = prior_offset(shipped.model, NEW, FACTS)
    assert placed.offset < guess  # its size promised more than it delivers

    model = with_placed(shipped.model, placements)
    assert model.models == (*shipped.model.models, NEW)
    test = data.test()
    before = [float(1 / (1 + np.exp(-(guess + shipped.model.predict(p)[1])))) for p in test.prompts]
    after = [float(model.predict(p)[0][-1]) for p in test.prompts]
    measured = float(test.scores[:, 0].mean())
    assert abs(np.mean(after) - measured) < abs(np.mean(before) - measured)
    for prompt in test.prompts[:5]:  # the trained models' predictions do not change
        old, new = shipped.model.predict(prompt)[0], model.predict(prompt)[0]
        assert np.allclose(new[: len(old)], old, atol=1e-6)


def test_the_placed_router_is_saved_and_routes(
    shipped: Artifact, outcomes: Path, tmp_path: Path
) -> None:
    data = load_outcomes(outcomes)
    placements = place_models(shipped.model, data, FACTS)
    priors = {NEW: prior_offset(shipped.model, NEW, FACTS)}
    saved = save_placed(shipped, placements, tmp_path / "router", priors=priors, data_sha256="x")
    loaded = load_artifact(tmp_path / "router")
    assert loaded.version == saved.version != shipped.version
    assert loaded.model.models[-1] == NEW
    assert loaded.info["placed"][NEW]["prompts"] == 225
    assert loaded.info["placed_into"] == shipped.version
    router = load_learned(tmp_path / "router")
    candidates = tuple(
        Candidate(m, params_b=p, size_class="large", price_in_per_mtok=0.9,
                  price_out_per_mtok=0.9, context_length=8192)
        for m, p in ((NEW, 70.0), ("llama-3.1-nemotron-51b-instruct", 51.0))
    )  # fmt: skip
    decision = router.decide(RouteRequest("What is 17 * 23?", 8, candidates, cost_weight=0.0))
    assert {s.model_id for s in decision.scores} == {NEW, "llama-3.1-nemotron-51b-instruct"}
    # the gateway's router tells the calibrated model from the trained one (the dashboard shows it)
    assert router.knowledge(candidates[0]) == Knowledge("calibrated", prompts=225)
    assert router.knowledge(candidates[1]) == Knowledge("trained")


def test_a_model_without_facts_cannot_be_placed(shipped: Artifact, outcomes: Path) -> None:
    with pytest.raises(TrainingDataError, match="neither params_b nor benchmark_score"):
        place_models(shipped.model, load_outcomes(outcomes), {})


def test_trained_models_are_not_placed_again(shipped: Artifact, outcomes: Path) -> None:
    data = load_outcomes(outcomes)
    placements = place_models(shipped.model, data, FACTS)
    with pytest.raises(TrainingDataError, match="already trained"):
        with_placed(with_placed(shipped.model, placements), placements)


def test_a_remembered_prompt_places_the_new_model_by_what_was_measured_on_it(
    shipped: Artifact, outcomes: Path, open9_path: Path
) -> None:
    model = with_placed(shipped.model, place_models(shipped.model, load_outcomes(outcomes), FACTS))
    train = [r for r in rows(open9_path) if r["split"] == "train"]
    solved = next(r["prompt"] for r in train if min(r["scores"].values()) == 1.0)
    failed = next(r["prompt"] for r in train if max(r["scores"].values()) == 0.0)
    assert model.remembered(solved) == model.remembered(failed) == 1
    # every trained model solved one and failed the other: the placed model is judged alike
    assert model.predict(solved)[0][-1] > model.predict(failed)[0][-1] + 0.2


def test_a_calibrated_model_places_the_uncalibrated_sizes_of_its_family(
    shipped: Artifact, outcomes: Path, tmp_path: Path
) -> None:
    """The organisation calibrated its 70B assistant (which does badly); the 8B size of the same
    family, never calibrated, is expected to do badly too, unlike an 8B model of a new family."""
    data = load_outcomes(outcomes)
    placements = place_models(shipped.model, data, FACTS)
    priors = {NEW: prior_offset(shipped.model, NEW, FACTS)}
    save_placed(
        shipped, placements, tmp_path / "router", priors=priors, data_sha256="x", facts=FACTS
    )
    router = load_learned(tmp_path / "router")
    placement = router.model.placement
    placed = placements[NEW]
    mean_ease = float(np.mean(router.model.ease_quantiles))
    assert placement.families["org-assistant"] == pytest.approx(
        placed.offset + (placed.slope - 1.0) * mean_ease - placement.trend(70.0)
    )
    sibling = Candidate("org-assistant-8b", 8.0, "medium", 0.2, 0.2, 8192, family="org-assistant")
    stranger = Candidate("other-8b", 8.0, "medium", 0.2, 0.2, 8192, family="other")
    sibling_q, stranger_q = router.qualities("What is 17 * 23?", (sibling, stranger))
    assert sibling_q < stranger_q - 0.1
    # without the facts (an older caller) nothing is learned about the family
    assert "org-assistant" not in with_placed(shipped.model, placements).placement.families


def test_a_router_without_families_learns_none_from_a_calibration(
    shipped: Artifact, outcomes: Path
) -> None:
    """An artifact from before families places every new model by size alone; calibrating one
    weak model into it must not make every other new model look like that one."""
    old = replace(shipped.model, placement=replace(shipped.model.placement, families={}))
    placements = place_models(old, load_outcomes(outcomes), FACTS)
    assert with_placed(old, placements, FACTS).placement.families == {}


def test_a_calibrated_family_is_measured_above_the_ease_as_trained_ones_are(
    shipped: Artifact,
) -> None:
    flat = Placement(offset=0.2, slope=0.3, prompts=100, mean_score=0.4)
    placed = with_placed(shipped.model, {NEW: flat}, FACTS).placement
    mean_ease = float(np.mean(shipped.model.ease_quantiles))
    expected = 0.2 + (0.3 - 1.0) * mean_ease - placed.trend(70.0)
    assert placed.families["org-assistant"] == pytest.approx(expected)
