"""The embedding head: a third predictor of the quality model, reading the prompt's embedding.

A router trained with embeddings (``stellwerk router train --embed-url ...``) holds a
multi-output logistic regression over the prompt's embedding, each dimension standardised by the
train split's mean and spread. Its quality is blended into the text predictors' quality with a
weight that cross-validation inside the train split chose (0 when the embedding did not help):

    quality = (1 - weight) x text quality + weight x embedding quality

Without a usable embedding the text predictors decide alone, exactly as a router trained
without embeddings does. Inference is one (dimensions x models) product.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from stellwerk.routing.linear import sigmoid

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]


@dataclass(frozen=True)
class EmbeddingHead:
    model: str
    """The embedding model the router was trained with (as the training endpoint named it)."""
    api: str
    """``openai`` (``/v1/embeddings``) or ``ollama`` (``/api/embed``)."""
    mean: F32
    std: F32
    coef: F32
    """(dimensions, models)"""
    bias: F32
    weight: float
    """Weight of this head in the blend; 0: trained with an embedding that did not help."""

    @property
    def dimensions(self) -> int:
        return int(self.mean.shape[0])

    @property
    def needed(self) -> bool:
        """Whether a decision reads the embedding at all."""
        return self.weight > 0.0

    def problem(self, vector: Sequence[float] | None) -> str | None:
        """Why ``vector`` cannot be used (a short phrase), or None when it can."""
        if vector is None:
            return "embedding unavailable"
        if len(vector) != self.dimensions:
            return (
                f"embedding has {len(vector)} dimensions, the router was trained on"
                f" {self.dimensions}"
            )
        if not np.isfinite(np.asarray(vector, dtype=np.float64)).all():
            return "embedding holds NaN or infinite values"
        return None

    def blend(self, quality: F64, vector: Sequence[float]) -> F64:
        """The text predictors' ``quality`` with this head's share blended in."""
        x = (np.asarray(vector, dtype=np.float64) - self.mean) / self.std
        z = x @ self.coef + self.bias
        head = sigmoid(z.astype(np.float64))
        out: F64 = (1.0 - self.weight) * quality + self.weight * head
        return out
