"""What the router may know of a configured model: its ``Candidate``, built from the config's
``ModelConfig`` in one place for the gateway's selection, shadow grading and the dashboard."""

from __future__ import annotations

from stellwerk.config.schema import ModelConfig
from stellwerk.routing.base import Candidate
from stellwerk.routing.placement import family_key


def candidate(model: ModelConfig, answer_tokens: int | None = None) -> Candidate:
    """What the router may know of ``model``; ``answer_tokens``: its measured answer length."""
    return Candidate(
        model_id=model.id,
        params_b=model.params_b,
        size_class=model.size_class,
        price_in_per_mtok=model.price.input_per_mtok,
        price_out_per_mtok=model.price.output_per_mtok,
        context_length=model.context_length,
        benchmark_score=model.benchmark_score,
        answer_tokens=answer_tokens,
        family=family_key(model.family, model.upstream),
    )
