"""The router reads a prompt (``routing.features``) and scales a record's noise by its sensitivity
(``routing.record_noise``) with C loops and whole-array steps; each step gives the same numbers, to
the last bit, as the plain per-character, per-gram and per-word definition it replaces, so that a
routing decision, an artifact trained on the same data and a record's noise stay what they were."""

from __future__ import annotations

import itertools
import math
import zlib

import numpy as np
import pytest

from stellwerk.routing.features import clip_text, hashed_counts, prompt_stats, words_of
from stellwerk.routing.record_noise import _per_word

TEXTS = [
    "",
    "a",
    "Say hello.",
    "What is 2+2? Answer {in JSON}: [x] = (y); #tag <b> a_b $x^2$ \\frac",
    "Zeile eins\nZeile zwei\tmit Tab\x0b\x0c\x1c\x1f und Ende",
    "Größe ÄÖÜ ß İstanbul ǅ ﬁ ² ٣ Ⅷ 中文 🙂 \u00a0\u2028 café",
    "word " * 1500,
    "x" * 5000 + " tail ? " + "y" * 10,
]


def _reference_stats(text: str) -> list[float]:
    clipped = clip_text(text)
    n = max(len(clipped), 1)
    words = clipped.split()
    return [
        math.log1p(len(text)),
        math.log1p(len(words)),
        math.log1p(text.count("\n")),
        sum(ch.isdigit() for ch in clipped) / n,
        sum(ch.isupper() for ch in clipped) / n,
        (n - sum(ch.isalnum() or ch.isspace() for ch in clipped)) / n,
        sum(clipped.count(ch) for ch in "{}();=[]_#<>") / n,
        sum(clipped.count(ch) for ch in "+-*/^=$\\") / n,
        sum(len(w) for w in words) / max(len(words), 1) / 10.0,
        math.log1p(clipped.count("?")),
        sum(not ch.isascii() for ch in clipped) / n,
    ]


@pytest.mark.parametrize("text", TEXTS)
def test_prompt_statistics_count_each_character_as_its_str_method_says(text: str) -> None:
    assert prompt_stats(text).tolist() == _reference_stats(text)


@pytest.mark.parametrize("text", TEXTS)
def test_hashed_grams_are_each_gram_hashed_alone(text: str) -> None:
    tokens = [w.decode() for w in words_of(text)]
    grams = tokens + [a + " " + b for a, b in itertools.pairwise(tokens)]
    slots = [zlib.crc32(g.encode("utf-8")) & 0xFFFF for g in grams]
    index, counts = hashed_counts(text, 16)
    expected = np.unique(np.array(slots, dtype=np.int64), return_counts=True)
    assert index.tolist() == expected[0].tolist()
    assert counts.tolist() == expected[1].astype(np.float64).tolist()


@pytest.mark.parametrize("n", [2, 3, 4, 17, 300])
def test_each_words_changes_add_up_as_reduceat_adds_them(n: int) -> None:
    """The four runs of changes (words, left bigrams, right bigrams, skips), each word's present
    ones summed per word: the same floats as sorting them by word and ``np.add.reduceat``."""
    rng = np.random.default_rng(n)
    variant = np.concatenate([np.arange(n), np.arange(1, n), np.arange(n - 1), np.arange(1, n - 1)])
    for share in (0.1, 0.5, 0.95):
        hit = rng.random(len(variant)) < share
        scale = rng.choice([1e-6, 1e-2, 1.0, 1e3], size=(int(hit.sum()), 1))
        parts = rng.normal(size=(int(hit.sum()), 64)) * scale
        order = np.argsort(variant[hit], kind="stable")
        rows, starts = np.unique(variant[hit][order], return_index=True)
        expected = np.zeros((n, 64))
        if len(order):
            expected[rows] = np.add.reduceat(parts[order], starts, axis=0)
        assert np.array_equal(_per_word(parts, hit, n), expected)
