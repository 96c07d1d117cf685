"""What ``stellwerk router train`` and ``router eval`` do, without the command line around it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from stellwerk.errors import EmbeddingError, TrainingDataError
from stellwerk.routing.artifact import Artifact, save_artifact
from stellwerk.routing.base import Candidate
from stellwerk.routing.embedding import EmbeddingEndpoint, fetch_embeddings
from stellwerk.routing.learned import LearnedRouter
from stellwerk.routing.model import QualityModel
from stellwerk.routing.placement import family_key
from stellwerk.training.data import Embeddings, ModelFacts, OutcomeData
from stellwerk.training.evaluate import Evaluation, evaluate
from stellwerk.training.train import (
    Chosen,
    Progress,
    TrainSettings,
    quiet,
    tfidf_matrix,
    train_quality_model,
)

F64 = npt.NDArray[np.float64]
DEFAULTS = TrainSettings()
KNN_K = 40
"""Neighbours of the kNN baseline (RouterBench style: cosine on TF-IDF, mean score)."""


@dataclass(frozen=True)
class Outcome:
    model: QualityModel
    chosen: Chosen | None
    evaluation: Evaluation
    placed: dict[str, str]
    """Each test model the router was not trained on, and how it was placed."""


def candidates_for(
    models: tuple[str, ...], facts: Mapping[str, ModelFacts]
) -> tuple[Candidate, ...]:
    """Candidates as the gateway would build them, from a models file's facts."""
    out = []
    for m in models:
        f = facts.get(m, ModelFacts())
        out.append(
            Candidate(
                model_id=m,
                params_b=f.params_b or 0.0,
                size_class="medium",
                price_in_per_mtok=f.price_in_per_mtok or 0.0,
                price_out_per_mtok=f.price_out_per_mtok or 0.0,
                context_length=1 << 20,
                benchmark_score=f.benchmark_score,
                family=family_key(f.family, m),
            )
        )
    return tuple(out)


def predict_table(
    model: QualityModel, test: OutcomeData, facts: Mapping[str, ModelFacts], progress: Progress
) -> F64:
    """Predicted quality of every model of ``test`` for every test prompt (the gateway's path)."""
    router = LearnedRouter(model, version="eval")
    cands = candidates_for(test.models, facts)
    vectors = None if test.embeddings is None else test.embeddings.vectors
    out = np.empty((len(test), len(cands)))
    for i, prompt in enumerate(test.prompts):
        out[i] = router.qualities(prompt, cands, None if vectors is None else vectors[i])
        if i % 100 == 0:
            progress("routing the test split", i, len(test))
    progress("routing the test split", len(test), len(test))
    return out


def knn_baseline(data: OutcomeData, bits: int) -> F64:
    """RouterBench's kNN router: mean scores of the nearest train prompts, cosine on TF-IDF."""
    from stellwerk.routing.features import fit_idf

    train, test = data.train(), data.test()
    idf = fit_idf(train.prompts, bits)
    x_train = tfidf_matrix(train.prompts, bits, idf)
    x_test = tfidf_matrix(test.prompts, bits, idf)
    k = min(KNN_K, len(train))
    out = np.empty((len(test), len(data.models)))
    for start in range(0, len(test), 256):
        sims = np.asarray((x_test[start : start + 256] @ x_train.T).todense())
        top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        out[start : start + 256] = train.scores[top].mean(axis=1)
    return out


def fit_and_evaluate(
    data: OutcomeData,
    facts: Mapping[str, ModelFacts],
    *,
    settings: TrainSettings = DEFAULTS,
    holdout: str | None = None,
    model: QualityModel | None = None,
    progress: Progress = quiet,
) -> Outcome:
    """Train on the train split (unless ``model`` is given), then judge on the test split.

    With ``holdout`` the router is trained without that model and routes over all of them, the
    held-out one placed from its facts only.
    """
    if holdout is not None and holdout not in data.models:
        raise TrainingDataError(
            f"--holdout-model {holdout!r} is not a model of the data"
            f" (models: {', '.join(data.models)})"
        )
    test = data.test()
    costs = test.costs(facts)  # fail before training when there is no way to cost the data
    if model is not None:
        check_embeddings(model, data)
    chosen = None
    if model is None:
        fit_on = data if holdout is None else data.without_model(holdout)
        model, chosen = train_quality_model(fit_on, facts, settings, progress)
    predictions = {"stellwerk": predict_table(model, test, facts, progress)}
    if model.memory is not None and len(model.memory):
        # the same router with nothing remembered: what the memory adds, side by side
        forgetful = replace(model, memory=None)
        predictions["stellwerk:no-memory"] = predict_table(forgetful, test, facts, progress)
    predictions["knn"] = knn_baseline(data, settings.bits)
    evaluation = evaluate(test.models, test.scores, costs, predictions)
    router = LearnedRouter(model, version="eval")
    placed = {
        cand.model_id: router.placed_by(cand)
        for cand in candidates_for(test.models, facts)
        if cand.model_id not in model.models
    }
    return Outcome(model=model, chosen=chosen, evaluation=evaluation, placed=placed)


def embed_outcomes(
    data: OutcomeData, endpoint: EmbeddingEndpoint, progress: Progress = quiet
) -> OutcomeData:
    """``data`` with one embedding per prompt from ``endpoint``."""
    vectors = fetch_embeddings(endpoint, data.prompts, progress=progress)
    return data.with_embeddings(Embeddings(endpoint.model, endpoint.api, vectors))


def check_embeddings(model: QualityModel, data: OutcomeData) -> None:
    """Refuse to judge a router trained with embeddings on data without fitting ones."""
    head = model.embedding
    if head is None or not head.needed:
        return
    if data.embeddings is None:
        raise EmbeddingError(
            f"the router was trained with embeddings from {head.model!r} ({head.api});"
            " give --embed-url and --embed-model of that model"
        )
    dims = data.embeddings.vectors.shape[1]
    if dims != head.dimensions:
        raise EmbeddingError(
            f"embedding model {data.embeddings.model!r} gives {dims} dimensions; the router was"
            f" trained on {head.dimensions} (from {head.model!r})"
        )


def train_and_save(
    data: OutcomeData,
    facts: Mapping[str, ModelFacts],
    out: str | Path,
    *,
    data_name: str,
    settings: TrainSettings = DEFAULTS,
    progress: Progress = quiet,
) -> tuple[Artifact, Evaluation | None]:
    """Train, judge on the test split, and write the artifact with the metrics it reached.

    Data without ``cost_usd`` and without prices still trains (cross-validation then picks the
    setting with the best routed quality); its artifact records no metrics.
    """
    try:
        data.test().costs(facts)
    except TrainingDataError:
        model, chosen = train_quality_model(data, facts, settings, progress)
        evaluation = None
    else:
        outcome = fit_and_evaluate(data, facts, settings=settings, progress=progress)
        model, evaluation = outcome.model, outcome.evaluation
        assert outcome.chosen is not None
        chosen = outcome.chosen
    info: dict[str, Any] = {
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "data": {
            "file": data_name,
            "sha256": data.sha256,
            "train_rows": int((~data.is_test).sum()),
            "test_rows": int(data.is_test.sum()),
        },
        "hyperparameters": {
            "l2": chosen.l2,
            "k": chosen.k,
            "blend": chosen.blend,
            "cv_aiq": round(chosen.cv_aiq, 6),
            "folds": settings.folds,
            "latent_dims": int(model.proj.shape[1]),
            "memory_prompts": 0 if model.memory is None else len(model.memory),
        },
        "facts": {
            m: {
                "params_b": f.params_b,
                "price_in_per_mtok": f.price_in_per_mtok,
                "family": family_key(f.family, m),
            }
            for m, f in facts.items()
            if m in data.models
        },
        "metrics": None if evaluation is None else evaluation.as_json(),
    }
    return save_artifact(model, out, info), evaluation
