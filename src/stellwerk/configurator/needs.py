"""What the organisation has and wants: the configurator's input, checked once."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, get_args

from stellwerk.config.schema import Classification
from stellwerk.errors import ConfigError
from stellwerk.modelfacts import Quant

Engine = Literal["ollama", "vllm", "llamacpp", "localai"]
UseCase = Literal["chat", "code", "reasoning", "tools", "vision", "long_documents", "translation"]
OpennessNeed = Literal["any", "fully_open"]

ENGINES: tuple[Engine, ...] = get_args(Engine)
USE_CASES: tuple[UseCase, ...] = get_args(UseCase)
CLASSIFICATIONS: tuple[Classification, ...] = get_args(Classification)
OPENNESS: tuple[OpennessNeed, ...] = get_args(OpennessNeed)
LONG_DOCUMENT_TOKENS = 32768
MIN_CONTEXT = 512
MAX_CONTEXT = 1_048_576
# what a list option means when it is left out (a given one that names nothing is refused)
LEFT_OUT = {
    "--languages": ("language", "any language"),
    "--use-cases": ("use case", "chat"),
    "--classifications": ("data classification", "internal"),
    "--licences": ("licence", "any licence"),
    "--prefer-families": ("model family", "no preference"),
}
# Licences approved by the Open Source Initiative, as the catalog spells them (``--licences osi``);
# community licences with use restrictions (Llama, Gemma) are not among them.
OSI_LICENCES = frozenset({"apache-2.0", "mit", "bsd-2-clause", "bsd-3-clause", "mpl-2.0"})

HEADROOM = 0.9
MAX_MEMORY_GB = 100_000.0

_LANG = re.compile(r"^[a-z]{2,3}$")


@dataclass(frozen=True, slots=True)
class Needs:
    """The hardware, the serving engine and the requirements a model set must meet.

    ``gpu_memory_gb`` is the GPU memory the engine may use: all GPUs' together for Ollama and
    llama.cpp, which spread a model's layers over every GPU they see; one GPU's for vLLM, whose
    servers the engine script starts on the first GPU, each with a share of its memory. Without
    it the models run from ``ram_gb`` on the CPU. One of the two is needed to propose models (not to
    discover what a server already runs). ``context`` is the context window every model is served
    with, and what the memory estimate is computed for; the ``long_documents`` use case raises
    it to at least ``LONG_DOCUMENT_TOKENS`` (``stellwerk init`` refuses a shorter ``--context``
    the user gave instead: ``cli.init_options.context``). ``licences`` are the only licences
    accepted (as the catalog spells them, compared without case; ``osi`` stands for every
    OSI-approved one), empty for any;
    ``families`` are preferred model families (lower case), which win among models of about the
    same size.
    """

    engine: Engine = "ollama"
    gpu_memory_gb: float | None = None
    ram_gb: float | None = None
    languages: tuple[str, ...] = ()
    openness: OpennessNeed = "any"
    use_cases: tuple[UseCase, ...] = ("chat",)
    classifications: tuple[Classification, ...] = ("internal",)
    context: int = 8192
    quant: Quant | None = None
    licences: tuple[str, ...] = ()
    families: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise ConfigError(f"--engine: {self.engine!r} is not one of {', '.join(ENGINES)}")
        for option, value in (("--gpu-memory", self.gpu_memory_gb), ("--ram", self.ram_gb)):
            if value is not None and not 0 < value <= MAX_MEMORY_GB:
                raise ConfigError(
                    f"{option}: {value:g} GB is not a usable amount of memory (give more than 0"
                    f" and at most {MAX_MEMORY_GB:g} GB)"
                )
        if self.quant is not None and self.engine == "ollama":
            raise ConfigError(ollama_quant_refusal(self.quant))
        if self.quant not in (None, "f16") and self.engine == "vllm":
            raise ConfigError(vllm_quant_refusal(self.quant))
        if self.engine == "vllm" and self.gpu_memory_gb is None and self.ram_gb is not None:
            raise ConfigError("--engine vllm needs a GPU: give --gpu-memory GB")
        for code in self.languages:
            if not _LANG.match(code):
                raise ConfigError(
                    f"--languages: {code!r} is not an ISO 639 code (use de, en, fr ...)"
                )
        if self.openness not in OPENNESS:
            raise ConfigError(f"--openness: {self.openness!r} is not one of any, fully-open")
        for case in self.use_cases:
            if case not in USE_CASES:
                raise ConfigError(f"--use-cases: {case!r} is not one of {', '.join(USE_CASES)}")
        if not self.classifications:
            raise ConfigError("--classifications: name at least one data classification")
        for level in self.classifications:
            if level not in CLASSIFICATIONS:
                raise ConfigError(
                    f"--classifications: {level!r} is not one of {', '.join(CLASSIFICATIONS)}"
                )
        if not MIN_CONTEXT <= self.context <= MAX_CONTEXT:
            raise ConfigError(
                f"--context: {self.context} tokens is outside {MIN_CONTEXT} .. {MAX_CONTEXT}"
            )
        if "long_documents" in self.use_cases and self.context < LONG_DOCUMENT_TOKENS:
            # frozen: the one normalisation, made once, so every later step reads the context
            # the models are really served with
            object.__setattr__(self, "context", LONG_DOCUMENT_TOKENS)

    def accepts_licence(self, licence: str) -> bool:
        if not self.licences:
            return True
        name = licence.strip().lower()
        accepted = {item.strip().lower() for item in self.licences}
        return name in accepted or ("osi" in accepted and name in OSI_LICENCES)

    def prefers(self, family: str) -> bool:
        return family.strip().lower() in self.families

    @property
    def on_gpu(self) -> bool:
        return self.gpu_memory_gb is not None

    @property
    def has_hardware(self) -> bool:
        return self.gpu_memory_gb is not None or self.ram_gb is not None

    @property
    def memory_gb(self) -> float:
        """The budget models must fit in: the GPU's memory when there is one, else RAM."""
        budget = self.gpu_memory_gb if self.gpu_memory_gb is not None else self.ram_gb
        if budget is None:
            raise ConfigError("give the hardware: --gpu-memory GB or --ram GB")
        return budget

    @property
    def budget_gb(self) -> float:
        """What the models may use of ``memory_gb``: 90 %, the rest left to the engine's own
        buffers, the operating system and (vLLM) the CUDA context outside its share."""
        return self.memory_gb * HEADROOM

    @property
    def budget_label(self) -> str:
        """``budget_gb`` as said: tenths, or hundredths below 1 GB (90 % of 0.5 GB is 0.45 GB,
        not 0.5)."""
        return f"{self.budget_gb:.1f}" if self.budget_gb >= 1 else f"{self.budget_gb:.2f}"

    @property
    def memory_label(self) -> str:
        return f"{self.memory_gb:g} GB {'GPU memory' if self.on_gpu else 'RAM'}"

    @property
    def default_quant(self) -> Quant:
        """vLLM serves the published BF16 weights; the GGUF engines a 4-bit quantisation."""
        if self.quant is not None:
            return self.quant
        return "f16" if self.engine == "vllm" else "q4_k_m"

    @property
    def highest_classification(self) -> Classification:
        return max(self.classifications, key=CLASSIFICATIONS.index)

    @property
    def engine_swaps_models(self) -> bool:
        """Ollama loads a model on first use and evicts idle ones when memory runs short;
        vLLM, llama.cpp and LocalAI keep every served model resident, so those must fit
        together."""
        return self.engine == "ollama"


def ollama_quant_refusal(quant: str) -> str:
    """Why ``--quant`` is refused with Ollama (rather than silently ignored)."""
    return (
        f"--quant {quant} does not apply to --engine ollama: Ollama serves the quantisation its "
        "library tag holds (a model without one is imported at q4_k_m); leave --quant out, or "
        "choose it with --engine llamacpp, localai or vllm"
    )


def vllm_quant_refusal(quant: str) -> str:
    """Why a GGUF quantisation is refused with vLLM: the script serves the published BF16
    weights the catalog names, so a model sized at 4 or 8 bits would load at 16 and not fit."""
    return (
        f"--quant {quant} does not apply to --engine vllm: {quant} is a GGUF quantisation "
        "(llama.cpp, LocalAI); vLLM serves the published BF16 weights the catalog names "
        "(--quant f16), and quantised weights only from checkpoints made for it (AWQ, GPTQ or "
        "FP8 repositories, --quantization awq, gptq or fp8), which the catalog does not name; "
        f"leave --quant out, or choose {quant} with --engine llamacpp or localai"
    )


def split_list(value: str | None, option: str) -> tuple[str, ...]:
    """``"de, en"`` -> ``("de", "en")``; empty items dropped, lower-cased, order kept; an item
    given twice (in any case) is a ``ConfigError`` naming ``option`` and the item, as the
    config's own lists refuse a name twice. ``None`` (the option left out) is ``()``; a value
    that names nothing (``""``, ``","``) is refused (``listed``)."""
    if value is None:
        return ()
    given = listed(value, option)
    once(option, given, lambda item: item.lower().replace("-", "_"))
    return tuple(item.lower().replace("-", "_") for item in given)


def language_codes(value: str | None) -> tuple[str, ...]:
    """``--languages``, each code checked as the user spelt it (``'German' is not an ISO 639
    code``), then lower-cased."""
    if value is None:
        return ()
    given = listed(value, "--languages")
    for code in given:
        if not _LANG.match(code.lower()):
            raise ConfigError(f"--languages: {code!r} is not an ISO 639 code (use de, en, fr ...)")
    once("--languages", given, str.lower)
    return tuple(code.lower() for code in given)


def listed(value: str, option: str) -> list[str]:
    """The items of a list option's ``value`` as given (blanks around each dropped), at least
    one: ``--languages ""`` is more likely an empty variable than a choice, so a value that
    names nothing is a ``ConfigError`` saying what leaving the option out means."""
    items = [item.strip() for item in value.replace(";", ",").split(",") if item.strip()]
    if not items:
        what, meaning = LEFT_OUT[option]
        raise ConfigError(f"{option}: {value!r} names no {what}; leave {option} out for {meaning}")
    return items


def once(option: str, items: Sequence[str], same: Callable[[str], str]) -> None:
    """Refuses an item of ``option``'s list given twice (``same`` spells it as compared),
    naming both spellings when they differ."""
    seen: dict[str, str] = {}
    for item in items:
        key = same(item)
        if key in seen:
            also = f" (as {seen[key]!r} too)" if seen[key] != item else ""
            raise ConfigError(f"{option}: {item!r} is given twice{also}; give each once")
        seen[key] = item
