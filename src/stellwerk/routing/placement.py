"""Placing models the router never saw, from their catalog facts.

A trained model ``m`` has an offset: its mean logit above the prompt's ease. A new model gets

* the offset at which its mean predicted quality over the training prompts' ease equals its
  public benchmark score, when the config gives one; otherwise
* a quality from its size and its *family* (the model's name without its size label:
  ``nvidia/llama3-chatqa-1.5-70b`` and ``llama3-chatqa-1.5-8b`` are both ``llama3-chatqa1.5``).

The size trend is ``intercept + slope x ln(params_b)``, a Theil-Sen line (the median of pairwise
slopes, kept non-negative) over the trained models, each less the effect of its family: a family
with several trained members (two sizes of one badly prompted model, say) is one odd family, not
several odd points dragging the trend. A family's *effect* is its members' mean distance above the
trend. A new model

* of a family the router knows gets ``sigmoid(ease + trend + effect)``: sizes of one family share
  their training recipe and prompt format, so they share their distance from the trend;
* of an unknown family gets its expected quality over the known families,
  ``mean over f of sigmoid(ease + trend + effect_f)``: each known family is one draw of how far a
  family can sit from the trend, so a new model is neither assumed typical nor the best of its
  size, and a trend dragged up by a few strong models does not put it above measured ones.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]

# a token: not inside a word of letters or digits (any script), nor after a dot (v0.3b is no size)
_TOKEN = r"(?<!\.)(?<![^\W_])({})(?![^\W_])"
_BILLIONS = re.compile(_TOKEN.format(r"(?:[0-9]+x)?[0-9]+(?:\.[0-9]+)?b"))
_MILLIONS = re.compile(_TOKEN.format(r"[0-9]+(?:\.[0-9]+)?m"))
_VARIANT = re.compile(
    # context lengths (4k, 128k) and weight formats (q4_k_m, iq4_xs, q8_0, f16, bf16, fp8, int4,
    # awq, gptq): variants of one model, not other models
    _TOKEN.format(r"[0-9]+k|i?q[0-9](?:_[a-z0-9]+)*|b?f[0-9]+|fp[0-9]+|int[0-9]+|awq|gptq|gguf")
)
# how a model was tuned or packaged, not which model it is: Ollama's default tags are the chat
# models its hub ids call -instruct or -it
_ROLE = re.compile(_TOKEN.format(r"instruct|it|chat|hf"))
# a separator between a word and a version number: llama-3.1 and llama3.1, gemma-2 and gemma2 are
# one name (not before a date such as 2509, which stays a separate part)
_WORD_NUMBER = re.compile(r"(?<=[a-z])[-_ ](?=[0-9]{1,2}(?![0-9]))")
_SEPARATORS = "-_:. "
_FIT_ROUNDS = 20


def family_of(name: str) -> str:
    """A model's family: its name (a hub id, an Ollama tag, a file name) lower-cased, without
    the owner or folder before the last ``/``, a ``.gguf`` suffix, a ``:latest`` tag, its size
    labels (``8b``, ``70B``, ``8x7b``, ``1.5b``; ``135m`` when there is no size in billions),
    context lengths (``128k``), weight formats (``q4_K_M``, ``f16``, ``awq``) and tuning words
    (``instruct``, ``it``, ``chat``, ``hf``), with an Ollama tag's ``:`` read as ``-`` and no
    separator between a word and a number (``Llama-3.1-8B-Instruct`` and ``llama3.1:8b`` are
    both ``llama3.1``). Never empty: a name of nothing but those is its own family."""
    whole = name.strip().lower()
    base = whole.rsplit("/", 1)[-1].removesuffix(".gguf").removesuffix(":latest")
    stripped = _BILLIONS.sub("", base) if _BILLIONS.search(base) else _MILLIONS.sub("", base)
    stripped = _ROLE.sub("", _VARIANT.sub("", stripped.replace(":", "-")))
    stripped = re.sub(r"([-_. ])[-_. ]+", r"\1", stripped).strip(_SEPARATORS)
    stripped = _WORD_NUMBER.sub("", stripped)
    return stripped or base or whole or "-"


def family_key(declared: str | None, name: str) -> str:
    """The family a config or models file declares, else the family of ``name``; both read as
    ``family_of`` reads a name, so that ``Llama-3.1`` declared and ``llama3.1:70b`` match."""
    if declared is not None and declared.strip():
        return family_of(declared)
    return family_of(name)


def theil_sen(xs: Sequence[float], ys: Sequence[float]) -> tuple[float, float]:
    """(intercept, slope) of the Theil-Sen line; slope 0 when all xs are equal."""
    slopes = [
        (ys[j] - ys[i]) / (xs[j] - xs[i])
        for i in range(len(xs))
        for j in range(i + 1, len(xs))
        if xs[j] != xs[i]
    ]
    slope = max(float(np.median(slopes)), 0.0) if slopes else 0.0
    intercept = float(np.median([y - slope * x for x, y in zip(xs, ys, strict=True)]))
    return intercept, slope


@dataclass(frozen=True)
class SizePlacement:
    """The size trend of the trained models' offsets and the effect of each of their families."""

    intercept: float = 0.0
    slope: float = 0.0
    families: Mapping[str, float] = field(default_factory=dict)
    """Family -> its trained members' mean offset above the trend."""

    @property
    def knows_sizes(self) -> bool:
        """Whether any trained model had a size: a router trained only on models of unknown
        size (hosted APIs) has no families and a zero trend, and cannot place by size."""
        return bool(self.families) or self.slope != 0.0 or self.intercept != 0.0

    def trend(self, params_b: float) -> float:
        return self.intercept + self.slope * math.log(max(params_b, 1e-3))

    def offsets(self, params_b: float, family: str | None) -> F64:
        """The offsets a new model's quality is averaged over: its family's, when the router
        knows the family; else one per known family (the trend alone when there are none)."""
        trend = self.trend(params_b)
        if family is not None and family in self.families:
            return np.array([trend + self.families[family]])
        if not self.families:
            return np.array([trend])
        return trend + np.fromiter(self.families.values(), dtype=np.float64)

    def point(self, params_b: float, family: str | None, ease_quantiles: F64) -> float:
        """One offset that predicts the model as well on average as ``offsets`` do: the trend
        plus its family's effect for a known family, else the offset whose mean quality over the
        ease distribution (``ease_quantiles``) equals the mean over the known families; where a
        single number is needed, as calibration's starting guess."""
        offsets = self.offsets(params_b, family)
        if len(offsets) == 1:
            return float(offsets[0])
        quality = 1.0 / (1.0 + np.exp(-(ease_quantiles[:, None] + offsets[None, :])))
        return offset_from_benchmark(float(quality.mean()), ease_quantiles)


def fit_size_placement(
    sizes: Sequence[float], offsets: Sequence[float], families: Sequence[str]
) -> SizePlacement:
    """The trend and family effects of trained models (``params_b``, offset, family each).

    The trend is refitted with the effects of families of two or more members taken out until
    those effects settle (a one-member family's effect cannot be told from its own noise, so it
    is left in while fitting); then every family's effect is its members' mean residual.
    """
    if not sizes:
        return SizePlacement()
    xs = np.log(np.maximum(np.asarray(sizes, dtype=np.float64), 1e-3))
    ys = np.asarray(offsets, dtype=np.float64)
    members: dict[str, list[int]] = {}
    for i, family in enumerate(families):
        members.setdefault(family, []).append(i)
    shared = [idx for idx in members.values() if len(idx) > 1]
    taken = np.zeros_like(ys)
    intercept, slope = theil_sen(xs.tolist(), ys.tolist())
    for _ in range(_FIT_ROUNDS):
        residual = ys - (intercept + slope * xs)
        effect = np.zeros_like(ys)
        for idx in shared:
            effect[idx] = residual[idx].mean()
        if np.allclose(effect, taken, atol=1e-9):
            break
        taken = effect
        intercept, slope = theil_sen(xs.tolist(), (ys - taken).tolist())
    residual = ys - (intercept + slope * xs)
    return SizePlacement(
        intercept=intercept,
        slope=slope,
        families={f: float(residual[idx].mean()) for f, idx in sorted(members.items())},
    )


def offset_from_benchmark(score: float, ease_quantiles: F64) -> float:
    """The offset whose mean quality over the ease distribution equals ``score`` (bisection)."""
    target = min(max(score, 0.01), 0.99)
    lo, hi = -20.0, 20.0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        mean = float(np.mean(1.0 / (1.0 + np.exp(-(ease_quantiles + mid)))))
        if mean < target:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)
