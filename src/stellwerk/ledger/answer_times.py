"""The time a model took for each request it answered: the sample the dashboard measures a
model's time per request, per prompt token and per answer token on (dashboard.latency_fit).

Read from ``usage`` itself (the rollups keep sums, and a fit needs each request), through its
``(model, time)`` index, newest first and at most ``SAMPLE_LIMIT`` records: the read stays short
however busy the month was.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, and_, select

from stellwerk.ledger.tables import usage
from stellwerk.ledger.window import Window

__all__ = ["SAMPLE_LIMIT", "AnswerTime", "answer_times"]

SAMPLE_LIMIT = 10_000


@dataclass(frozen=True, slots=True)
class AnswerTime:
    prompt_tokens: int
    completion_tokens: int
    latency_ms: float


def answer_times(
    connection: Connection, window: Window, model: str, *, limit: int = SAMPLE_LIMIT
) -> list[AnswerTime]:
    """The newest ``limit`` requests ``model`` answered in ``window`` (status below 400: a
    failed request says nothing about how long an answer takes)."""
    u = usage.c
    statement = (
        select(u.prompt_tokens, u.completion_tokens, u.latency_ms)
        .where(and_(u.model == model, u.status < 400, *window.clauses(u.time)))
        .order_by(u.time.desc())
        .limit(limit)
    )
    return [
        AnswerTime(int(row[0]), int(row[1]), float(row[2])) for row in connection.execute(statement)
    ]
