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
from collections.abc import Callable, Iterator, Sequence
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


def words_of(text: str) -> list[bytes]:
    """The tokens the features read of ``text`` (its head and tail, lower-cased), each as UTF-8."""
    return list(map(str.encode, _TOKEN.findall(clip_text(text).lower())))


def gram_slots(words: list[bytes], bits: int) -> npt.NDArray[np.int64]:
    """The slot of each word, then of each bigram (a word and the next, joined by a space)."""
    bigrams = map(b" ".join, itertools.pairwise(words))
    return _slots(itertools.chain(words, bigrams), max(2 * len(words) - 1, 0), bits)


def skip_slots(words: list[bytes], bits: int) -> npt.NDArray[np.int64]:
    """The slot of each pair of words one apart (a word and the one after the next), joined by a
    space: the bigram that leaving out the word between them makes."""
    skips = map(b" ".join, zip(words, words[2:], strict=False))
    return _slots(skips, max(len(words) - 2, 0), bits)


def _slots(grams: Iterator[bytes], count: int, bits: int) -> npt.NDArray[np.int64]:
    # CRC-32 in one C loop over the grams (map), masked after: the same slots as hashing one
    # gram at a time in Python, for a fraction of the CPU
    out = np.fromiter(map(zlib.crc32, grams), dtype=np.int64, count=count)
    out &= (1 << bits) - 1
    return out


def hashed_counts(text: str, bits: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Slots of the word and bigram hashes of ``text`` and how often each occurs."""
    words = words_of(text)
    if not words:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
    index, counts = np.unique(gram_slots(words, bits), return_counts=True)
    return index, counts.astype(np.float64)


def tfidf(text: str, bits: int, idf: npt.NDArray[np.float64]) -> SparseVector:
    """Sublinear TF x IDF of the hashed n-grams, scaled to unit length."""
    index, counts = hashed_counts(text, bits)
    value = (1.0 + np.log(counts)) * idf[index]
    norm = math.sqrt(float(value @ value))
    if norm > 0:
        value = value / norm
    return SparseVector(index, value)


def _ascii(test: Callable[[str], bool]) -> bytes:
    return bytes(c for c in range(128) if test(chr(c)))


# the ASCII characters each count of ``prompt_stats`` counts, by the same ``str`` methods
_DIGITS = _ascii(str.isdigit)
_UPPER = _ascii(str.isupper)
_ALNUM_SPACE = _ascii(lambda ch: ch.isalnum() or ch.isspace())
_CODE = "{}();=[]_#<>"
_MATHS = "+-*/^=$\\"


def prompt_stats(text: str) -> npt.NDArray[np.float64]:
    """The prompt's shape, in the order of ``STAT_NAMES`` (raw, not standardised)."""
    clipped = clip_text(text)
    n = max(len(clipped), 1)
    words = clipped.split()
    if clipped.isascii():  # every count in C: the characters of a class deleted, the rest measured
        raw = clipped.encode("ascii")
        size = len(raw)
        digits = size - len(raw.translate(None, _DIGITS))
        upper = size - len(raw.translate(None, _UPPER))
        alnum_space = size - len(raw.translate(None, _ALNUM_SPACE))
        non_ascii = 0
    else:
        digits = sum(map(str.isdigit, clipped))
        upper = sum(map(str.isupper, clipped))
        alnum_space = sum(map(str.isalnum, clipped)) + sum(map(str.isspace, clipped))
        non_ascii = len(clipped) - sum(map(str.isascii, clipped))
    code = sum(map(clipped.count, _CODE))
    maths = sum(map(clipped.count, _MATHS))
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
            sum(map(len, words)) / max(len(words), 1) / 10.0,
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
