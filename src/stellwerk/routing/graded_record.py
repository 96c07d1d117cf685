"""What is kept of one graded request: the router's reading of its prompt, never the prompt.

The gateway (shadow grading, application feedback) keeps one ``GradedRecord`` per graded request:
the router's latent vector of the prompt, its base prediction, the prompt statistics, the grades of
the models that were graded, the task label if the caller gave one, and the department that asked.
Never the prompt or the answer. ``GradedRecord.of`` builds one from a prompt at request time; the
prompt is read and dropped. With ``noise`` above 0 the reading is kept with fresh noise
(``record_noise``), so that a record cannot confirm a guess of the prompt. The router learns from
these records offline (``stellwerk.routing.adapt``); docs/router.md says what a record can and
cannot give back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from stellwerk.routing import record_noise
from stellwerk.routing.model import QualityModel


@dataclass(frozen=True)
class GradedRecord:
    """What is kept of one graded request (no text): see the module docstring."""

    latent: tuple[float, ...]
    """The prompt's unit vector in the router's latent space, plus the noise it was kept with
    (``record_noise``; no longer of unit length then); empty: it had none."""
    base: Mapping[str, float]
    """The base router's predicted quality of each trained model for the prompt."""
    grades: Mapping[str, float]
    """The grade in [0, 1] of each model that was graded."""
    stats: tuple[float, ...] = ()
    """The prompt statistics (``features.STAT_NAMES``), for reports; not learned from yet."""
    task: str | None = None
    department: str | None = None
    """The department that asked (the ledger fills it in from who asked): an adaptation reports
    its gain per department (``adapt.Comparison.departments``); not learned from."""

    @classmethod
    def of(
        cls,
        model: QualityModel,
        prompt: str,
        grades: Mapping[str, float],
        *,
        task: str | None = None,
        embedding: Sequence[float] | None = None,
        noise: float = 0.0,
        rng: np.random.Generator | None = None,
    ) -> GradedRecord:
        """The record of ``prompt`` graded ``grades``, read by the base of ``model``; with
        ``noise`` above 0, the latent vector and the base prediction moved by Gaussian noise of
        ``noise`` times the prompt's sensitivity, and the statistics rounded (``record_noise``).
        ``rng`` None: fresh entropy from the operating system (never seed it from the prompt)."""
        reading = replace(model, correction=None, memory=None).read(prompt, embedding)
        latent = np.zeros(0) if reading.latent is None else reading.latent.astype(np.float64)
        base = np.asarray(reading.base, dtype=np.float64)
        stats = tuple(float(x) for x in reading.stats)
        if noise > 0:
            rng = np.random.default_rng() if rng is None else rng
            sigma = noise * record_noise.sensitivity(model, prompt)
            noisy = record_noise.noisy_latent(latent, sigma, rng)
            base = record_noise.noisy_base(base, sigma * record_noise.BASE_SHARE, rng)
            stats = record_noise.coarse_stats(reading.stats)
        return cls(
            latent=noisy if noise > 0 else tuple(float(x) for x in latent),
            base={m: float(q) for m, q in zip(model.models, base, strict=True)},
            grades=dict(grades),
            stats=stats,
            task=task,
        )
