"""Per-request limits: messages, max_tokens, texts to embed, concurrent streams and requests in
flight per key (per process)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from stellwerk.backends.types import ChatRequest
from stellwerk.config.schema import Limits, StellwerkConfig
from stellwerk.errors import InvalidRequest, RateLimited


def check_request(
    request: ChatRequest,
    limits: Limits,
    answer_param: str = "max_tokens",
    prompt_param: str = "messages",
    counted: str = "",
) -> None:
    """Refuse too many messages or too long an answer asked for (``answer_param``: the name the
    client gave its cap, ``max_completion_tokens``, ``options.num_predict`` ...; ``prompt_param``
    the field that holds the messages, ``input``; ``counted`` what besides that field made
    messages, said after the count: ``; 1000 of them from input and one from instructions``)."""
    if len(request.messages) > limits.max_messages:
        raise InvalidRequest(
            f"too many messages: {len(request.messages)} (limit {limits.max_messages}){counted}",
            param=prompt_param,
            code="too_many_messages",
        )
    asked = request.max_answer_tokens
    if asked is not None and asked > limits.max_tokens:
        raise InvalidRequest(
            f"{answer_param} {asked} is over the limit of {limits.max_tokens}",
            param=answer_param,
            code="max_tokens_over_limit",
        )


def check_inputs(count: int, limits: Limits, param: str = "input") -> None:
    """Refuse more texts to embed in one request than ``limits.max_embedding_inputs`` (OpenAI's
    API takes at most 2048): each costs the model server an embedding and a tokenize call, so
    100,000 tiny ones held a llama.cpp server for minutes. Refused after the body is read and
    before any backend is asked; ``param`` is the field that holds them."""
    if count > limits.max_embedding_inputs:
        raise InvalidRequest(
            f"{param}: too many texts to embed: {count} (limit {limits.max_embedding_inputs});"
            " send them in several requests",
            param=param,
            code="too_many_inputs",
        )


class StreamSlots:
    """Counts open streams per key; a key over its limit gets 429 until one of them ends."""

    def __init__(self, per_key: int) -> None:
        self.per_key = per_key
        self.open: Counter[str] = Counter()

    def check(self, key_id: str) -> None:
        """Refuse a stream now if the key has no free slot (``acquire`` takes one later)."""
        if self.open[key_id] >= self.per_key:
            raise RateLimited(
                f"too many concurrent streams for key {key_id!r} (limit {self.per_key}); "
                "retry when one of them has ended",
                retry_after_s=1,
                code="too_many_streams",
            )

    def acquire(self, key_id: str) -> None:
        self.check(key_id)
        self.open[key_id] += 1

    def release(self, key_id: str) -> None:
        self.open[key_id] -= 1
        if self.open[key_id] <= 0:
            del self.open[key_id]


class InFlight:
    """Requests of each key in flight at once, of every kind (per process): a key at its limit
    gets 429 until one of them ends, so that one key cannot take every slot of a model server.

    A key's limit is its own ``max_in_flight``, else its department's, else
    ``server.limits.max_in_flight_per_key``.
    """

    def __init__(
        self, default: int, per_key: Mapping[str, int], per_department: Mapping[str, int]
    ) -> None:
        self.default = default
        self.per_key = dict(per_key)
        self.per_department = dict(per_department)
        self.open: Counter[str] = Counter()

    @classmethod
    def of(cls, config: StellwerkConfig) -> InFlight:
        return cls(
            config.server.limits.max_in_flight_per_key,
            {
                k.id: k.max_in_flight
                for d in config.departments
                for k in d.keys
                if k.max_in_flight is not None
            },
            {d.name: d.max_in_flight for d in config.departments if d.max_in_flight is not None},
        )

    def limit_of(self, key_id: str, department: str) -> int:
        return self.per_key.get(key_id) or self.per_department.get(department) or self.default

    def acquire(self, key_id: str, department: str) -> None:
        limit = self.limit_of(key_id, department)
        if self.open[key_id] >= limit:
            raise RateLimited(
                f"too many requests in flight for key {key_id!r} (limit {limit}); "
                "retry when one of them has ended",
                retry_after_s=1,
                code="too_many_in_flight",
            )
        self.open[key_id] += 1

    def release(self, key_id: str) -> None:
        self.open[key_id] -= 1
        if self.open[key_id] <= 0:
            del self.open[key_id]
