"""How long each model's answers are: mean completion tokens per successful request, read from
the daily rollups (``usage_daily``: one row per day, department, key and model), never from
``usage``, so the read costs the same however many requests the gateway served.

A request counts as successful when its status is below 400; the completion tokens of a failed
request (a stream broken off after some tokens) are few and are counted with the rest. The
rollups hold whole UTC days, so a window of ``days`` covers today and the ``days`` days before.

Only the clients' requests count: shadow grading's own calls (key ``shadow``: the reference's
answers, cut at ``router.shadow.reference_max_tokens``, and its verdicts of a few tokens) are
short by construction, and counted in they would make the reference model, the largest, look
cheaper to every routed request.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, func, select

from stellwerk.config.governance import SHADOW_KEY_ID
from stellwerk.ledger.rollup_tables import usage_daily


def answer_lengths(
    connection: Connection, *, now: datetime, days: int, min_requests: int
) -> dict[str, int]:
    """Mean completion tokens (rounded) per model over the last ``days`` UTC days up to ``now``,
    for the models with at least ``min_requests`` successful client requests in that time (shadow
    grading's calls left out)."""
    h = usage_daily.c
    today = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    answered = func.sum(h.requests) - func.sum(h.errors)
    statement = (
        select(h.model, answered, func.sum(h.completion_tokens))
        .where(h.day >= today - timedelta(days=days), h.model != "", h.key_id != SHADOW_KEY_ID)
        .group_by(h.model)
        .having(answered >= max(min_requests, 1))
    )
    return {
        str(model): round(int(tokens) / int(count))
        for model, count, tokens in connection.execute(statement)
    }
