"""The artifact round-trips exactly, and a corrupt or foreign one is refused at load."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from stellwerk.errors import ArtifactError
from stellwerk.routing.artifact import ARRAYS, MANIFEST, Artifact, load_artifact, save_artifact
from stellwerk.routing.learned import LearnedRouter
from stellwerk.training.workflow import candidates_for

PROMPTS = ["What is 17 * 23?", "Write a Python function that reverses a linked list.", ""]


def _copy(trained: Artifact, tmp_path: Path) -> Path:
    out = tmp_path / "copy"
    save_artifact(trained.model, out, trained.info)
    return out


def test_round_trip_gives_the_same_decisions(trained: Artifact, tmp_path: Path) -> None:
    out = _copy(trained, tmp_path)
    again = load_artifact(out)
    assert again.version == load_artifact(out).version
    assert again.info["data"] == trained.info["data"]
    assert "stellwerk" in again.info["metrics"]["routers"]
    for prompt in PROMPTS:
        a, ease_a = trained.model.predict(prompt)
        b, ease_b = again.model.predict(prompt)
        assert np.allclose(a, b)
        assert ease_a == pytest.approx(ease_b)


def test_the_artifact_keeps_no_prompt_text(
    trained: Artifact, open9_slice: Path, tmp_path: Path
) -> None:
    out = _copy(trained, tmp_path)
    manifest = (out / MANIFEST).read_text()
    prompts = [json.loads(line)["prompt"] for line in open9_slice.read_text().splitlines()]
    words = {w for p in prompts for w in p.split() if len(w) > 8 and w.isalpha()}
    assert len(words) > 100
    assert not [w for w in words if w in manifest]
    with np.load(out / ARRAYS, allow_pickle=False) as npz:
        assert all(npz[name].dtype.kind in "fiu" for name in npz.files)


def test_saving_over_a_full_directory_is_refused_and_keeps_it(
    trained: Artifact, tmp_path: Path
) -> None:
    out = tmp_path / "taken"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(ArtifactError, match="not an empty directory"):
        save_artifact(trained.model, out, {})
    assert [p.name for p in out.iterdir()] == ["notes.txt"]


def _tamper_manifest(path: Path, **change: object) -> None:
    manifest = json.loads((path / MANIFEST).read_text())
    manifest.update(change)
    (path / MANIFEST).write_text(json.dumps(manifest))


@pytest.mark.parametrize(
    ("damage", "needle"),
    [
        (lambda p: (p / MANIFEST).unlink(), "not a router artifact"),
        (lambda p: (p / MANIFEST).write_text("{oops"), "not valid JSON"),
        (lambda p: _tamper_manifest(p, format="someone-else"), "not a Stellwerk router artifact"),
        (lambda p: _tamper_manifest(p, version=99), "version 99 is not supported"),
        (lambda p: (p / ARRAYS).write_bytes((p / ARRAYS).read_bytes()[:-50]), "checksum"),
        (lambda p: _tamper_manifest(p, k="many"), "'k' must be a number"),
        (lambda p: _tamper_manifest(p, models=["only-one"]), "shape"),
    ],
)
def test_a_damaged_artifact_is_refused(
    trained: Artifact, tmp_path: Path, damage: Callable[[Path], object], needle: str
) -> None:
    out = _copy(trained, tmp_path)
    damage(out)
    with pytest.raises(ArtifactError, match=needle):
        load_artifact(out)


def test_arrays_that_need_pickle_are_refused_even_with_a_matching_checksum(
    trained: Artifact, tmp_path: Path
) -> None:
    out = _copy(trained, tmp_path)
    blob = io.BytesIO()
    np.savez(blob, idf=np.array([{"evil": 1}], dtype=object))
    (out / ARRAYS).write_bytes(blob.getvalue())
    import hashlib

    _tamper_manifest(out, arrays_sha256=hashlib.sha256(blob.getvalue()).hexdigest())
    with pytest.raises(ArtifactError, match="plain arrays"):
        load_artifact(out)


def test_a_missing_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="not a router artifact"):
        load_artifact(tmp_path / "nowhere")


def test_the_shipped_artifact_loads_and_is_small() -> None:
    from stellwerk.routing.loader import shipped_artifact

    root = shipped_artifact()
    size = sum(p.stat().st_size for p in root.iterdir())
    assert size < 5 * 1024 * 1024
    art = load_artifact(root)
    assert art.info["data"]["test_rows"] > 0
    router = LearnedRouter(art.model, version=art.version)
    q = router.qualities("What is 2 + 2?", candidates_for(art.model.models, {}))
    assert ((q >= 0) & (q <= 1)).all()


def test_the_families_round_trip_and_name_the_version(trained: Artifact, tmp_path: Path) -> None:
    out = _copy(trained, tmp_path)
    again = load_artifact(out)
    assert again.model.placement == trained.model.placement
    assert again.model.placement.families  # every trained model's family has an effect
    moved = replace(
        trained.model,
        placement=replace(trained.model.placement, families={"someone": -1.0}),
    )
    other = save_artifact(moved, tmp_path / "other", trained.info)
    assert other.version != again.version  # same arrays, another placement: another router


def test_an_artifact_without_families_places_by_size_alone(
    trained: Artifact, tmp_path: Path
) -> None:
    out = _copy(trained, tmp_path)
    manifest = json.loads((out / MANIFEST).read_text())
    del manifest["family_offsets"]
    (out / MANIFEST).write_text(json.dumps(manifest))
    loaded = load_artifact(out)
    placement = loaded.model.placement
    assert placement.families == {}
    digest = json.loads((out / MANIFEST).read_text())["arrays_sha256"]
    assert loaded.version == digest[:12]  # the version such an artifact always had
    assert list(placement.offsets(70, "anything")) == [placement.trend(70)]


@pytest.mark.parametrize("families", [["a"], {"a": "low"}, {"a": float("nan")}, {"": 1.0}])
def test_malformed_families_are_refused(
    trained: Artifact, tmp_path: Path, families: object
) -> None:
    out = _copy(trained, tmp_path)
    manifest = json.loads((out / MANIFEST).read_text())
    manifest["family_offsets"] = families
    (out / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="'family_offsets' must map family names"):
        load_artifact(out)
