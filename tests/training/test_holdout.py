"""The draw of traffic and judged rows of ``router eval --holdout-task``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from stellwerk.errors import TrainingDataError
from stellwerk.training.data import load_outcomes
from stellwerk.training.holdout import task_mask, traffic_rows


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
