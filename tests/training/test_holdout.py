"""The draw of traffic and judged rows of ``router eval --holdout-task``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from stellwerk.errors import TrainingDataError
from stellwerk.routing.adapt import AdaptSettings
from stellwerk.routing.artifact import Artifact
from stellwerk.training.data import load_model_facts, load_outcomes
from stellwerk.training.holdout import (
    adapt_on_traffic,
    holdout_evaluation,
    holdout_names,
    shadow_grades,
    task_mask,
    traffic_rows,
)
from stellwerk.training.train import TrainSettings
from tests.fixtures.routing_data import ROUTING_DATA


def test_rotations_judge_every_row_of_a_task_once(open9_slice: Path) -> None:
    data = load_outcomes(open9_slice)
    rows = set(np.flatnonzero(task_mask(data, "mbpp")).tolist())
    share = len(rows) // 5
    judged: list[int] = []
    for rotation in range(5):
        traffic = traffic_rows(data, "mbpp", len(rows) - share, rotation=rotation, rotations=5)
        judged += sorted(rows - set(traffic.tolist()))
    # no row is judged twice, and all are judged but the remainder of the division by 5
    assert len(set(judged)) == len(judged) == 5 * share > len(rows) - 5
    # rotation 0 of 1 is the plain seeded draw
    assert np.array_equal(
        traffic_rows(data, "mbpp", 20), traffic_rows(data, "mbpp", 20, rotation=0, rotations=1)
    )


def test_a_rotation_out_of_range_is_refused(open9_slice: Path) -> None:
    data = load_outcomes(open9_slice)
    with pytest.raises(TrainingDataError, match="rotation 3 of 3"):
        traffic_rows(data, "mbpp", 20, rotation=3, rotations=3)


@pytest.mark.slow
def test_other_tasks_are_judged_and_unchanged_when_nothing_is_promoted(open9_slice: Path) -> None:
    data = load_outcomes(open9_slice)
    facts = load_model_facts(open9_slice.parent / "slice-models.json")
    quick = TrainSettings(l2_grid=(1e-4,), k_grid=(20,), folds=2, max_iter=20)
    outcome = holdout_evaluation(
        data,
        facts,
        "mbpp",
        adapt_n=20,
        settings=quick,
        adapt_settings=AdaptSettings(margin=1e9),  # no gain passes: nothing is promoted
        in_distribution=False,
    )
    others = outcome.other_tasks
    assert others is not None and not outcome.adaptation.promoted
    # the other tasks' test rows only: not one of the held-out task's
    held_test = int((task_mask(data, "mbpp") & data.is_test).sum())
    assert others.rows == min(1000, int(data.is_test.sum()) - held_test)
    assert others.adapted == others.unadapted
    assert outcome.as_json("mbpp")["other_tasks"]["rows"] == others.rows


def test_shadow_grading_keeps_two_grades_relative_to_the_reference(
    open9_slice: Path, trained: Artifact
) -> None:
    data = load_outcomes(open9_slice)
    facts = load_model_facts(open9_slice.parent / "slice-models.json")
    model = trained.model
    rows = traffic_rows(data, "mbpp", 40)
    grades = shadow_grades(data, facts, rows, model)
    reference = model.models[int(np.argmax(model.offsets))]
    assert len(grades) == len(rows)
    picked_other = 0
    for i, g in zip(rows, grades, strict=True):
        # the reference is the yardstick: graded 1; at most one other model, the router's pick
        assert g[reference] == 1.0 and len(g) <= 2
        for name, grade in g.items():
            if name == reference:
                continue
            picked_other += 1
            own = data.scores[i, data.models.index(name)]
            ref = data.scores[i, data.models.index(reference)]
            assert grade == (1.0 if own >= ref else own / ref)
    assert picked_other > 0  # at the auto route's cost weight the router picks cheaper models
    # shadow+1: one more model a request, another one each time it can be, the same yardstick
    more = shadow_grades(data, facts, rows, model, extra=True)
    assert all(g[reference] == 1.0 and set(g) >= set(f) for g, f in zip(more, grades, strict=True))
    assert all(len(g) == (3 if len(f) == 2 else 2) for g, f in zip(more, grades, strict=True))
    with pytest.raises(TrainingDataError, match="grading 'every'"):
        adapt_on_traffic(data, facts, rows, model, grading="every")


def test_the_simulation_keeps_records_as_noisy_as_the_gateway_asks(
    open9_slice: Path, trained: Artifact
) -> None:
    """``router eval --adapt N --record-noise X``: the graded traffic is kept as a gateway with
    ``router.record_noise: X`` keeps it, so the adaptation reads other records than exact ones;
    the noise is seeded, so the same run gives the same figures."""
    data = load_outcomes(open9_slice)
    facts = load_model_facts(open9_slice.parent / "slice-models.json")
    rows = traffic_rows(data, "mbpp", 40)
    judged = [
        adapt_on_traffic(data, facts, rows, trained.model, seed=3, record_noise=noise).as_json()
        for noise in (0.0, 0.5, 0.5)
    ]
    exact, noisy, again = judged
    assert noisy == again
    assert noisy["comparison"] != exact["comparison"]


def test_a_family_of_tasks_is_held_out_by_its_name() -> None:
    """``mmlu`` holds out routellm's 57 ``mmlu_...`` subjects; one subject is a name too; the
    start of a subject's name or of a single task's is none."""
    data = load_outcomes(ROUTING_DATA / "routellm-mmlu-gsm8k.jsonl.gz", resplit=0.3)
    tasks = np.array(data.tasks)
    assert task_mask(data, "mmlu").sum() == np.char.startswith(tasks.astype(str), "mmlu_").sum()
    assert task_mask(data, "mmlu_anatomy").sum() == (tasks == "mmlu_anatomy").sum() > 0
    assert task_mask(data, "gsm8k").sum() == (tasks == "gsm8k").sum()
    names = holdout_names(data.tasks)
    assert len(names) == 59 and len(names["mmlu"]) == 57
    for name in ("mmlu_high_school", "gsm"):
        with pytest.raises(TrainingDataError, match="is not a task of the data"):
            task_mask(data, name)
