"""Fixtures of the routing tests: slices of the real outcome data, and a router trained on one.

The data is the one shipped in ``data/routing/`` (see its README), read as it is (gzip).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.fixtures.routing_data import ROUTING_DATA, rows

from stellwerk.routing.artifact import Artifact, load_artifact
from stellwerk.training.data import load_model_facts, load_outcomes
from stellwerk.training.train import TrainSettings
from stellwerk.training.workflow import train_and_save

FAST = TrainSettings(
    bits=14,
    latent_vocab=2048,
    latent_dims=16,
    l2_grid=(1e-4,),
    k_grid=(5, 20),
    folds=2,
    max_iter=60,
)


@pytest.fixture(scope="session")
def routing_data() -> Path:
    """The folder of the shipped routing-outcome data."""
    return ROUTING_DATA


@pytest.fixture(scope="session")
def open9_slice(routing_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every 12th train row and every 5th test row of open9 (about 470 + 100 prompts), with the
    models file beside it under the same stem."""
    out = tmp_path_factory.mktemp("slice") / "slice.jsonl"
    counts = {"train": 0, "test": 0}
    keep = []
    for row in rows(routing_data / "open9.jsonl.gz"):
        split = str(row["split"])
        if counts[split] % (12 if split == "train" else 5) == 0:
            keep.append(row)
        counts[split] += 1
    out.write_text("".join(json.dumps(r) + "\n" for r in keep), encoding="utf-8")
    (out.parent / "slice-models.json").write_text(
        (routing_data / "open9-models.json").read_text(encoding="utf-8"), encoding="utf-8"
    )
    return out


@pytest.fixture(scope="session")
def trained_dir(open9_slice: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The directory of a router trained on the slice with fast settings."""
    data = load_outcomes(open9_slice)
    facts = load_model_facts(open9_slice.parent / "slice-models.json")
    out = tmp_path_factory.mktemp("artifact") / "router"
    train_and_save(data, facts, out, data_name=open9_slice.name, settings=FAST)
    return out


@pytest.fixture(scope="session")
def trained(trained_dir: Path) -> Artifact:
    """That router, loaded back."""
    return load_artifact(trained_dir)
