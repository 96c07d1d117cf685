"""Choosing a small, a medium and a large model that fit the hardware and the needs.

1. Keep the catalog entries that can do the job: not a base model, servable by the engine,
   every requested language, the openness asked for, the capabilities the use cases need.
2. Of those, keep the ones whose memory (at the engine's quantisation and the context asked
   for) fits the budget: 90 % of the memory, the rest left to the engine's buffers and the
   system. Nothing fits: say so, and name the smallest that would. Without a GPU (``--ram``)
   a model must also be fast enough: each token reads every active weight from memory once,
   so a CPU makes about memory bandwidth / active weight bytes tokens a second; models above
   ``CPU_MAX_ACTIVE_B`` active parameters (about 5 tokens/s at ``CPU_BANDWIDTH_GB_S``) are
   left out, and the set's speed is said.
3. Large is the biggest that fits (by dense-equivalent size, so a mixture of experts counts
   for what it computes); small the one nearest 3.5B (cheap, still fluent); medium the one
   nearest the geometric mean of the two, each class at least 1.5x the one below. A model of a
   preferred family counts as up to 1.5x nearer its target size; on Ollama, a model without a
   library tag (a GGUF file to make by hand) as 1.25x farther. Ties (sizes within ~10 %) go to
   a preferred family, then to the model that suits the use cases better, then (on Ollama) to
   one with a library tag, then to the one listed first in the catalog.
4. Engines that keep every model resident (vLLM, llama.cpp, LocalAI) need the set to fit
   together: large is then the biggest model beside which a small and a medium still fit,
   unless settling for a pair would allow a large more than twice as big.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from stellwerk.configurator.needs import LONG_DOCUMENT_TOKENS, Needs
from stellwerk.modelfacts import BITS_PER_WEIGHT, Catalog, CatalogModel, Quant

SMALL_TARGET_B = 3.5
SEPARATION = 1.5  # each class at least 1.5x the dense-equivalent size of the one below
KEEP_THREE_IF = 0.5  # three classes unless that halves the large model a pair would allow
PREFERENCE = math.log(1.5)  # how much nearer a preferred family's model counts, in log size
# how much farther a model without an Ollama library tag counts on Ollama (in log size): a
# model Ollama pulls wins a near tie over one whose GGUF file must be made by hand first
TAGLESS = math.log(1.25)
ROLE_ALONE = "the only model that meets these needs and fits: it answers every request"
# CPU only: a model above this many active parameters is left out for speed. At Q4_K_M a 15B
# model reads 9 GB per token: about 5.5 tokens/s at CPU_BANDWIDTH_GB_S, a 32B one about 2.5.
CPU_MAX_ACTIVE_B = 15.0
# the memory bandwidth the speed is estimated at: two channels of DDR4-3200 (51 GB/s), a
# common server or desktop; a server with more channels is faster in proportion
CPU_BANDWIDTH_GB_S = 50.0
SIZE_CLASSES_FOR = {1: ("medium",), 2: ("small", "large"), 3: ("small", "medium", "large")}


@dataclass(frozen=True, slots=True)
class Pick:
    size_class: str
    model: CatalogModel
    quant: Quant
    memory_gb: float
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Proposal:
    """The answer: ``picks`` (empty when nothing fits), why others were left out, and, when
    the hardware is too small, the smallest model that meets the other needs."""

    needs: Needs
    picks: tuple[Pick, ...]
    excluded: tuple[tuple[str, str], ...]
    notes: tuple[str, ...]
    smallest: Pick | None = None

    @property
    def fits(self) -> bool:
        return bool(self.picks)

    @property
    def total_memory_gb(self) -> float:
        return sum(p.memory_gb for p in self.picks)


def quant_for(model: CatalogModel, needs: Needs) -> Quant:
    """Ollama serves what its library tag holds; the other engines (and Ollama importing a GGUF
    file, for a model without a library tag) what the needs ask for."""
    if needs.engine == "ollama" and model.ollama_tag is not None:
        return model.ollama_quant
    return needs.default_quant


def memory_for(model: CatalogModel, needs: Needs) -> float:
    return model.memory_gb(quant_for(model, needs), needs.context)


def why_not(model: CatalogModel, needs: Needs) -> str | None:
    """The first need the model fails, or None when it can do the job."""
    if model.variant == "base":
        return "a base model, not tuned to follow instructions"
    if needs.engine == "ollama" and model.ollama_tag is None and model.hf_id is None:
        return "no Ollama library tag and no weights to import"
    if needs.engine != "ollama" and model.hf_id is None:
        return "no Hugging Face weights to serve"
    if not needs.accepts_licence(model.licence):
        return f"licence {model.licence} is not among those accepted ({', '.join(needs.licences)})"
    missing = [code for code in needs.languages if code not in model.languages]
    if missing:
        return f"does not list {', '.join(missing)} among its languages"
    if needs.openness == "fully_open" and model.openness != "fully_open":
        return "open weights only; training data and code are not published"
    if "vision" in needs.use_cases and "vision" not in model.capabilities:
        return "no image input (vision use case)"
    if "vision" in needs.use_cases and needs.engine in ("llamacpp", "localai"):
        return (
            f"the {needs.engine} script starts no image projector (--mmproj) beside the model "
            "(vision use case): for images use --engine ollama or vllm"
        )
    if "tools" in needs.use_cases and "tools" not in model.capabilities:
        return "no function calling (tools use case)"
    if "long_documents" in needs.use_cases and (model.context_length or 0) < LONG_DOCUMENT_TOKENS:
        return f"context below {LONG_DOCUMENT_TOKENS} tokens (long documents use case)"
    active = model.active_params_b or model.params_b
    if not needs.on_gpu and active > CPU_MAX_ACTIVE_B:
        return (
            f"too slow on CPUs: {active:g}B active parameters, read from memory for every token, "
            f"give about {cpu_tokens_per_s(model, needs):.0f} tokens/s at "
            f"{CPU_BANDWIDTH_GB_S:g} GB/s; without a GPU models up to {CPU_MAX_ACTIVE_B:g}B "
            "active are proposed"
        )
    return None


def cpu_tokens_per_s(model: CatalogModel, needs: Needs) -> float:
    """Tokens a second on CPUs, roughly: each token reads every active weight once, so memory
    bandwidth (``CPU_BANDWIDTH_GB_S``) divided by the bytes of the active weights."""
    active = model.active_params_b or model.params_b
    return CPU_BANDWIDTH_GB_S / (active * BITS_PER_WEIGHT[quant_for(model, needs)] / 8)


def suitability(model: CatalogModel, needs: Needs) -> int:
    """Tie-breaker between models of about the same size; higher suits the needs better."""
    score = 3 if needs.prefers(model.family) else 0
    reasoning = "reasoning" in needs.use_cases
    if model.variant == "reasoning":
        score += 2 if reasoning else -2  # thinking models are slow and wordy for plain chat
        if reasoning and needs.engine in ("vllm", "llamacpp") and model.thinking_switch is None:
            score -= 1  # written without thinking there: a request to think could not go to it
    if "tools" in model.capabilities:
        score += 1
    if model.openness == "fully_open":
        score += 1
    if (model.context_length or 0) >= needs.context:
        score += 1
    return score


def propose(catalog: Catalog, needs: Needs) -> Proposal:
    """Raises ``ConfigError`` when the needs name no hardware."""
    needs.memory_gb  # noqa: B018 - fails early, naming the missing option
    order = {m.id: i for i, m in enumerate(catalog)}
    excluded: list[tuple[str, str]] = []
    able: list[CatalogModel] = []
    for model in catalog:
        reason = why_not(model, needs)
        if reason is None:
            able.append(model)
        else:
            excluded.append((model.id, reason))
    if not able:
        return Proposal(
            needs,
            (),
            tuple(excluded),
            (
                "no model in the catalog meets these needs; relax the languages, openness"
                + (", licences" if needs.licences else "")
                + " or use cases",
            ),
        )
    fitting = [m for m in able if memory_for(m, needs) <= needs.budget_gb]
    for model in able:
        if model not in fitting:
            excluded.append(
                (
                    model.id,
                    f"needs {memory_for(model, needs):.1f} GB, more than the "
                    f"{needs.budget_label} GB usable of {needs.memory_label}",
                )
            )
    if not fitting:
        smallest = min(able, key=lambda m: (memory_for(m, needs), order[m.id]))
        return Proposal(
            needs,
            (),
            tuple(excluded),
            (_too_small(smallest, able, needs),),
            smallest=_pick("small", smallest, needs, ()),
        )

    def rank(model: CatalogModel, target_b: float) -> tuple[float, int, bool, int]:
        distance = abs(math.log(model.effective_params_b / target_b))
        tagless = needs.engine == "ollama" and model.ollama_tag is None
        if tagless:  # a GGUF file to make by hand before Ollama serves it, not a pull
            distance += TAGLESS
        if needs.prefers(model.family):  # competes as if up to 1.5x nearer the target size
            distance = max(0.0, distance - PREFERENCE)
        bucket = math.floor(distance / 0.1)
        return (bucket, -suitability(model, needs), tagless, order[model.id])

    if needs.engine_swaps_models:
        chosen = _choose(fitting, needs.budget_gb, needs, rank)
    else:
        chosen = _choose_together(fitting, needs, rank)
    notes: list[str] = []
    classes = SIZE_CLASSES_FOR[len(chosen)]
    picks = tuple(
        _pick(size_class, model, needs, _reasons(size_class, model, needs, alone=len(chosen) == 1))
        for size_class, model in zip(classes, chosen, strict=True)
    )
    if needs.engine_swaps_models:
        notes.append(
            "Ollama loads a model when it is first asked for and unloads idle ones, so each "
            f"model must fit in {needs.budget_label} GB (90 % of {needs.memory_label}) on its own"
        )
    else:
        total = sum(p.memory_gb for p in picks)
        notes.append(
            f"{needs.engine} keeps every model loaded, so the set must fit together: "
            f"{' + '.join(f'{p.memory_gb:.1f}' for p in picks)} = {total:.1f} GB "
            f"of the {needs.budget_label} GB usable (90 % of {needs.memory_label})"
        )
    if not needs.on_gpu:
        notes.append(_cpu_speed(picks, needs))
    return Proposal(needs, picks, tuple(excluded), tuple(notes))


def _cpu_speed(picks: tuple[Pick, ...], needs: Needs) -> str:
    speeds = ", ".join(
        f"about {cpu_tokens_per_s(p.model, needs):.0f} tokens/s for {p.model.id}"
        for p in reversed(picks)
    )
    return (
        "CPU only: every token reads the model's active weights from memory, so the speed is "
        f"about memory bandwidth / their size: at {CPU_BANDWIDTH_GB_S:g} GB/s (two channels of "
        f"DDR4-3200) {speeds}; models above {CPU_MAX_ACTIVE_B:g}B active parameters were left "
        "out for speed"
    )


Rank = Callable[[CatalogModel, float], tuple[float, int, bool, int]]


def _choose(
    fitting: list[CatalogModel], budget: float, needs: Needs, rank: Rank
) -> list[CatalogModel]:
    """Largest, small and medium, each fitting the budget on its own."""
    biggest = max(m.effective_params_b for m in fitting)
    large = min(fitting, key=lambda m: rank(m, biggest))
    return [*_below(large, fitting, budget, needs, rank), large]


def _below(
    large: CatalogModel,
    fitting: list[CatalogModel],
    budget: float,
    needs: Needs,
    rank: Rank,
) -> list[CatalogModel]:
    """Small and medium under ``large``, together within ``budget`` (each alone when the
    engine swaps models); fewer when none are clearly smaller."""
    joint = not needs.engine_swaps_models
    smaller = [
        m
        for m in fitting
        if m.effective_params_b * SEPARATION <= large.effective_params_b
        and memory_for(m, needs) <= budget
    ]
    if not smaller:
        return []
    small = min(smaller, key=lambda m: rank(m, SMALL_TARGET_B))
    room = budget - memory_for(small, needs) if joint else budget
    middle = [
        m
        for m in smaller
        if small.effective_params_b * SEPARATION
        <= m.effective_params_b
        <= large.effective_params_b / SEPARATION
        and memory_for(m, needs) <= room
    ]
    if not middle:
        return [small]
    target = math.sqrt(small.effective_params_b * large.effective_params_b)
    return [small, min(middle, key=lambda m: rank(m, target))]


def _choose_together(fitting: list[CatalogModel], needs: Needs, rank: Rank) -> list[CatalogModel]:
    """The biggest large with a small and a medium beside it, unless a pair (small and
    large) would allow a large more than twice as big; the biggest alone when nothing fits
    beside it."""
    by_size = sorted(fitting, key=lambda m: rank(m, max(f.effective_params_b for f in fitting)))
    pair: list[CatalogModel] | None = None
    for large in by_size:
        room = needs.budget_gb - memory_for(large, needs)
        below = _below(large, fitting, room, needs, rank)
        if len(below) == 2:
            if pair is None or (
                large.effective_params_b >= KEEP_THREE_IF * pair[-1].effective_params_b
            ):
                return [*below, large]
            return pair
        if below and pair is None:
            pair = [*below, large]
    return pair if pair is not None else [by_size[0]]


def _pick(size_class: str, model: CatalogModel, needs: Needs, reasons: Iterable[str]) -> Pick:
    quant = quant_for(model, needs)
    return Pick(size_class, model, quant, model.memory_gb(quant, needs.context), tuple(reasons))


def _reasons(
    size_class: str, model: CatalogModel, needs: Needs, *, alone: bool = False
) -> list[str]:
    quant = quant_for(model, needs)
    context = min(needs.context, model.context_length or needs.context)
    reasons = [
        f"needs {model.memory_gb(quant, needs.context):.1f} GB at {quant} with a "
        f"{context}-token context ({needs.budget_label} GB usable of {needs.memory_label})",
        ROLE_ALONE
        if alone
        else {
            "small": "the cheap, fast model for short and simple requests",
            "medium": "the everyday model between the two",
            "large": "the largest that fits, for the hardest requests",
        }[size_class],
    ]
    if model.is_moe:
        reasons.append(
            f"mixture of experts: {model.params_b:g}B parameters, {model.active_params_b:g}B "
            "active per token, so it runs about as fast as a dense model of that size"
        )
    if needs.languages:
        reasons.append(f"speaks {', '.join(needs.languages)}")
    if model.openness == "fully_open":
        reasons.append("fully open: weights, training data and code are published")
    reasons.append(f"licence {model.licence}")
    if needs.prefers(model.family):
        reasons.append(f"of a preferred family ({model.family})")
    if needs.engine == "ollama" and model.ollama_tag is None:
        reasons.append(
            "no Ollama library tag: imported into Ollama from a GGUF file (the engine script "
            "says how)"
        )
    if model.variant == "reasoning":
        reasons.append("a reasoning model: thinks before answering (slower, better at hard tasks)")
    wanted = {"tools", "vision"} & set(needs.use_cases)
    if wanted:
        reasons.append(f"can do {', '.join(sorted(wanted))}")
    if model.benchmark is not None:
        reasons.append(f"{model.benchmark.name}: {model.benchmark.score:g}")
    return reasons


def _too_small(smallest: CatalogModel, able: list[CatalogModel], needs: Needs) -> str:
    need = memory_for(smallest, needs)
    quant = quant_for(smallest, needs)
    message = (
        f"no model that meets your needs fits in {needs.budget_label} GB (90 % of "
        f"{needs.memory_label}) at {quant} with a "
        f"{needs.context}-token context; the smallest that would is {smallest.id}, "
        f"which needs {need:.1f} GB"
    )
    # a shorter context is suggested only down to what the use cases force: the long_documents
    # use case raises any --context below LONG_DOCUMENT_TOKENS, so "--context 2048" alone would
    # give the same error; dropping that use case is then what to change
    long_documents = "long_documents" in needs.use_cases
    floor = LONG_DOCUMENT_TOKENS if long_documents else 2048
    if needs.context > floor:
        fits = _fits_at(able, needs, floor)
        if fits is not None:
            least = " (the least the long_documents use case takes)" if long_documents else ""
            return message + f" (with --context {floor}{least}, {fits[0]} fits: {fits[1]:.1f} GB)"
    if long_documents:
        for context in (8192, 2048):
            fits = _fits_at(able, needs, context)
            if fits is not None:
                return message + (
                    f" (the long_documents use case needs a {LONG_DOCUMENT_TOKENS}-token "
                    f"context: without it in --use-cases, with --context {context}, {fits[0]} "
                    f"fits: {fits[1]:.1f} GB)"
                )
    return message


def _fits_at(able: list[CatalogModel], needs: Needs, context: int) -> tuple[str, float] | None:
    """The model of ``able`` needing the least memory at ``context`` tokens, and that memory,
    when it fits the budget."""
    short = min(able, key=lambda m: m.memory_gb(quant_for(m, needs), context))
    need = short.memory_gb(quant_for(short, needs), context)
    return (short.id, need) if need <= needs.budget_gb else None
