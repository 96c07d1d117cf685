"""How long each model's answers are, read from the rollups, on both databases."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from stellwerk.config.governance import SHADOW_KEY_ID
from stellwerk.ledger.answer_times import answer_times
from stellwerk.ledger.ledger import Ledger
from stellwerk.ledger.record import UsageRecord
from stellwerk.ledger.window import EVERYTHING
from tests.ledger.factory import make_record

NOW = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)


def _answers(
    model: str, lengths: list[int], *, days_ago: int = 1, status: int = 200
) -> list[UsageRecord]:
    return [
        make_record(
            i,
            prefix=f"{model}-{days_ago}-{status}",
            model=model,
            time=NOW - timedelta(days=days_ago, minutes=i),
            status=status,
            completion_tokens=length,
        )
        for i, length in enumerate(lengths)
    ]


def test_mean_answer_of_recent_successful_requests_once_there_are_enough(ledger: Ledger) -> None:
    ledger.insert_usage(
        _answers("chatty", [300] * 10 + [100] * 10)  # 20 answers, mean 200
        + _answers("chatty", [0] * 5, status=502)  # failures are no answers
        + _answers("chatty", [5000] * 30, days_ago=40)  # outside the 30-day window
        + _answers("terse", [7, 8], days_ago=0)
        + _answers("terse", [9] * 18, days_ago=29)  # 20 answers, the oldest within the window
        + _answers("rare", [50] * 19)  # too few to trust
    )
    lengths = ledger.answer_lengths(days=30, min_requests=20, now=NOW)
    assert lengths == {"chatty": 200, "terse": 9}
    assert ledger.answer_lengths(days=30, min_requests=19, now=NOW)["rare"] == 50
    assert ledger.answer_lengths(days=60, min_requests=20, now=NOW)["chatty"] == round(
        (20 * 200 + 30 * 5000) / 50
    )


def test_an_empty_ledger_measures_nothing(ledger: Ledger) -> None:
    assert ledger.answer_lengths(days=30, min_requests=1, now=NOW) == {}


def test_shadow_gradings_calls_are_not_a_models_answers(ledger: Ledger) -> None:
    """walk24: the reference model's shadow grading calls (cut answers, verdicts of a few
    tokens, key ``shadow``) made it look terse, so cheaper, to every routed request."""
    shadow = [replace(r, key_id=SHADOW_KEY_ID) for r in _answers("reference", [16] * 30)]
    ledger.insert_usage(shadow + _answers("reference", [400] * 2, days_ago=0))
    assert ledger.answer_lengths(days=30, min_requests=20, now=NOW) == {}
    assert ledger.answer_lengths(days=30, min_requests=2, now=NOW) == {"reference": 400}
    with ledger.connect() as connection:
        times = answer_times(connection, EVERYTHING, "reference")
    assert [t.completion_tokens for t in times] == [400, 400]  # the savings' latency sample
