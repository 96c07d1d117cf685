"""Noise on what is kept of a graded request, so that a record cannot confirm a guess.

A ``GradedRecord`` is a deterministic function of its prompt: whoever can read the records and
guesses a prompt's wording up to one detail (a name, a number, a secret in a known template) can
read each candidate prompt with the same router and compare. Exact vectors single out the true
candidate among thousands (docs/router.md, "What is kept, and what it can and cannot give
back"). So a record is kept with noise drawn afresh from the operating system's entropy for each
record (never from the prompt: a seed the prompt gives, the attacker computes too):

* the latent vector: Gaussian noise of standard deviation ``scale x sensitivity`` on each
  coordinate, not scaled to unit length again (``noisy_latent`` says why). ``sensitivity`` is
  the prompt's own: the largest shift of its latent vector when any one word of it is left out
  (``sensitivity``, every word at once). A short prompt, which one word moves far, gets more
  noise than a long one; a secret is hidden when the noise on the direction between two
  candidates is larger than their distance.
* the base prediction: Gaussian noise of ``scale x BASE_SHARE x sensitivity`` on each model's
  quality, clipped to [0, 1]. One word moves the base prediction about a fifth as far as the
  latent vector, but nine models' predictions together identify a secret as well as the latent
  vector does. A quarter of the latent vector's noise: as much as the base predictions' own
  sensitivity calls for, where the latent vector's full noise on them cost most of what the
  learning lost (the promotion test reads them: fewer promotions), measured side by side
  (BENCHMARKS.md, "Noise on graded records").
* the statistics (for reports; not learned from): rounded to one decimal.

``scale`` 0 keeps the exact reading (the fingerprint the noise hides). The grades, task and
department are kept as they are: they do not come from the prompt.

Fresh noise alone averages out over several records of one prompt (a templated prompt graded
again and again). So with a **record key** (``Keyed``) half of the noise's variance is drawn
from the key and the prompt (HMAC-SHA256 of the prompt's text under the key seeds it): every
record of one prompt under that key carries the same half, which no number of records averages
away; the other half is fresh. One record's noise is as large as without a key. The key must
stay apart from the records: whoever holds both can recompute each guess's fixed half, and a
guess is then confirmed as by an exact reading (each text's fixed half is its own). By default a
gateway draws a random key per process, kept in its memory only (``RecordNoise``); a configured
one (``router.record_noise_key_env``) holds across replicas and restarts (docs/router.md).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import math
import zlib
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from stellwerk.routing.features import _TOKEN, clip_text
from stellwerk.routing.model import QualityModel

F64 = npt.NDArray[np.float64]

BASE_SHARE = 0.25
"""The base prediction's noise, as a share of the latent vector's (module docstring)."""
LEAST_SENSITIVITY = 0.02
"""The sensitivity a prompt is given at least (one with one or no word the latent space reads
would otherwise get no noise on its base prediction)."""
STAT_DECIMALS = 1
KEYED_SHARE = 0.5
"""With a record key, the share of the noise's variance that is the same for every record of
one prompt (module docstring); the rest is fresh."""


@dataclass(frozen=True, slots=True)
class Keyed:
    """A record's noise with a key: a part drawn from the key and the prompt (``fixed``), the
    same in every record of that prompt, and a fresh part; drawn as a ``Generator`` draws it."""

    fixed: np.random.Generator
    fresh: np.random.Generator

    def normal(self, loc: float, scale: float, size: int) -> F64:
        fixed = self.fixed.normal(0.0, scale * math.sqrt(KEYED_SHARE), size=size)
        fresh = self.fresh.normal(0.0, scale * math.sqrt(1.0 - KEYED_SHARE), size=size)
        out: F64 = loc + fixed + fresh
        return out


Noise = np.random.Generator | Keyed
"""Where a record's noise comes from: fresh entropy alone, or with a key (``Keyed``)."""


def keyed(key: bytes, text: str, fresh: np.random.Generator | None = None) -> Keyed:
    """The noise of a record of ``text`` under ``key``: its fixed part seeded by HMAC-SHA256 of the
    text (a lone surrogate kept as it is) under the key, its fresh part ``fresh`` (default: the
    operating system's entropy)."""
    digest = hmac.new(key, text.encode("utf-8", "surrogatepass"), hashlib.sha256).digest()
    fixed = np.random.default_rng(int.from_bytes(digest, "big"))
    return Keyed(fixed, np.random.default_rng() if fresh is None else fresh)


@dataclass(frozen=True, slots=True)
class RecordNoise:
    """What a gateway keeps its graded records with: the noise's ``scale`` (``router.record_noise``)
    and the record key (``router.record_noise_key_env``, or a random one for the process)."""

    scale: float
    key: bytes


def sensitivity(model: QualityModel, text: str) -> float:
    """The largest Euclidean shift of ``text``'s unit latent vector when one of its words (a
    token of ``features``) is left out, every word computed at once; ``LEAST_SENSITIVITY`` at
    least. A shift is computed from the counts of the whole prompt (two changes of one slot by
    one deletion are taken apart): close enough to scale noise by."""
    tokens = _TOKEN.findall(clip_text(text).lower())
    if len(tokens) < 2:
        return 1.0
    mask = (1 << model.bits) - 1

    def slots(grams: list[str]) -> npt.NDArray[np.int64]:
        return np.fromiter(
            (zlib.crc32(g.encode("utf-8")) & mask for g in grams), dtype=np.int64, count=len(grams)
        )

    word = slots(tokens)
    pair = slots([a + " " + b for a, b in itertools.pairwise(tokens)])
    skip = slots([a + " " + b for a, b in zip(tokens, tokens[2:], strict=False)])
    index, counts = np.unique(np.concatenate([word, pair]), return_counts=True)
    total = model.projected(index, (1.0 + np.log(counts)) * model.idf[index])
    norm = float(np.linalg.norm(total))
    if norm == 0.0:
        return 1.0
    n = len(tokens)
    # per deleted word i: its word slot and its two bigrams go (-1), the bigram of its
    # neighbours comes (+1): as (variant, slot, sign) triples
    rows = [np.arange(n), np.arange(1, n), np.arange(n - 1), np.arange(1, n - 1)]
    changed = [word, pair, pair, skip]
    signs = [-1.0, -1.0, -1.0, 1.0]
    variant = np.concatenate(rows)
    slot = np.concatenate(changed)
    sign = np.concatenate([np.full(len(r), s) for r, s in zip(rows, signs, strict=True)])
    pos = np.searchsorted(index, slot)
    pos = np.minimum(pos, len(index) - 1)
    count = np.where(index[pos] == slot, counts[pos], 0).astype(np.float64)
    after = np.maximum(count + sign, 0.0)
    weight = np.where(after > 0, 1.0 + np.log(np.maximum(after, 1.0)), 0.0)
    weight -= np.where(count > 0, 1.0 + np.log(np.maximum(count, 1.0)), 0.0)
    delta = np.zeros((n, total.shape[0]), dtype=np.float64)
    vpos = np.minimum(np.searchsorted(model.vocab, slot), len(model.vocab) - 1)
    hit = np.flatnonzero((model.vocab[vpos] == slot) & (weight != 0))
    if len(hit):
        hit = hit[np.argsort(variant[hit], kind="stable")]
        rows_of, starts = np.unique(variant[hit], return_index=True)
        parts = (weight[hit] * model.idf[slot[hit]])[:, None] * model.proj[vpos[hit]]
        delta[rows_of] = np.add.reduceat(parts.astype(np.float64), starts, axis=0)
    moved = total[None, :] + delta
    lengths = np.linalg.norm(moved, axis=1, keepdims=True)
    unit = np.divide(moved, lengths, out=np.zeros_like(moved), where=lengths > 0)
    shift = np.linalg.norm(unit - total / norm, axis=1)
    return max(float(shift.max()), LEAST_SENSITIVITY)


def noisy_latent(latent: F64, sigma: float, rng: Noise) -> tuple[float, ...]:
    """``latent`` with Gaussian noise of ``sigma`` on each coordinate, *not* scaled to unit length
    again: its product with another prompt's unit vector is then an unbiased estimate of their
    cosine (scaled to unit length, every noisy record would look farther from every prompt than
    it is, and an adaptation learned little from them: BENCHMARKS.md)."""
    if not len(latent):
        return ()
    return tuple(float(x) for x in latent + rng.normal(0.0, sigma, size=len(latent)))


def noisy_base(base: F64, sigma: float, rng: Noise) -> F64:
    """``base`` with Gaussian noise of ``sigma`` on each model's quality, in [0, 1]."""
    out: F64 = np.clip(base + rng.normal(0.0, sigma, size=len(base)), 0.0, 1.0)
    return out


def coarse_stats(stats: F64) -> tuple[float, ...]:
    """The statistics rounded to ``STAT_DECIMALS`` decimals."""
    return tuple(float(x) for x in np.round(stats, STAT_DECIMALS))
