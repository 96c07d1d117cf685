"""Prompt features that need no download and no network: hashed n-grams and prompt statistics.

Words and single symbols (``\\w+`` or one non-space character) and their bigrams are hashed with
CRC-32 into a fixed vocabulary of ``2**bits`` slots (stable across processes and machines, unlike
Python's ``hash``); counts become sublinear TF x IDF (the IDF is learned at training and stored
in the artifact) and the vector is scaled to unit length. A handful of statistics (length, digits,
symbols, lines, ...) describe the prompt's shape. Only the first ``HEAD`` and the last ``TAIL``
characters are read, so a decision costs the same for a 100-token and a 100k-token prompt.
"""

from __future__ import annotations

import itertools
import math
import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

HEAD = 3000
TAIL = 1000
_TOKEN = re.compile(r"\w+|[^\w\s]")
STAT_NAMES = (
    "log_chars",
    "log_words",
    "log_lines",
    "digit_share",
    "upper_share",
    "symbol_share",
    "code_share",
    "math_share",
    "mean_word_len",
    "question_marks",
    "non_ascii_share",
)


@dataclass(frozen=True, slots=True)
class SparseVector:
    """Slots and values of one hashed TF-IDF vector (unit length)."""

    index: npt.NDArray[np.int64]
    value: npt.NDArray[np.float64]


def clip_text(text: str) -> str:
    """The part of a prompt the features read: its head and its tail."""
    if len(text) <= HEAD + TAIL:
        return text
    return text[:HEAD] + "\n" + text[-TAIL:]


def hashed_counts(text: str, bits: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Slots of the word and bigram hashes of ``text`` and how often each occurs."""
    tokens = _TOKEN.findall(clip_text(text).lower())
    grams = tokens + [a + " " + b for a, b in itertools.pairwise(tokens)]
    if not grams:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
    mask = (1 << bits) - 1
    slots = np.fromiter(
        (zlib.crc32(g.encode("utf-8")) & mask for g in grams), dtype=np.int64, count=len(grams)
    )
    index, counts = np.unique(slots, return_counts=True)
    return index, counts.astype(np.float64)


def tfidf(text: str, bits: int, idf: npt.NDArray[np.float64]) -> SparseVector:
    """Sublinear TF x IDF of the hashed n-grams, scaled to unit length."""
    index, counts = hashed_counts(text, bits)
    value = (1.0 + np.log(counts)) * idf[index]
    norm = math.sqrt(float(value @ value))
    if norm > 0:
        value = value / norm
    return SparseVector(index, value)


def prompt_stats(text: str) -> npt.NDArray[np.float64]:
    """The prompt's shape, in the order of ``STAT_NAMES`` (raw, not standardised)."""
    clipped = clip_text(text)
    n = max(len(clipped), 1)
    words = clipped.split()
    digits = sum(ch.isdigit() for ch in clipped)
    upper = sum(ch.isupper() for ch in clipped)
    alnum_space = sum(ch.isalnum() or ch.isspace() for ch in clipped)
    code = sum(clipped.count(ch) for ch in "{}();=[]_#<>")
    maths = sum(clipped.count(ch) for ch in "+-*/^=$\\")
    non_ascii = sum(not ch.isascii() for ch in clipped)
    return np.array(
        [
            math.log1p(len(text)),
            math.log1p(len(words)),
            math.log1p(text.count("\n")),
            digits / n,
            upper / n,
            (n - alnum_space) / n,
            code / n,
            maths / n,
            sum(len(w) for w in words) / max(len(words), 1) / 10.0,
            math.log1p(clipped.count("?")),
            non_ascii / n,
        ],
        dtype=np.float64,
    )


def fit_idf(texts: Sequence[str], bits: int) -> npt.NDArray[np.float64]:
    """Smoothed inverse document frequency per slot (scikit-learn's formula)."""
    df = np.zeros(1 << bits, dtype=np.float64)
    for text in texts:
        index, _ = hashed_counts(text, bits)
        df[index] += 1.0
    return np.log((1.0 + len(texts)) / (1.0 + df)) + 1.0
