"""Reading outcome data: every malformed line is refused with its line number and field."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from stellwerk.errors import TrainingDataError
from stellwerk.training.data import default_models_file, load_model_facts, load_outcomes


def _row(i: int, split: str = "train", **over: object) -> dict[str, object]:
    row: dict[str, object] = {
        "id": f"r{i}",
        "split": split,
        "task": "t",
        "prompt": f"prompt number {i}",
        "scores": {"small": 0.0, "large": 1.0},
    }
    row.update(over)
    return row


def _write(tmp_path: Path, rows: list[dict[str, object]], raw: str = "") -> Path:
    path = tmp_path / "data.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows) + raw, encoding="utf-8")
    return path


GOOD = [_row(0), _row(1), _row(2, "test")]


@pytest.mark.parametrize(
    ("bad", "needle"),
    [
        ({k: v for k, v in _row(9).items() if k != "prompt"}, "field 'prompt' is missing"),
        ({k: v for k, v in _row(9).items() if k != "scores"}, "field 'scores' is missing"),
        (_row(9, scores={"small": 0.0, "large": 1.0, "huge": 1.0}), "unknown model 'huge'"),
        (_row(9, scores={"small": 0.0}), "model 'large' is missing"),
        (_row(9, scores={"small": 1.5, "large": 1.0}), "'small' is 1.5, outside [0, 1]"),
        (_row(9, scores={"small": -0.1, "large": 1.0}), "outside [0, 1]"),
        (_row(9, scores={"small": "yes", "large": 1.0}), "'small' is not a number"),
        (_row(9, split="validation"), "field 'split'"),
        (_row(9, prompt=42), "field 'prompt' must be a string"),
        (_row(0), "field 'id': 'r0' appears twice"),
        (_row(9, cost_usd=[]), "field 'cost_usd'"),
    ],
)
def test_a_bad_line_is_named_with_its_number_and_field(
    tmp_path: Path, bad: dict[str, object], needle: str
) -> None:
    path = _write(tmp_path, [*GOOD, bad])
    with pytest.raises(TrainingDataError) as info:
        load_outcomes(path)
    assert f"{path}:4:" in str(info.value)
    assert needle in str(info.value)


def test_a_line_that_is_not_json_is_named(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD, raw="{not json\n")
    with pytest.raises(TrainingDataError, match=r"data.jsonl:4: not valid JSON"):
        load_outcomes(path)


def test_an_empty_train_split_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, [_row(0, "test"), _row(1, "test")])
    with pytest.raises(TrainingDataError, match="train split is empty"):
        load_outcomes(path)


def test_no_test_split_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, [_row(0), _row(1)])
    with pytest.raises(TrainingDataError, match="no row has split 'test'"):
        load_outcomes(path)


def test_resplit_gives_all_test_data_a_stable_split(tmp_path: Path) -> None:
    path = _write(tmp_path, [_row(i, "test") for i in range(200)])
    first = load_outcomes(path, resplit=0.3)
    again = load_outcomes(path, resplit=0.3)
    assert np.array_equal(first.is_test, again.is_test)
    assert 0.15 < first.is_test.mean() < 0.45


def test_resplit_is_refused_when_the_file_has_train_rows(tmp_path: Path) -> None:
    with pytest.raises(TrainingDataError, match="only for data whose rows are all test"):
        load_outcomes(_write(tmp_path, GOOD), resplit=0.3)


def test_costs_come_from_prices_and_prompt_length(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD)
    facts_path = tmp_path / "data-models.json"
    facts_path.write_text(
        json.dumps(
            {
                "small": {"params_b": 1, "input_usd_per_mtok": 1.0, "output_usd_per_mtok": 2.0},
                "large": {"params_b": 70, "input_usd_per_mtok": 10.0, "output_usd_per_mtok": 20.0},
            }
        )
    )
    assert default_models_file(path) == facts_path
    data = load_outcomes(path)
    costs = data.costs(load_model_facts(facts_path))
    tokens = -(-len("prompt number 0") // 4)
    assert costs[0, 0] == pytest.approx((tokens * 1.0 + 128 * 2.0) / 1e6)
    assert costs[0, 1] == pytest.approx(10 * costs[0, 0])


def test_costs_without_prices_name_the_models(tmp_path: Path) -> None:
    data = load_outcomes(_write(tmp_path, GOOD))
    with pytest.raises(TrainingDataError, match="no price for small, large"):
        data.costs({})


def test_real_open9_loads_with_its_splits(routing_data: Path) -> None:
    data = load_outcomes(routing_data / "open9.jsonl.gz")
    assert len(data) == 6108
    assert int(data.is_test.sum()) == 500
    assert len(data.models) == 9
    assert data.cost_usd is None


def test_a_models_file_gives_each_model_its_family(tmp_path: Path) -> None:
    path = tmp_path / "m-models.json"
    path.write_text(
        json.dumps(
            {
                "a": {"params_b": 8, "hf_id": "nvidia/llama3-chatqa-1.5-8b"},
                "b": {"params_b": 70, "hf_id": "x/y-70b", "family": " Llama3-ChatQA-1.5 "},
                "c": {"params_b": 3},
            }
        )
    )
    facts = load_model_facts(path)
    assert facts["a"].family == facts["b"].family == "llama3-chatqa1.5"
    assert facts["c"].family is None  # left to the model's own name


@pytest.mark.parametrize("entry", [{"family": 3}, {"family": "  "}, {"hf_id": ["x"]}])
def test_a_family_that_is_not_a_name_is_refused(tmp_path: Path, entry: dict[str, object]) -> None:
    path = tmp_path / "m-models.json"
    path.write_text(json.dumps({"a": {"params_b": 8, **entry}}))
    field = next(iter(entry))
    with pytest.raises(TrainingDataError, match=f"model 'a': field '{field}' must be a non-empty"):
        load_model_facts(path)
