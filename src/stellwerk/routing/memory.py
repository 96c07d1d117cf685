"""Outcome memory: what each model scored on the prompts the router was trained on.

A router that has seen a prompt, with every model's measured outcome, should not have to guess
it: the same question sent again (a template, a recurring task, a benchmark item that appears
twice) gets the same answers, most of the time. The memory keeps, for each distinct training
prompt, a 64-bit digest (BLAKE2b of the prompt with surrounding whitespace removed) and the mean
score of each model on it. When a prompt's digest is remembered, its predicted quality becomes

    (prior x predicted + n x remembered) / (prior + n)

with ``n`` the number of times that prompt was seen in training and ``prior`` = 1: one remembered
outcome counts as much as the model's prediction. The digests keep no text, but whoever holds the
artifact can test whether a prompt they guess was in the training data; train with
``--no-memory`` when that matters.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

PRIOR = 1.0
"""How many remembered outcomes the model's own prediction is worth."""


def prompt_digest(text: str) -> int:
    """A stable signed 64-bit digest of the prompt (surrounding whitespace ignored)."""
    raw = hashlib.blake2b(text.strip().encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(raw, "little", signed=True)


@dataclass(frozen=True)
class OutcomeMemory:
    """Sorted digests, and per digest the mean score of every model and how often it was seen."""

    keys: I64
    scores: npt.NDArray[np.float16]
    counts: npt.NDArray[np.int32]
    prior: float = PRIOR

    @classmethod
    def empty(cls, models: int) -> OutcomeMemory:
        return cls(
            keys=np.zeros(0, dtype=np.int64),
            scores=np.zeros((0, models), dtype=np.float16),
            counts=np.zeros(0, dtype=np.int32),
        )

    @classmethod
    def build(cls, prompts: Sequence[str], scores: F64) -> OutcomeMemory:
        """Group the rows by prompt digest and average each model's scores."""
        digests = np.array([prompt_digest(p) for p in prompts], dtype=np.int64)
        keys, inverse, counts = np.unique(digests, return_inverse=True, return_counts=True)
        sums = np.zeros((len(keys), scores.shape[1]))
        np.add.at(sums, inverse, scores)
        return cls(
            keys=keys.astype(np.int64),
            scores=(sums / counts[:, None]).astype(np.float16),
            counts=counts.astype(np.int32),
        )

    def with_columns(self, extra: F64) -> OutcomeMemory:
        """The memory with more models (columns of ``extra``, one row per remembered prompt)."""
        scores = np.column_stack([self.scores.astype(np.float64), extra]).astype(np.float16)
        return replace(self, scores=scores)

    def __len__(self) -> int:
        return len(self.keys)

    def find(self, text: str) -> int:
        """Row of the remembered prompt, or -1."""
        if len(self.keys) == 0:
            return -1
        digest = prompt_digest(text)
        pos = int(np.searchsorted(self.keys, digest))
        if pos < len(self.keys) and int(self.keys[pos]) == digest:
            return pos
        return -1

    def apply(self, row: int, quality: F64) -> F64:
        """``quality`` moved toward what was remembered in ``row``."""
        n = float(self.counts[row])
        remembered = self.scores[row].astype(np.float64)
        out: F64 = (self.prior * quality + n * remembered) / (self.prior + n)
        return out
