"""The time a model took for each request it answered: the sample the dashboard measures a
model's time per request, per prompt token and per answer token on (dashboard.latency_fit).

Read from ``usage`` itself (the rollups keep sums, and a fit needs each request), through its
``(model, time)`` index, newest first and at most ``SAMPLE_LIMIT`` records: the read stays short
however busy the month was.

Only the clients' requests are the sample: shadow grading's own calls (key ``shadow``) are cut
answers and verdicts of a few tokens after a judging prompt that begins with the same rubric
each time (a server that caches prompt prefixes reads it for almost nothing), and at a high
``router.shadow.share`` they would be most of the reference model's newest requests.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, and_, select

from stellwerk.config.governance import SHADOW_KEY_ID
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
    """The newest ``limit`` client requests ``model`` answered in ``window`` (status below 400: a
    failed request says nothing about how long an answer takes; shadow grading's calls left
    out)."""
    u = usage.c
    statement = (
        select(u.prompt_tokens, u.completion_tokens, u.latency_ms)
        .where(
            and_(
                u.model == model,
                u.status < 400,
                u.key_id != SHADOW_KEY_ID,
                *window.clauses(u.time),
            )
        )
        .order_by(u.time.desc())
        .limit(limit)
    )
    return [
        AnswerTime(int(row[0]), int(row[1]), float(row[2])) for row in connection.execute(statement)
    ]
