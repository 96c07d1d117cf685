"""What is kept of one graded request: the router's reading of its prompt, never the prompt.

The gateway (shadow grading, application feedback) keeps one ``GradedRecord`` per graded request:
the router's latent vector of the prompt, its base prediction, the prompt statistics, the grades of
the models that were graded, the task label if the caller gave one, and the department that asked.
Never the prompt or the answer. ``GradedRecord.of`` builds one from a prompt; the prompt is read
and dropped. The gateway keeps the router's own reading of a routed prompt instead (``Evidence``,
from the decision: the prompt is not read twice) and grades it later. With ``noise`` above 0 the
reading is kept with fresh noise (``record_noise``), so that a record cannot confirm a guess of
the prompt. The router learns from
these records offline (``stellwerk.routing.adapt``); docs/router.md says what a record can and
cannot give back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from stellwerk.routing import record_noise
from stellwerk.routing.model import QualityModel, Reading

F64 = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Evidence:
    """The text-free reading of a prompt by a router's base artifact: what a ``GradedRecord``
    keeps of it, before it is graded."""

    base_version: str
    latent: tuple[float, ...]
    base: Mapping[str, float]
    stats: tuple[float, ...]

    @classmethod
    def of(cls, model: QualityModel, reading: Reading, base_version: str) -> Evidence:
        """What ``model`` read of a prompt (``reading``, exact: no noise yet)."""
        # ``tolist``: the same Python floats as ``float`` of each element, in one C call
        latent = () if reading.latent is None else tuple(reading.latent.tolist())
        return cls(
            base_version,
            latent,
            dict(zip(model.models, reading.base.tolist(), strict=True)),
            tuple(reading.stats.tolist()),
        )

    @classmethod
    def read(
        cls,
        model: QualityModel,
        prompt: str,
        embedding: Sequence[float] | None = None,
        base_version: str = "",
    ) -> Evidence:
        """``prompt`` read by the base of ``model`` (its correction and memory left out: they
        change the prediction, not the base reading), exact."""
        reading = replace(model, correction=None, memory=None).read(prompt, embedding)
        return cls.of(model, reading, base_version)

    @property
    def readable(self) -> bool:
        """The router could place the prompt in its latent space (it has a word the router
        knows). A grade of a prompt without a place teaches it nothing: the correction learns
        and applies by latent neighbours (``routing.correction``), and ``routing.adapt`` leaves
        such records out. Such a request is still kept, so that its feedback is told why."""
        return bool(self.latent)

    @property
    def unread(self) -> Evidence:
        """Nothing of the reading, only the artifact that read it: what is kept of a request
        that may get no feedback (a data class ``router.feedback_classifications`` leaves out)."""
        return Evidence(self.base_version, (), {}, ())

    def noised(
        self,
        model: QualityModel,
        prompt: str,
        noise: float,
        rng: np.random.Generator | None = None,
        *,
        key: bytes | None = None,
    ) -> Evidence:
        """This reading as it is kept: the latent vector and the base prediction moved by
        Gaussian noise of ``noise`` times ``prompt``'s sensitivity (read by ``model``, the
        artifact that read it), the statistics rounded (``record_noise``); itself when ``noise``
        is 0. ``rng`` None: fresh entropy from the operating system (never seed it from the
        prompt). With ``key``, half the noise's variance is the same for every record of
        ``prompt`` under that key (``record_noise.Keyed``)."""
        if noise <= 0:
            return self
        fresh = np.random.default_rng() if rng is None else rng
        draws: record_noise.Noise = fresh if key is None else record_noise.keyed(key, prompt, fresh)
        sigma = noise * record_noise.sensitivity(model, prompt)
        latent = record_noise.noisy_latent(np.asarray(self.latent, dtype=np.float64), sigma, draws)
        base: F64 = np.fromiter(self.base.values(), dtype=np.float64, count=len(self.base))
        moved = record_noise.noisy_base(base, sigma * record_noise.BASE_SHARE, draws)
        return Evidence(
            self.base_version,
            latent,
            dict(zip(self.base, moved.tolist(), strict=True)),
            record_noise.coarse_stats(np.asarray(self.stats, dtype=np.float64)),
        )

    def graded(
        self, model: str, grade: float, task: str | None, reference: str | None = None
    ) -> GradedRecord:
        """The record of ``model``'s answer graded ``grade``; with ``reference`` (the model the
        grade is relative to, another one), that model's answer is graded too, at 1: it is the
        yardstick. Two grades of one prompt are what lets an adaptation judge how a router
        *routes* (``routing.adapt``: records with one grade only teach the fit)."""
        grades = {model: grade}
        if reference is not None and reference != model:
            grades[reference] = 1.0
        return GradedRecord(
            latent=self.latent, base=self.base, grades=grades, stats=self.stats, task=task
        )


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
        key: bytes | None = None,
    ) -> GradedRecord:
        """The record of ``prompt`` graded ``grades``, read by the base of ``model``; with
        ``noise`` above 0, the latent vector and the base prediction moved by Gaussian noise of
        ``noise`` times the prompt's sensitivity, and the statistics rounded (``record_noise``).
        ``rng`` None: fresh entropy from the operating system (never seed it from the prompt);
        ``key``: half the noise's variance fixed per prompt by that key (``Evidence.noised``)."""
        read = Evidence.read(model, prompt, embedding)
        kept = read.noised(model, prompt, noise, rng, key=key)
        return cls(
            latent=kept.latent, base=kept.base, grades=dict(grades), stats=kept.stats, task=task
        )
