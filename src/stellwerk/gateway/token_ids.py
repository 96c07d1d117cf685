"""Token ids where text is asked for: OpenAI's ``/v1/completions`` and ``/v1/embeddings`` take a
prompt or an input as token ids (a list of integers, or a list of such lists). The gateway's
backends read text, and a token id means another thing to each model's tokenizer, so both
endpoints refuse them in the same plain words, before the type of the value is checked (which
would tell a list of integers it is not a list of strings, item by item)."""

from __future__ import annotations

from typing import Any


def _ids(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    )


def token_ids(value: Any) -> bool:
    """Whether ``value`` is token ids: a list of integers, or a list of such lists."""
    return isinstance(value, list) and (_ids(value) or (bool(value) and all(map(_ids, value))))


def refused(what: str, instead: str) -> str:
    """The refusal of token ids sent as ``what``; ``instead``: what the endpoint takes."""
    return f"token ids are not supported; send the {what} as text, {instead}"
