"""The quality model: for one prompt, how good each model's answer will be, in [0, 1].

Two predictors read the same hashed TF-IDF features (``features``):

* a multi-output logistic regression, one weight column per trained model (``linear``);
* the k nearest training prompts in a small latent space (LSA: the TF-IDF of the most frequent
  slots projected onto its top singular vectors), averaging what each model scored on them.

The quality is their blend, moved toward the measured outcomes when the prompt is one the router
was trained on (``memory``). Models the router never saw are placed from their catalog facts
(``placement``): a prompt's *ease* (the mean logit over the trained models) plus the model's
offset, fitted to its public benchmark score or predicted from its size and family.

A router trained with embeddings blends in a third predictor, on the prompt's embedding
(``embedding_head``). An adapted router corrects the blend from graded traffic (``correction``,
fitted by ``adapt``) before the memory. The prompt's cosine with its nearest training (or graded)
prompt in the latent space, calibrated, is its familiarity (``familiarity``).

Inference is numpy only: a few gathers and two small matrix products.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from stellwerk.routing.correction import Correction
from stellwerk.routing.embedding_head import EmbeddingHead
from stellwerk.routing.familiarity import Familiarity
from stellwerk.routing.features import prompt_stats, tfidf
from stellwerk.routing.memory import OutcomeMemory
from stellwerk.routing.placement import SizePlacement

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

_EPS = 0.02


@dataclass(frozen=True)
class Reading:
    """Everything the quality model reads from one prompt (``QualityModel.read``)."""

    quality: F64
    """The predicted quality per trained model (corrected, and with the memory)."""
    ease: float
    seen: int
    """Training outcomes of exactly this prompt that ``quality`` includes."""
    base: F64
    """The prediction before any correction and before the memory."""
    latent: F32 | None
    """The prompt's unit vector in the latent space (None: no word of it is in the space)."""
    stats: F64
    """The prompt statistics, raw (``features.STAT_NAMES``)."""
    similarity: float
    """Cosine with the nearest training or graded prompt (0 when ``latent`` is None)."""
    familiarity: float | None
    """``similarity`` calibrated (``familiarity``); None: the model has no calibration."""


def logit(p: F64) -> F64:
    q = np.clip(p, _EPS, 1.0 - _EPS)
    out: F64 = np.log(q / (1.0 - q))
    return out


@dataclass(frozen=True)
class QualityModel:
    """Every learned array of a router; ``artifact`` saves and loads exactly these fields."""

    models: tuple[str, ...]
    bits: int
    idf: F64
    stat_mean: F32
    stat_std: F32
    coef: F32
    """(2**bits + number of statistics, models)"""
    bias: F32
    vocab: I64
    """The slots the latent space reads, sorted."""
    proj: F32
    """(len(vocab), latent dimensions)"""
    neighbour_emb: F32
    """Latent vectors of the training prompts (unit length): no text is kept."""
    neighbour_scores: npt.NDArray[np.float16]
    k: int
    blend: float
    """Weight of the linear model; the neighbours get ``1 - blend``."""
    offsets: F64
    """Each trained model's mean logit above the prompt's ease."""
    placement: SizePlacement
    """Offsets of models the router never saw: the size trend and the trained families."""
    ease_quantiles: F64
    """Quantiles of the ease over the training prompts (to fit a benchmark score)."""
    memory: OutcomeMemory | None = None
    """Outcomes of the training prompts, by digest (``memory``); None: remember nothing."""
    embedding: EmbeddingHead | None = None
    """The third predictor, on the prompt's embedding (``embedding_head``); None: text only."""
    familiarity: Familiarity | None = None
    """The calibration of the nearest-neighbour similarity; computed at load, not stored."""
    correction: Correction | None = None
    """What an adaptation learned from graded traffic (``adapt``); None: not adapted."""

    def predict(self, text: str, embedding: Sequence[float] | None = None) -> tuple[F64, float]:
        """Quality per trained model (in ``models`` order) and the prompt's ease; ``embedding``
        (checked by ``EmbeddingHead.problem``) is read when the model has an embedding head."""
        quality, ease, _ = self.predict_seen(text, embedding)
        return quality, ease

    def predict_seen(
        self, text: str, embedding: Sequence[float] | None = None
    ) -> tuple[F64, float, int]:
        """``predict``, and how many training outcomes of exactly this prompt it used (the
        prompt's digest is taken once for both)."""
        reading = self.read(text, embedding)
        return reading.quality, reading.ease, reading.seen

    def read(self, text: str, embedding: Sequence[float] | None = None) -> Reading:
        """The prediction and what it was read from: the base prediction, the latent vector,
        the statistics and the familiarity of the prompt."""
        vec = tfidf(text, self.bits, self.idf)
        raw_stats = prompt_stats(text)
        stats = (raw_stats - self.stat_mean) / self.stat_std
        z = vec.value @ self.coef[vec.index] + stats @ self.coef[1 << self.bits :] + self.bias
        linear = 1.0 / (1.0 + np.exp(-z.astype(np.float64)))
        latent = self.latent(vec.index, vec.value)
        sims = None if latent is None else self.neighbour_emb @ latent
        near = self._neighbours(sims)
        base = self.blend * linear + (1.0 - self.blend) * near
        if self.embedding is not None and embedding is not None:
            base = self.embedding.blend(base, embedding)
        quality = base
        similarity = 0.0 if sims is None else float(sims.max())
        if self.correction is not None:
            quality = self.correction.apply(latent, sims, base)
            if latent is not None and len(self.correction):
                # a noisy record's product is an unbiased cosine, but the largest of thousands
                # of them is not: scaled down by the record's length (record_noise), it errs low
                graded = self.correction.latents @ latent
                similarity = max(similarity, float((graded / self.correction.lengths).max()))
        quality, seen = self._recall(text, quality)
        return Reading(
            quality=quality,
            ease=float(np.mean(logit(quality) - self.offsets)),
            seen=seen,
            base=base,
            latent=latent,
            stats=raw_stats,
            similarity=similarity,
            familiarity=None if self.familiarity is None else self.familiarity.score(similarity),
        )

    def remembered(self, text: str) -> int:
        """How many training outcomes of exactly this prompt the memory holds."""
        if self.memory is None:
            return 0
        row = self.memory.find(text)
        return 0 if row < 0 else int(self.memory.counts[row])

    def _recall(self, text: str, quality: F64) -> tuple[F64, int]:
        if self.memory is None or (row := self.memory.find(text)) < 0:
            return quality, 0
        return self.memory.apply(row, quality), int(self.memory.counts[row])

    def projected(self, index: I64, value: F64) -> F64:
        """A hashed TF-IDF vector projected into the latent space, before it is scaled to unit
        length (zeros: none of its slots is in the latent space's vocabulary)."""
        pos = np.searchsorted(self.vocab, index)
        pos = np.minimum(pos, len(self.vocab) - 1)
        hit = self.vocab[pos] == index
        if not hit.any():
            return np.zeros(self.proj.shape[1], dtype=np.float64)
        out: F64 = value[hit] @ self.proj[pos[hit]].astype(np.float64)
        return out

    def latent(self, index: I64, value: F64) -> F32 | None:
        """The unit latent vector of a hashed TF-IDF vector (None: none of its slots is in
        the latent space's vocabulary)."""
        emb = self.projected(index, value)
        norm = float(np.sqrt(emb @ emb))
        if norm == 0.0:
            return None
        out: F32 = (emb / norm).astype(np.float32)
        return out

    def _neighbours(self, sims: F32 | None) -> F64:
        """Mean scores of the ``k`` training prompts most similar to the prompt (``sims``: its
        cosines with them; None: it has no latent vector, so every training prompt counts)."""
        if sims is None:
            return np.asarray(self.neighbour_scores.mean(axis=0), dtype=np.float64)
        top = np.argpartition(-sims, self.k - 1)[: self.k]
        return np.asarray(self.neighbour_scores[top].mean(axis=0), dtype=np.float64)
