"""What a model would have taken for requests it never answered, from what it took for its own.

A request is answered by one model only, so the savings' latency baseline (dashboard.savings)
cannot be measured: it is estimated, the way its cost is priced from the model's prices. A
model's time for a request is taken to be linear in the request's size::

    latency ≈ per_request + per_prompt_token * prompt tokens + per_answer_token * answer tokens

fitted by non-negative least squares (scipy's ``nnls``) on the requests the model answered that
month (ledger.answer_times): a longer prompt or answer never takes less time. Being linear, the
estimate for many requests needs only their count and token sums (the rollups).

No estimate (``None``; the page says "no comparison: not enough data" beside the routed requests'
measured mean) when the measure is too thin to carry one: fewer than ``MIN_REQUESTS`` answered
requests, or requests whose prompts or answers do not reach from below to above the mean lengths
of the requests to estimate (a model measured on one-token answers says nothing about its time
for 600-token ones; the fit would only guess).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import nnls

from stellwerk.ledger.answer_times import AnswerTime

__all__ = ["MIN_REQUESTS", "LatencyFit", "fit_latency"]

MIN_REQUESTS = 10
"""Answered requests a model needs for its time per token to be measured at all."""


@dataclass(frozen=True, slots=True)
class LatencyFit:
    """A model's measured time per request and per token, and the sizes it was measured on."""

    requests: int
    per_request_ms: float
    per_prompt_token_ms: float
    per_answer_token_ms: float
    prompt_tokens: tuple[int, int]
    """The shortest and the longest prompt measured."""
    answer_tokens: tuple[int, int]

    def covers(self, requests: int, prompt_tokens: int, answer_tokens: int) -> bool:
        """Whether ``requests`` of these token sums are, on average, within the sizes measured."""
        if requests <= 0:
            return False
        prompt, answer = prompt_tokens / requests, answer_tokens / requests
        low, high = self.prompt_tokens
        if not low <= prompt <= high:
            return False
        low, high = self.answer_tokens
        return low <= answer <= high

    def total_ms(self, requests: int, prompt_tokens: int, answer_tokens: int) -> float:
        """The estimated time of ``requests`` requests with these token sums, added up."""
        return (
            self.per_request_ms * requests
            + self.per_prompt_token_ms * prompt_tokens
            + self.per_answer_token_ms * answer_tokens
        )


def fit_latency(sample: Sequence[AnswerTime]) -> LatencyFit | None:
    """The fit over ``sample``, or ``None`` with fewer than ``MIN_REQUESTS`` requests."""
    if len(sample) < MIN_REQUESTS:
        return None
    prompts = np.array([s.prompt_tokens for s in sample], dtype=float)
    answers = np.array([s.completion_tokens for s in sample], dtype=float)
    times = np.array([s.latency_ms for s in sample], dtype=float)
    # columns scaled to at most 1, so that a token's few milliseconds weigh like a request's
    prompt_scale, answer_scale = max(float(prompts.max()), 1.0), max(float(answers.max()), 1.0)
    design = np.column_stack([np.ones(len(sample)), prompts / prompt_scale, answers / answer_scale])
    coefficients, _ = nnls(design, times)
    return LatencyFit(
        requests=len(sample),
        per_request_ms=float(coefficients[0]),
        per_prompt_token_ms=float(coefficients[1]) / prompt_scale,
        per_answer_token_ms=float(coefficients[2]) / answer_scale,
        prompt_tokens=(int(prompts.min()), int(prompts.max())),
        answer_tokens=(int(answers.min()), int(answers.max())),
    )
