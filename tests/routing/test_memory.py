"""The outcome memory: a prompt the router was trained on is judged by what the models scored on
it, a new prompt by the model alone; the memory survives the artifact and refuses damage."""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from tests.routing.data_fixtures import FAST

from stellwerk.errors import ArtifactError
from stellwerk.routing.artifact import ARRAYS, MANIFEST, Artifact, load_artifact, save_artifact
from stellwerk.routing.base import RouteRequest
from stellwerk.routing.learned import LearnedRouter
from stellwerk.routing.memory import OutcomeMemory, prompt_digest
from stellwerk.training.data import load_model_facts, load_outcomes
from stellwerk.training.train import train_quality_model
from stellwerk.training.workflow import candidates_for


def _seen(open9_slice: Path, trained: Artifact) -> tuple[str, np.ndarray]:
    """A training prompt on which the remembered outcomes differ most from the bare model."""
    data = load_outcomes(open9_slice).train()
    bare = replace(trained.model, memory=None)
    gaps = [
        np.abs(bare.predict(p)[0] - s).max() for p, s in zip(data.prompts, data.scores, strict=True)
    ]
    i = int(np.argmax(gaps))
    return data.prompts[i], data.scores[i]


def test_a_seen_prompt_is_pulled_halfway_to_its_measured_outcomes(
    trained: Artifact, open9_slice: Path
) -> None:
    prompt, measured = _seen(open9_slice, trained)
    bare = replace(trained.model, memory=None).predict(prompt)[0]
    remembered = trained.model.predict(prompt)[0]
    assert np.abs(bare - measured).max() > 0.3
    # one remembered outcome counts as much as the model's own prediction
    assert np.allclose(remembered, (bare + measured) / 2, atol=2e-3)
    # surrounding whitespace does not make it a different prompt
    assert np.allclose(trained.model.predict(f"\n  {prompt}  \n")[0], remembered)


def test_a_new_prompt_is_judged_by_the_model_alone(trained: Artifact, open9_slice: Path) -> None:
    prompt, _ = _seen(open9_slice, trained)
    changed = prompt + " Answer in one word."
    bare = replace(trained.model, memory=None)
    assert np.array_equal(trained.model.predict(changed)[0], bare.predict(changed)[0])
    assert trained.model.remembered(changed) == 0
    assert trained.model.remembered(prompt) >= 1


def test_the_decision_says_when_it_leans_on_measured_outcomes(
    trained: Artifact, open9_slice: Path
) -> None:
    prompt, _ = _seen(open9_slice, trained)
    router = LearnedRouter(trained.model, version="t")
    cands = candidates_for(trained.model.models, load_model_facts(_models(open9_slice)))
    seen = router.decide(RouteRequest(prompt, 50, cands, 0.5))
    new = router.decide(RouteRequest("Name three rivers in Bavaria.", 8, cands, 0.5))
    assert "measured outcome" in seen.reason and "of this prompt" in seen.reason
    assert "measured" not in new.reason


def test_the_memory_survives_the_artifact(
    trained: Artifact, open9_slice: Path, tmp_path: Path
) -> None:
    prompt, _ = _seen(open9_slice, trained)
    save_artifact(trained.model, tmp_path / "again", trained.info)
    again = load_artifact(tmp_path / "again")
    assert again.model.memory is not None and trained.model.memory is not None
    assert len(again.model.memory) == len(trained.model.memory) > 0
    assert np.allclose(again.model.predict(prompt)[0], trained.model.predict(prompt)[0])


def test_training_without_memory_remembers_nothing(open9_slice: Path, tmp_path: Path) -> None:
    data = load_outcomes(open9_slice)
    facts = load_model_facts(_models(open9_slice))
    model, _ = train_quality_model(data, facts, replace(FAST, memory=False))
    assert model.memory is None
    save_artifact(model, tmp_path / "forgetful", {})
    with np.load(tmp_path / "forgetful" / ARRAYS, allow_pickle=False) as npz:
        assert not [n for n in npz.files if n.startswith("memory")]
    assert load_artifact(tmp_path / "forgetful").model.memory is None


def test_duplicate_training_prompts_are_averaged() -> None:
    scores = np.array([[1.0, 0.0], [0.0, 0.0], [1.0, 1.0]])
    memory = OutcomeMemory.build(["same", "other", " same\n"], scores)
    assert len(memory) == 2
    row = memory.find("same")
    assert int(memory.counts[row]) == 2
    assert memory.scores[row].tolist() == [1.0, 0.5]
    assert memory.find("not there") == -1
    assert prompt_digest("same") == prompt_digest("same ")
    assert prompt_digest("same") != prompt_digest("Same")


def _rewrite(path: Path, **arrays: np.ndarray) -> None:
    with np.load(path / ARRAYS, allow_pickle=False) as npz:
        current = {name: npz[name] for name in npz.files}
    current.update(arrays)
    blob = io.BytesIO()
    np.savez_compressed(blob, allow_pickle=False, **current)
    (path / ARRAYS).write_bytes(blob.getvalue())
    manifest = json.loads((path / MANIFEST).read_text())
    manifest["arrays_sha256"] = hashlib.sha256(blob.getvalue()).hexdigest()
    (path / MANIFEST).write_text(json.dumps(manifest))


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ("unsorted", "not sorted"),
        ("score_above_one", "outside \\[0, 1\\]"),
        ("short_counts", "do not match"),
    ],
)
def test_a_damaged_memory_is_refused(
    trained: Artifact, tmp_path: Path, change: str, needle: str
) -> None:
    out = tmp_path / "copy"
    save_artifact(trained.model, out, trained.info)
    memory = trained.model.memory
    assert memory is not None
    if change == "unsorted":
        _rewrite(out, memory_keys=memory.keys[::-1].copy())
    elif change == "score_above_one":
        _rewrite(out, memory_scores=(memory.scores + np.float16(1.5)).astype(np.float16))
    else:
        _rewrite(out, memory_counts=memory.counts[:-1].copy())
    with pytest.raises(ArtifactError, match=needle):
        load_artifact(out)


def _models(open9_slice: Path) -> Path:
    return open9_slice.parent / "slice-models.json"
