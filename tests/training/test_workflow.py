"""Training and evaluation on a slice of the real open9 data (fast settings)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from stellwerk.errors import TrainingDataError
from stellwerk.training.data import ModelFacts, OutcomeData, load_model_facts, load_outcomes
from stellwerk.training.workflow import fit_and_evaluate, predict_table
from tests.routing.data_fixtures import FAST

#: the slice's outcomes and the facts of its models
Slice = tuple[OutcomeData, dict[str, ModelFacts]]


@pytest.fixture(scope="module")
def slice_data(open9_slice: Path) -> Slice:
    return load_outcomes(open9_slice), load_model_facts(open9_slice.parent / "slice-models.json")


def test_the_router_beats_every_single_model_and_their_mixtures(slice_data: Slice) -> None:
    data, facts = slice_data
    result = fit_and_evaluate(data, facts, settings=FAST).evaluation.routers
    assert result["stellwerk"]["aiq"] > result["mixture"]["aiq"]
    assert result["oracle"]["aiq"] > result["stellwerk"]["aiq"]
    assert result["stellwerk"]["cost_to_match_best"] is not None


def test_a_held_out_model_is_placed_from_its_size(slice_data: Slice) -> None:
    data, facts = slice_data
    held = "llama-3.1-nemotron-51b-instruct"
    outcome = fit_and_evaluate(data, facts, settings=FAST, holdout=held)
    assert outcome.placed == {held: "size, family unknown: the mean over the known families"}
    assert held not in outcome.model.models
    table = predict_table(outcome.model, data.test(), facts, lambda *a: None)
    column = table[:, data.models.index(held)]
    weakest = table[:, data.models.index("llama3-chatqa-1.5-8b")]
    # placed by size, it is not mistaken for the weakest model, nor for a perfect one
    assert weakest.mean() + 0.1 < column.mean() < 0.9
    assert np.ptp(column) > 0  # it follows the prompt, not a constant
    assert "stellwerk" in outcome.evaluation.routers


def test_a_held_out_model_without_facts_is_placed_as_an_average_known_one(
    slice_data: Slice,
) -> None:
    """Outcome data of models whose size nobody published (hosted APIs): leaving one out still
    gives a result, with the held-out model predicted as any trained model might do."""
    data, facts = slice_data
    held = "llama-3.1-nemotron-51b-instruct"
    no_size = {m: replace(f, params_b=None) for m, f in facts.items()}
    outcome = fit_and_evaluate(data, no_size, settings=FAST, holdout=held)
    assert outcome.placed == {held: "no size to go by: the mean over the trained models"}
    table = predict_table(outcome.model, data.test(), no_size, lambda *a: None)
    column = table[:, data.models.index(held)]
    trained = np.delete(table, data.models.index(held), axis=1)
    assert trained.min(axis=1).mean() < column.mean() < trained.max(axis=1).mean()
    assert outcome.evaluation.routers["stellwerk"]["aiq"] > 0


def test_an_unknown_holdout_model_is_refused(slice_data: Slice) -> None:
    data, facts = slice_data
    with pytest.raises(TrainingDataError, match="not a model of the data"):
        fit_and_evaluate(data, facts, settings=FAST, holdout="gpt-9")


def test_no_prices_and_no_cost_usd_is_a_clear_error(slice_data: Slice) -> None:
    data, _ = slice_data
    with pytest.raises(TrainingDataError, match="no cost_usd and there is no price"):
        fit_and_evaluate(data, {}, settings=FAST)


def test_data_without_prices_still_trains_without_metrics(
    slice_data: Slice, tmp_path: Path
) -> None:
    from stellwerk.routing.artifact import load_artifact
    from stellwerk.training.workflow import train_and_save

    data, _ = slice_data
    _, evaluation = train_and_save(
        data, {}, tmp_path / "router", data_name="slice.jsonl", settings=FAST
    )
    assert evaluation is None
    again = load_artifact(tmp_path / "router")
    assert again.info["metrics"] is None
    assert again.model.models == data.models
