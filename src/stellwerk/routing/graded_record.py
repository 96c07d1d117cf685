"""What is kept of one graded request: the router's reading of its prompt, never the prompt.

The gateway (shadow grading, application feedback) keeps one ``GradedRecord`` per graded request:
the router's latent vector of the prompt, its base prediction, the prompt statistics, the grades of
the models that were graded, the task label if the caller gave one, and the department that asked.
Never the prompt or the answer. ``GradedRecord.of`` builds one from a prompt at request time; the
prompt is read and dropped. The router learns from these records offline
(``stellwerk.routing.adapt``); docs/router.md says why a record cannot give the prompt back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from stellwerk.routing.model import QualityModel


@dataclass(frozen=True)
class GradedRecord:
    """What is kept of one graded request (no text): see the module docstring."""

    latent: tuple[float, ...]
    """The prompt's unit vector in the router's latent space (empty: it had none)."""
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
    ) -> GradedRecord:
        """The record of ``prompt`` graded ``grades``, read by the base of ``model``."""
        reading = replace(model, correction=None, memory=None).read(prompt, embedding)
        return cls(
            latent=() if reading.latent is None else tuple(float(x) for x in reading.latent),
            base={m: float(q) for m, q in zip(model.models, reading.base, strict=True)},
            grades=dict(grades),
            stats=tuple(float(x) for x in reading.stats),
            task=task,
        )
