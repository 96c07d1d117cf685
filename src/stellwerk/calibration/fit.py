"""Fitting the router to calibrated models: each model the router was not trained on is placed
into its quality model from its calibration scores, without retraining anything.

The learned router rates every prompt's *ease* (the mean logit of the models it was trained on,
each less its offset). A calibrated model is fitted as ``quality = sigmoid(offset + slope x ease)``
on the train rows of the calibration outcomes (``placement.place_on_ease``, starting from the
router's own facts-only guess), then written into the quality model as one more model, so that
the artifact format, the gateway and ``stellwerk router eval`` work with it unchanged:

* its linear head follows the ease through the trained heads: ``coef = slope x mean(coef)``,
  ``bias = offset + slope x (mean(bias) - mean(offsets))`` (exact for an all-linear blend);
* its neighbour scores are the placement's quality at each stored training prompt's ease, as the
  trained models' scores there estimate it;
* its offset is the fitted offset;
* an embedding head, if the router has one, gets the placed model's column by the linear rule.

A model the router was trained on keeps its own predictor.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from stellwerk.calibration.placement import Placement, place_on_ease
from stellwerk.errors import TrainingDataError
from stellwerk.routing.artifact import Artifact, save_artifact
from stellwerk.routing.embedding_head import EmbeddingHead
from stellwerk.routing.knowledge import PLACED
from stellwerk.routing.model import QualityModel, logit
from stellwerk.routing.placement import SizePlacement, family_key, offset_from_benchmark
from stellwerk.training.data import ModelFacts, OutcomeData

Progress = Callable[[int, int], None]


def _quiet(done: int, total: int) -> None:
    """The default progress callback: says nothing."""


def prior_offset(model: QualityModel, name: str, facts: Mapping[str, ModelFacts]) -> float:
    """The offset the router guesses for a model from its facts (benchmark score, else size)."""
    fact = facts.get(name)
    if fact is not None and fact.benchmark_score is not None:
        return offset_from_benchmark(fact.benchmark_score, model.ease_quantiles)
    if fact is not None and fact.params_b is not None:
        return model.placement.point(
            fact.params_b, family_key(fact.family, name), model.ease_quantiles
        )
    raise TrainingDataError(
        f"model {name!r}: the models file gives neither params_b nor benchmark_score to start from"
    )


def place_models(
    model: QualityModel,
    data: OutcomeData,
    facts: Mapping[str, ModelFacts],
    *,
    progress: Progress = _quiet,
) -> dict[str, Placement]:
    """A placement for every model of ``data`` that ``model`` was not trained on, fitted on the
    train rows of ``data`` (its test rows are never read)."""
    new = [m for m in data.models if m not in model.models]
    if not new:
        return {}
    train = data.train()
    if len(train) == 0:
        raise TrainingDataError("the calibration outcomes have no train rows to place models on")
    priors = {name: prior_offset(model, name, facts) for name in new}
    ease = np.empty(len(train))
    for i, prompt in enumerate(train.prompts):
        ease[i] = model.predict(prompt)[1]
        if i % 50 == 0:
            progress(i, len(train))
    progress(len(train), len(train))
    return {
        name: place_on_ease(
            ease, train.scores[:, data.models.index(name)], prior_offset=priors[name]
        )
        for name in new
    }


def with_placed(
    model: QualityModel,
    placements: Mapping[str, Placement],
    facts: Mapping[str, ModelFacts] | None = None,
) -> QualityModel:
    """The quality model with every placed model added after the trained ones; a placed model
    whose size ``facts`` give also places its family, when the router knows none of it yet (a
    calibrated 8B model places the uncalibrated 70B of its family)."""
    clash = sorted(set(placements) & set(model.models))
    if clash:
        raise TrainingDataError(f"already trained in the router, not placed: {', '.join(clash)}")
    if not placements:
        return model
    coef = model.coef.astype(np.float64)
    bias = model.bias.astype(np.float64)
    mean_w = coef.mean(axis=1)
    base = float(bias.mean() - model.offsets.mean())
    stored = model.neighbour_scores.astype(np.float64)
    stored_ease = (logit(stored) - model.offsets).mean(axis=1)
    placed = list(placements.values())
    memory = model.memory
    if memory is not None:
        # a prompt remembered for the trained models: the placed ones by its measured ease
        seen = memory.scores.astype(np.float64)
        seen_ease = (logit(seen) - model.offsets).mean(axis=1)
        memory = memory.with_columns(np.column_stack([p.quality(seen_ease) for p in placed]))
    return replace(
        model,
        models=(*model.models, *placements),
        coef=np.column_stack([coef, *(p.slope * mean_w for p in placed)]).astype(model.coef.dtype),
        bias=np.concatenate([bias, [p.offset + p.slope * base for p in placed]]).astype(
            model.bias.dtype
        ),
        neighbour_scores=np.column_stack(
            [stored, *(p.quality(stored_ease) for p in placed)]
        ).astype(model.neighbour_scores.dtype),
        offsets=np.concatenate([model.offsets, [p.offset for p in placed]]),
        memory=memory,
        embedding=_placed_head(model, placed),
        placement=_with_families(model, placements, facts or {}),
    )


def _with_families(
    model: QualityModel, placements: Mapping[str, Placement], facts: Mapping[str, ModelFacts]
) -> SizePlacement:
    """The model's placement with the families of the placed models it does not know: each one's
    effect is its placed members' mean offset above the ease (``offset + (slope - 1) x mean
    ease``, as a trained model's offset is measured) less the size trend. A router that knows no
    families (an artifact from before families) learns none: its new models would otherwise all
    be placed like the one calibrated family."""
    placement = model.placement
    if not placement.families:
        return placement
    mean_ease = float(np.mean(model.ease_quantiles))
    found: dict[str, list[float]] = {}
    for name, p in placements.items():
        fact = facts.get(name)
        if fact is None or fact.params_b is None or fact.params_b <= 0:
            continue
        family = family_key(fact.family, name)
        if family not in placement.families:
            above_ease = p.offset + (p.slope - 1.0) * mean_ease
            found.setdefault(family, []).append(above_ease - placement.trend(fact.params_b))
    if not found:
        return placement
    added = {family: float(np.mean(effects)) for family, effects in found.items()}
    return replace(placement, families={**placement.families, **added})


def _placed_head(model: QualityModel, placed: list[Placement]) -> EmbeddingHead | None:
    """The embedding head with the placed models' columns, by the same rule as the linear head."""
    head = model.embedding
    if head is None:
        return None
    coef = head.coef.astype(np.float64)
    bias = head.bias.astype(np.float64)
    base = float(bias.mean() - model.offsets.mean())
    mean_w = coef.mean(axis=1)
    return replace(
        head,
        coef=np.column_stack([coef, *(p.slope * mean_w for p in placed)]).astype(np.float32),
        bias=np.concatenate([bias, [p.offset + p.slope * base for p in placed]]).astype(np.float32),
    )


def save_placed(
    artifact: Artifact,
    placements: Mapping[str, Placement],
    out_dir: str | Path,
    *,
    priors: Mapping[str, float],
    data_sha256: str,
    facts: Mapping[str, ModelFacts] | None = None,
) -> Artifact:
    """Write the router with the placed models as a new artifact; the manifest says what was
    placed, from which data and which artifact."""
    keep = {
        k: v for k, v in artifact.info.items() if k not in ("format", "version", "arrays_sha256")
    }
    placed: dict[str, Any] = dict(keep.get(PLACED, {}))
    for name, p in placements.items():
        placed[name] = {
            "offset": round(p.offset, 6),
            "slope": round(p.slope, 6),
            "prior_offset": round(priors[name], 6),
            "prompts": p.prompts,
            "mean_score": round(p.mean_score, 6),
            "data_sha256": data_sha256,
        }
    info = {
        **keep,
        PLACED: placed,
        "placed_into": artifact.version,
        "placed_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    return save_artifact(with_placed(artifact.model, placements, facts), out_dir, info)
