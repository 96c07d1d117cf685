"""Whether a grading can be judged: its judging call must fit the judge's context, and that is
asked before the reference answer is paid for (docs/router.md, "Shadow grading", step 2).

The judging call's prompt is the rubric, the question, the reference answer and the routed
answer; its answer is ``JUDGE_MAX_TOKENS``. All but the reference answer are known once the
routed answer is: the judge's server counts them (its tokenizer, ``Backend.prompt_tokens``, plus
the chat template's allowance), or, where it has no tokenizer or it fails, their bound (every
token is at least one byte, ``backends.tokens.prompt_bound``). The reference answer is counted at
its most, ``reference_max_tokens``. A grading whose sum is over the judge's context is skipped
before any call (``judge_context``, docs/router.md).

The count can still be short of the server's (a configured ``context_length`` larger than the
server's, a tokenizer that re-reads an answer differently): a judging or reference call the
server refuses as over its context teaches ``JudgeLimits`` that this judge takes less than that
many tokens, and every later grading of that size or more is skipped the same way, for the
life of the process. So a kind of request that cannot be judged fails once, not again.
"""

from __future__ import annotations

import asyncio

from stellwerk.backends.base import Backend
from stellwerk.backends.tokens import PER_MESSAGE_BOUND, PER_REQUEST_BOUND, prompt_bound
from stellwerk.backends.types import JSON, ChatRequest
from stellwerk.config.schema import ModelConfig
from stellwerk.errors import StellwerkError

JUDGE_MAX_TOKENS = 16
"""The judge's answer: ``{"grade": N}``."""
TOKENIZE_WAIT_S = 10.0
"""How long the judge's tokenizer is waited for; past it, the bound is used."""
RUBRIC = (
    "You grade answers. You get a question, a reference answer and a candidate answer. Grade how"
    " well the candidate answers the question compared with the reference: 10 if it is as"
    " correct, complete and useful, 0 if it is wrong or useless, in between for partly right."
    ' Answer only with JSON: {"grade": <integer 0 to 10>}.'
)
_GRADE_FORMAT: JSON = {
    "type": "json_schema",
    "json_schema": {
        "name": "grade",
        "schema": {
            "type": "object",
            "properties": {"grade": {"enum": list(range(11))}},
            "required": ["grade"],
            "additionalProperties": False,
        },
    },
}


def judging_request(question: str, reference: str, answer: str) -> ChatRequest:
    """The judging call: the rubric, then the question and both answers."""
    prompt = (
        f"Question:\n{question}\n\nReference answer:\n{reference}\n\nCandidate answer:\n{answer}"
    )
    return ChatRequest(
        [{"role": "system", "content": RUBRIC}, {"role": "user", "content": prompt}],
        {"max_tokens": JUDGE_MAX_TOKENS, "temperature": 0, "response_format": _GRADE_FORMAT},
    )


async def judging_tokens(
    backend: Backend, judge: ModelConfig, question: str, answer: str, reference_max_tokens: int
) -> int:
    """The most tokens of the judge's context the judging call of ``answer`` to ``question``
    can take (see the module docstring)."""
    request = judging_request(question, "", answer)
    try:
        async with asyncio.timeout(TOKENIZE_WAIT_S):
            counted = await backend.prompt_tokens(judge.upstream, request)
    except (TimeoutError, StellwerkError):
        counted = None
    if counted is None:
        prompt = prompt_bound(request)
    else:  # the text's tokens; the template adds at most this around two messages
        prompt = counted + PER_REQUEST_BOUND + 2 * PER_MESSAGE_BOUND
    return prompt + reference_max_tokens + JUDGE_MAX_TOKENS


class JudgeLimits:
    """What each judge's context takes, as configured and as learned from its refusals."""

    def __init__(self) -> None:
        self._learned: dict[str, int] = {}

    def limit(self, judge: ModelConfig) -> int:
        return min(judge.context_length, self._learned.get(judge.id, judge.context_length))

    def refused(self, judge: ModelConfig, tokens: int) -> None:
        """The judge's server refused a grading counted at ``tokens`` as over its context."""
        self._learned[judge.id] = min(self.limit(judge), tokens - 1)
