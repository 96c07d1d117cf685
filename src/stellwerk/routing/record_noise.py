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
import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from stellwerk.routing import features
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
    words = features.words_of(text)
    if len(words) < 2:
        return 1.0
    n = len(words)
    grams = features.gram_slots(words, model.bits)  # the words' slots, then the bigrams'
    word, pair = grams[:n], grams[n:]
    skip = features.skip_slots(words, model.bits)
    index, counts = np.unique(grams, return_counts=True)
    total = model.projected(index, (1.0 + np.log(counts)) * model.idf[index])
    norm = float(np.linalg.norm(total))
    if norm == 0.0:
        return 1.0
    # per deleted word i: its word slot and its two bigrams go (-1), the bigram of its
    # neighbours comes (+1); all words' changes in four runs: the words, the bigrams (each the
    # left one of the word after it), the bigrams again (each the right one of its word), the
    # skips (each the one of the word between its two)
    slot = np.concatenate([word, pair, pair, skip])
    sign = np.full(len(slot), -1.0)
    sign[len(slot) - len(skip) :] = 1.0
    pos = np.searchsorted(index, slot)
    pos = np.minimum(pos, len(index) - 1)
    count = np.where(index[pos] == slot, counts[pos], 0).astype(np.float64)
    after = np.maximum(count + sign, 0.0)
    weight = np.where(after > 0, 1.0 + np.log(np.maximum(after, 1.0)), 0.0)
    weight -= np.where(count > 0, 1.0 + np.log(np.maximum(count, 1.0)), 0.0)
    vpos = np.minimum(np.searchsorted(model.vocab, slot), len(model.vocab) - 1)
    hit = (model.vocab[vpos] == slot) & (weight != 0)
    parts = (weight[hit] * model.idf[slot[hit]])[:, None] * model.proj[vpos[hit]]
    delta = _per_word(parts.astype(np.float64), hit, n)
    moved = total[None, :] + delta
    lengths = np.linalg.norm(moved, axis=1, keepdims=True)
    unit = np.divide(moved, lengths, out=np.zeros_like(moved), where=lengths > 0)
    shift = np.linalg.norm(unit - total / norm, axis=1)
    return max(float(shift.max()), LEAST_SENSITIVITY)


def _per_word(parts: F64, hit: npt.NDArray[np.bool_], n: int) -> F64:
    """The latent shift of leaving out each of ``n`` words: the sum of its changes that hit the
    latent space (``parts``, one row per ``hit``, in the order of ``sensitivity``'s four runs).
    Each word's sum is added up as ``np.add.reduceat`` over its changes in that order adds it
    (numpy 2: the first change plus the others summed from zero, left to right), without its
    per-word loop: every word's sum is the same float, to the last bit (a zero may change its
    sign, which no later step sees); a word with no change has a zero row."""
    none = len(parts)  # the row index of a change that is not there: a row of zeros
    rows = np.vstack([parts, np.zeros((1, parts.shape[1]))])
    where = np.full(len(hit) + 1, none)
    where[np.flatnonzero(hit)] = np.arange(none)
    # each word's changes in the runs' order: its own slot, its left bigram, its right bigram,
    # the skip across it (those at the prompt's ends are not there)
    change = np.full((n, 4), len(hit))
    change[:, 0] = np.arange(n)
    change[1:, 1] = np.arange(n, 2 * n - 1)
    change[:-1, 2] = np.arange(2 * n - 1, 3 * n - 2)
    change[1:-1, 3] = np.arange(3 * n - 2, 4 * n - 4)
    change = where[change]
    first = np.argmax(change != none, axis=1)  # 0 if none is there: a row of zeros then
    each = np.arange(n)
    head = rows[change[each, first]]
    change[each, first] = none
    out: F64 = head + ((rows[change[:, 1]] + rows[change[:, 2]]) + rows[change[:, 3]])
    return out


def noisy_latent(latent: F64, sigma: float, rng: Noise) -> tuple[float, ...]:
    """``latent`` with Gaussian noise of ``sigma`` on each coordinate, *not* scaled to unit length
    again: its product with another prompt's unit vector is then an unbiased estimate of their
    cosine (scaled to unit length, every noisy record would look farther from every prompt than
    it is, and an adaptation learned little from them: BENCHMARKS.md)."""
    if not len(latent):
        return ()
    moved: list[float] = (latent + rng.normal(0.0, sigma, size=len(latent))).tolist()
    return tuple(moved)


def noisy_base(base: F64, sigma: float, rng: Noise) -> F64:
    """``base`` with Gaussian noise of ``sigma`` on each model's quality, in [0, 1]."""
    out: F64 = np.clip(base + rng.normal(0.0, sigma, size=len(base)), 0.0, 1.0)
    return out


def coarse_stats(stats: F64) -> tuple[float, ...]:
    """The statistics rounded to ``STAT_DECIMALS`` decimals."""
    rounded: list[float] = np.round(stats, STAT_DECIMALS).tolist()
    return tuple(rounded)
