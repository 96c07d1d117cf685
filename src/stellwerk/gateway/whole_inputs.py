"""Embedding inputs that may not be cut (Ollama's ``truncate: false``): each is refused with a
400 naming it rather than embedded in part. Two checks, both against the backend's own
tokenizer (``Backend.prompt_tokens``), each input counted at most once:

1. before the call, an input over the model's configured ``context_length``
   (``refuse_over_context``);
2. after it, an input the backend cut at a smaller limit of its own (llama.cpp embeds at most
   its batch, ``n_batch``/``n_ubatch``, whatever the context): the backend's answer reports
   fewer tokens evaluated than the inputs have (``refuse_cut``).

Each refusal names the limit that applies, so that an input shortened to it is embedded: the
smaller of the context and the backend's own limit. The backend's limit is learned from its
answers (the tokens it evaluated of an input it cut) and kept by backend and model
(``EmbedLimits``, the caller's); an input over the context of a model whose backend's limit
is not known yet is embedded once on its own, its vector unused, to learn it (a backend that
refuses it instead leaves the context named). That probe has a time limit of its own
(``probe_s``: in the gateway half the call's total time limit, at most ``PROBE_S``): the refusal
is certain before it is asked, so a backend too slow to answer it leaves the context named (a
later answer that cuts an input still teaches the limit) rather than keeping the client waiting
for it or turning the 400 into a 504.

What each check costs (besides that one embedding of an input refused anyway): an input's
bound (its bytes plus a per-input allowance, ``backends.tokens.inputs_bound``) is at least its
tokens, so the first counts only an input whose bound is over the context. The second has no
limit to hold a bound against (a limit learned earlier only words refusals: the server may
have been restarted with another), only the answer's count of tokens evaluated, which real text
reaches at about a quarter of its bound: an input the backend embedded whole and one it cut at
a limit that small get the same answer. So it counts every input, one tokenizer request each
(an input is counted once for both checks).

Where the backend has no tokenizer, or its answer does not report its own count, neither
check can tell: the backend was asked not to cut either, and its refusal is the answer
(``backends.transport.raise_for_status`` makes it a ``ContextExceeded`` too). A tokenizer
that stalls or fails is the backend failing (``Caller.embed`` asks it within the call's time
limit, and its ``UpstreamError`` is the answer).

Who asks for it, and in whose words (a ``Wording``): Ollama's ``/api/embed`` and ``/api/embeddings``
with ``truncate: false`` (``ollama_words``), OpenAI's ``/v1/embeddings`` unless told it may cut
(``openai_words``: OpenAI's API never cuts an input, it refuses one over the model's limit with
a message that client libraries know, "maximum context length")."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from stellwerk.backends.base import Backend
from stellwerk.backends.tokens import inputs_bound
from stellwerk.backends.types import ChatRequest, EmbedResult
from stellwerk.config.schema import ModelConfig
from stellwerk.errors import ContextExceeded, StellwerkError, context_words


@dataclass(frozen=True, slots=True)
class Overlong:
    """An input that may not be cut and would be: what its refusal tells."""

    where: str  # the input's place in the request: input, input.1, prompt
    tokens: int  # its length, as the backend's tokenizer counts it
    limit: int  # the most the model embeds of one input
    model: str
    context: int  # the model's configured context_length
    by_backend: bool  # the limit is the backend's own, smaller than the context


Wording = Callable[[Overlong], str]

#: The most time, in seconds, the probe of a backend's limit may take (``WholeInputs.probe_s``)
PROBE_S = 30.0


class EmbedLimits:
    """The most each backend was seen to embed of one input, by backend and model: learned
    from an answer that evaluated fewer tokens than an input has (it cut it there)."""

    def __init__(self) -> None:
        #: the limit, or None where asking taught nothing (embedded whole, no count, refused or
        #: failed): either way not asked again, so an over-long input costs no second embedding
        self._seen: dict[tuple[str, str], int | None] = {}

    def of(self, backend: str, model: str) -> int | None:
        return self._seen.get((backend, model))

    def asked(self, backend: str, model: str) -> bool:
        """Whether the backend was asked before: learned or not, it is not asked again."""
        return (backend, model) in self._seen

    def learned(self, backend: str, model: str, limit: int | None) -> None:
        """What asking taught: the limit, or None (nothing to learn)."""
        self._seen[backend, model] = limit


def ollama_words(refused: Overlong) -> str:
    """Ollama's ``truncate: false``: its own words ("the input length exceeds the context
    length"), with the numbers."""
    advice = "and truncate is false: shorten the input, or leave out truncate to have it cut"
    if not refused.by_backend:
        return (
            f"{refused.where}: the input length ({refused.tokens} tokens) exceeds the context"
            f" length of model {refused.model!r} ({refused.context} tokens), {advice} to the"
            " context"
        )
    return (
        f"{refused.where}: the input length ({refused.tokens} tokens) exceeds what the backend"
        f" of model {refused.model!r} embeds ({refused.limit} tokens, less than the model's"
        f" context length of {refused.context}); it would be cut, {advice}"
    )


def openai_words(refused: Overlong) -> str:
    """OpenAI's refusal of an over-long input ("This model's maximum context length is N
    tokens, however you requested M tokens"), which litellm and LangChain tell apart from other
    400s, with the place and the gateway's opt-out."""
    said = (
        f"{refused.where}: {context_words(refused.limit)},"
        f" however you requested {refused.tokens} tokens (the length of {refused.where})"
    )
    if refused.by_backend:
        said += (
            f"; the backend of model {refused.model!r} embeds at most {refused.limit} tokens of"
            f" an input (less than the model's context length of {refused.context}) and would"
            " cut it"
        )
    return said + '. Please shorten the input, or send "truncate": true to have it cut.'


class WholeInputs:
    """The inputs of one embedding request that may not be cut, and their token counts as the
    backend's tokenizer gives them (asked once per input, when a check needs it)."""

    def __init__(
        self,
        backend: Backend,
        model: ModelConfig,
        inputs: list[str],
        wording: Wording,
        field: str = "input",
        limits: EmbedLimits | None = None,
        probe_s: float | None = None,
    ) -> None:
        self.backend = backend
        self.probe_s = probe_s  # the most the probe of the limit may take (None: no limit)
        self.limits = limits if limits is not None else EmbedLimits()
        self.field = field  # the request's name for its inputs
        self.wording = wording
        self.model = model
        self.inputs = inputs
        self._counts: dict[int, int | None] = {}

    async def tokens(self, index: int) -> int | None:
        if index not in self._counts:
            request = ChatRequest([], prompt=self.inputs[index])
            self._counts[index] = await self.backend.prompt_tokens(self.model.upstream, request)
        return self._counts[index]

    def where(self, index: int) -> str:
        return self.field if len(self.inputs) == 1 else f"{self.field}.{index}"

    async def refuse_over_context(self) -> None:
        """Raise ``ContextExceeded`` for the first input over the model's ``context_length``,
        naming the backend's own limit where it is smaller (``backend_limit``). An input whose
        bound (its bytes) fits is not counted."""
        context = self.model.context_length
        for index, text in enumerate(self.inputs):
            if inputs_bound([text]) <= context:
                continue
            tokens = await self.tokens(index)
            if tokens is None:
                return
            if tokens > context:
                limit = await self.backend_limit(index, tokens)
                if limit is not None and limit < context:
                    self._refuse(index, tokens, limit, by_backend=True)
                self._refuse(index, tokens, context, by_backend=False)

    async def backend_limit(self, index: int, tokens: int) -> int | None:
        """The most the backend embeds of one input, learned before or now from its answer to
        input ``index`` (of ``tokens`` tokens) alone; None where it is not known: the backend
        embedded the input whole, reported no count, refused or failed it, or did not answer
        within ``probe_s``."""
        name, upstream = self.backend.name, self.model.upstream
        if self.limits.asked(name, upstream):  # once per backend and model, learned or not
            return self.limits.of(name, upstream)
        try:
            async with asyncio.timeout(self.probe_s):
                result = await self.backend.embed(upstream, [self.inputs[index]], None)
        except (StellwerkError, TimeoutError):  # refused, failed or too slow: the refusal
            self.limits.learned(name, upstream, None)  # names the context, as it did before
            return None
        evaluated = result.prompt_tokens
        cut = result.usage_source == "backend" and 0 < evaluated < tokens
        self.limits.learned(name, upstream, evaluated if cut else None)
        return evaluated if cut else None

    async def refuse_cut(self, result: EmbedResult) -> None:
        """Raise ``ContextExceeded`` for the first input the backend cut: its answer counts
        fewer tokens evaluated than the inputs have. Each input's share of what was evaluated
        is read as one limit the backend cut them all at (``_cut_at``)."""
        evaluated = result.prompt_tokens
        if result.usage_source != "backend" or evaluated <= 0:
            return  # the backend's count is not known (some servers answer a usage of 0)
        if evaluated >= inputs_bound(self.inputs):
            return  # nothing can have been cut (only where a text has a token per byte)
        counts: list[int] = []
        for index in range(len(self.inputs)):
            tokens = await self.tokens(index)
            if tokens is None:
                return
            counts.append(tokens)
        if evaluated >= sum(counts):
            return
        limit = _cut_at(counts, evaluated)
        self.limits.learned(self.backend.name, self.model.upstream, limit)
        index = next(i for i, tokens in enumerate(counts) if tokens > limit)
        self._refuse(index, counts[index], limit, by_backend=True)

    def _refuse(self, index: int, tokens: int, limit: int, *, by_backend: bool) -> None:
        where = self.where(index)
        model = self.model
        refused = Overlong(where, tokens, limit, model.id, model.context_length, by_backend)
        raise ContextExceeded(
            self.wording(refused), prompt_tokens=tokens, context=limit, param=where
        )


def _cut_at(counts: list[int], evaluated: int) -> int:
    """The largest per-input limit under which inputs of ``counts`` tokens add up to at most
    ``evaluated`` tokens: for one input, ``evaluated`` itself."""
    low, high = 0, max(counts)
    while low < high:
        middle = (low + high + 1) // 2
        if sum(min(tokens, middle) for tokens in counts) <= evaluated:
            low = middle
        else:
            high = middle - 1
    return low
