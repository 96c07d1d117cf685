"""Training a ``QualityModel`` on the train split of outcome data.

Hyper-parameters (the linear model's L2 weight, the number of neighbours, the blend of the two)
are chosen by K-fold cross-validation *within the train split*: each setting's out-of-fold
predictions are routed over every cost weight and the one with the highest AIQ wins. Nothing is
tuned to a data set's tasks or model names; the test split is never read here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from stellwerk.errors import TrainingDataError
from stellwerk.routing.embedding_head import EmbeddingHead
from stellwerk.routing.familiarity import fit_familiarity
from stellwerk.routing.features import fit_idf, prompt_stats, tfidf
from stellwerk.routing.linear import fit_logistic, sigmoid
from stellwerk.routing.memory import OutcomeMemory
from stellwerk.routing.model import QualityModel, logit
from stellwerk.routing.placement import SizePlacement, family_key, fit_size_placement
from stellwerk.training.data import ModelFacts, OutcomeData
from stellwerk.training.evaluate import sweep
from stellwerk.training.metrics import curve_metrics

F64 = npt.NDArray[np.float64]
Progress = Callable[[str, int, int], None]
"""Called with (what, done, total) as training advances."""


@dataclass(frozen=True, slots=True)
class TrainSettings:
    bits: int = 16
    memory: bool = True
    """Keep the training prompts' outcomes by digest (``memory``)."""
    latent_vocab: int = 8192
    latent_dims: int = 64
    l2_grid: tuple[float, ...] = (5e-5, 1.5e-4)
    k_grid: tuple[int, ...] = (10, 20, 40, 80, 160, 320, 640)
    blend_grid: tuple[float, ...] = (0.0, 0.2, 0.4, 0.5, 0.6, 0.8, 1.0)
    folds: int = 3
    max_iter: int = 100
    seed: int = 0
    embed_l2_grid: tuple[float, ...] = (1e-3, 1e-2, 1e-1)
    embed_weight_grid: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0)


@dataclass(frozen=True, slots=True)
class Chosen:
    l2: float
    k: int
    blend: float
    cv_aiq: float


def quiet(what: str, done: int, total: int) -> None:
    """The default progress callback: says nothing."""


def train_quality_model(
    data: OutcomeData,
    facts: Mapping[str, ModelFacts],
    settings: TrainSettings | None = None,
    progress: Progress = quiet,
) -> tuple[QualityModel, Chosen]:
    """Fit on the rows of ``data`` whose split is train; the test rows are never read.

    BLAS runs on one thread: the products here are small, and OpenBLAS threads that spin on
    a busy machine made training ten times slower.
    """
    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

    with threadpool_limits(limits=1, user_api="blas"):
        return _train(data, facts, settings or TrainSettings(), progress)


def _train(
    data: OutcomeData,
    facts: Mapping[str, ModelFacts],
    settings: TrainSettings,
    progress: Progress,
) -> tuple[QualityModel, Chosen]:
    train = data.train()
    if len(train) < settings.folds * 2:
        raise TrainingDataError(
            f"the train split has {len(train)} rows; at least {settings.folds * 2} are needed"
        )
    scores = train.scores
    steps = settings.folds * len(settings.l2_grid) + 3
    progress("features", 0, steps)
    idf = fit_idf(train.prompts, settings.bits)
    x_text = tfidf_matrix(train.prompts, settings.bits, idf)
    raw_stats = np.array([prompt_stats(p) for p in train.prompts])
    stat_mean = raw_stats.mean(axis=0)
    stat_std = raw_stats.std(axis=0) + 1e-6
    x_all = _with_stats(x_text, (raw_stats - stat_mean) / stat_std)
    vocab, proj = _latent_space(x_text, settings)
    emb = _unit_rows(np.asarray(x_text[:, vocab] @ proj))
    progress("features", 1, steps)

    costs = _costs_or_unit(train, facts)
    folds = np.random.default_rng(settings.seed).permutation(len(train)) % settings.folds
    oof_linear = {l2: np.zeros_like(scores) for l2 in settings.l2_grid}
    oof_near = {k: np.zeros_like(scores) for k in settings.k_grid}
    done = 1
    for f in range(settings.folds):
        fit, held = folds != f, folds == f
        for l2 in settings.l2_grid:
            w, b = fit_logistic(x_all[fit], scores[fit], l2, max_iter=settings.max_iter)
            oof_linear[l2][held] = sigmoid(np.asarray(x_all[held] @ w) + b)
            done += 1
            progress("cross-validation", done, steps)
        near = _neighbour_means(emb[held], emb[fit], scores[fit], settings.k_grid)
        for k, means in near.items():
            oof_near[k][held] = means

    chosen = _choose(settings, oof_linear, oof_near, scores, costs)
    oof = chosen.blend * oof_linear[chosen.l2] + (1 - chosen.blend) * oof_near[chosen.k]
    w, b = fit_logistic(x_all, scores, chosen.l2, max_iter=settings.max_iter)
    done += 1
    progress("final fit", done, steps)

    ease = logit(oof).mean(axis=1)
    offsets = (logit(oof) - ease[:, None]).mean(axis=0)
    placement = size_placement(train.models, offsets, facts)
    model = QualityModel(
        models=train.models,
        bits=settings.bits,
        # the precisions the artifact stores, so that a saved router decides exactly alike
        idf=idf.astype(np.float32).astype(np.float64),
        stat_mean=stat_mean.astype(np.float32),
        stat_std=stat_std.astype(np.float32),
        coef=w.astype(np.float16).astype(np.float32),
        bias=b.astype(np.float32),
        vocab=vocab,
        proj=proj.astype(np.float16).astype(np.float32),
        neighbour_emb=emb.astype(np.float16).astype(np.float32),
        neighbour_scores=scores.astype(np.float16),
        k=min(chosen.k, len(train)),
        blend=chosen.blend,
        offsets=offsets,
        placement=placement,
        ease_quantiles=np.quantile(ease, np.linspace(0.0, 1.0, 101)),
        memory=OutcomeMemory.build(train.prompts, scores) if settings.memory else None,
        embedding=_embedding_head(train, folds, oof, costs, settings, progress),
        familiarity=fit_familiarity(emb.astype(np.float16).astype(np.float32)),
    )
    done += 1
    progress("done", steps, steps)
    return model, chosen


def tfidf_matrix(prompts: Sequence[str], bits: int, idf: F64) -> Any:
    from scipy import sparse

    indptr = [0]
    index: list[npt.NDArray[np.int64]] = []
    values: list[F64] = []
    for text in prompts:
        vec = tfidf(text, bits, idf)
        index.append(vec.index)
        values.append(vec.value)
        indptr.append(indptr[-1] + len(vec.index))
    return sparse.csr_matrix(
        (np.concatenate(values), np.concatenate(index), np.array(indptr)),
        shape=(len(prompts), 1 << bits),
    )


def _with_stats(x_text: Any, stats: F64) -> Any:
    from scipy import sparse

    return sparse.hstack([x_text, sparse.csr_matrix(stats)], format="csr")


def _latent_space(x_text: Any, settings: TrainSettings) -> tuple[npt.NDArray[np.int64], F64]:
    """The most frequent slots and the projection onto their top singular vectors (LSA), each
    turned so that its entry of largest magnitude is positive. A singular vector's sign is
    arbitrary: the solver's depends on its start vector and on the BLAS kernel and thread count,
    and a graded record's noise, drawn per coordinate, lands differently when a coordinate's sign
    turns (two machines drew different noisy records from one seed, BENCHMARKS.md)."""
    from scipy.sparse.linalg import svds

    df = np.asarray((x_text > 0).sum(axis=0)).ravel()
    used = np.flatnonzero(df)
    vocab = np.sort(used[np.argsort(-df[used], kind="stable")[: settings.latent_vocab]])
    sub = x_text[:, vocab].astype(np.float64)
    dims = max(1, min(settings.latent_dims, min(sub.shape) - 1))
    _, _, vt = svds(sub, k=dims, random_state=settings.seed)
    largest = np.abs(vt).argmax(axis=1)
    signs = np.sign(vt[np.arange(len(vt)), largest])
    return vocab.astype(np.int64), np.ascontiguousarray((vt * signs[:, None]).T)


def _unit_rows(x: F64) -> F64:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    out: F64 = np.divide(x, norms, out=np.zeros_like(x), where=norms > 0)
    return out


def _neighbour_means(query: F64, base: F64, scores: F64, ks: Sequence[int]) -> dict[int, F64]:
    """Mean scores of the k most similar base rows, for every k (cosine on unit rows)."""
    top = min(max(ks), len(base))
    out = {k: np.zeros((len(query), scores.shape[1])) for k in ks}
    for start in range(0, len(query), 512):
        sims = query[start : start + 512] @ base.T
        idx = np.argpartition(-sims, top - 1, axis=1)[:, :top]
        order = np.take_along_axis(sims, idx, axis=1).argsort(axis=1)[:, ::-1]
        idx = np.take_along_axis(idx, order, axis=1)
        csum = np.cumsum(scores[idx], axis=1)
        for k in ks:
            kk = min(k, top)
            out[k][start : start + 512] = csum[:, kk - 1] / kk
    return out


def _costs_or_unit(train: OutcomeData, facts: Mapping[str, ModelFacts]) -> F64:
    """Costs for the cross-validation objective; equal costs when the data has no prices."""
    try:
        return train.costs(facts)
    except TrainingDataError:
        return np.ones_like(train.scores)


def _choose(
    settings: TrainSettings,
    oof_linear: Mapping[float, F64],
    oof_near: Mapping[int, F64],
    scores: F64,
    costs: F64,
) -> Chosen:
    singles = np.stack([costs.mean(axis=0), scores.mean(axis=0)], axis=1)
    best: Chosen | None = None
    for l2, linear in oof_linear.items():
        for k, near in oof_near.items():
            for blend in settings.blend_grid:
                if (blend == 1.0 and k != settings.k_grid[0]) or (
                    blend == 0.0 and l2 != settings.l2_grid[0]
                ):
                    continue  # the same predictions as a setting already tried
                quality = blend * linear + (1 - blend) * near
                value = curve_metrics(sweep(quality, scores, costs), singles).aiq
                if best is None or value > best.cv_aiq + 1e-9:
                    best = Chosen(l2=l2, k=k, blend=blend, cv_aiq=value)
    assert best is not None
    return best


def size_placement(
    models: Sequence[str], offsets: Sequence[float], facts: Mapping[str, ModelFacts]
) -> SizePlacement:
    """The size trend and family effects of the models whose size is known."""
    sizes: list[float] = []
    kept: list[float] = []
    families: list[str] = []
    for model, offset in zip(models, offsets, strict=True):
        fact = facts.get(model, ModelFacts())
        if fact.params_b is not None and fact.params_b > 0:
            sizes.append(fact.params_b)
            kept.append(float(offset))
            families.append(family_key(fact.family, model))
    return fit_size_placement(sizes, kept, families)


def _embedding_head(
    train: OutcomeData,
    folds: npt.NDArray[np.int64],
    oof: F64,
    costs: F64,
    settings: TrainSettings,
    progress: Progress,
) -> EmbeddingHead | None:
    """The embedding predictor, when the data has embeddings: its L2 weight and its share in the
    blend are chosen by the same cross-validation, against the text predictors' ``oof``."""
    if train.embeddings is None:
        return None
    vectors = train.embeddings.vectors.astype(np.float64)
    mean = vectors.mean(axis=0)
    std = vectors.std(axis=0) + 1e-6
    x = (vectors - mean) / std
    scores = train.scores
    total = settings.folds * len(settings.embed_l2_grid) + 1
    oof_head = {l2: np.zeros_like(scores) for l2 in settings.embed_l2_grid}
    for f in range(settings.folds):
        fit, held = folds != f, folds == f
        for l2 in settings.embed_l2_grid:
            w, b = fit_logistic(x[fit], scores[fit], l2, max_iter=settings.max_iter)
            oof_head[l2][held] = sigmoid(x[held] @ w + b)
        progress("embedding head", (f + 1) * len(settings.embed_l2_grid), total)
    singles = np.stack([costs.mean(axis=0), scores.mean(axis=0)], axis=1)
    best_l2, best_weight = settings.embed_l2_grid[0], 0.0
    best = curve_metrics(sweep(oof, scores, costs), singles).aiq
    for l2, head in oof_head.items():
        for weight in settings.embed_weight_grid:
            if weight == 0.0:
                continue
            quality = (1.0 - weight) * oof + weight * head
            value = curve_metrics(sweep(quality, scores, costs), singles).aiq
            if value > best + 1e-9:
                best, best_l2, best_weight = value, l2, weight
    w, b = fit_logistic(x, scores, best_l2, max_iter=settings.max_iter)
    progress("embedding head", total, total)
    return EmbeddingHead(
        model=train.embeddings.model,
        api=train.embeddings.api,
        mean=mean.astype(np.float32),
        std=std.astype(np.float32),
        coef=w.astype(np.float16).astype(np.float32),
        bias=b.astype(np.float32),
        weight=best_weight,
    )
