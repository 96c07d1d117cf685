"""The facts the catalog holds about one open model, and the memory it needs.

Every entry refuses unknown keys. A fact that could not be confirmed is ``null`` and its
reason stands in ``null_reasons`` under the field's name; a ``null`` without a reason, or a
reason for a field that is not ``null``, is an error. So every gap in the catalog is explained.

Memory is derived, not stored, so that it cannot disagree with the parameter count::

    memory_gb = weights_gb + kv_cache_gb + RUNTIME_OVERHEAD_GB
    weights_gb = params_b * bits_per_weight / 8            (GB = 10**9 bytes)
    kv_cache_gb = context * kv_bytes_per_token / 10**9

``bits_per_weight`` is the effective size of a quantisation in llama.cpp's GGUF formats
(Q4_K_M mixes 4- and 6-bit blocks, about 4.85 bits; Q8_0 stores 32 weights in 34 bytes, 8.5
bits) or 16 for unquantised BF16/FP16 weights as vLLM loads them. ``kv_bytes_per_token`` is
``2 (K and V) * layers * kv_heads * head_dim * 2 bytes`` (an FP16 cache) where the catalog holds
the architecture, otherwise ``KV_BYTES_PER_TOKEN_PER_B`` (40 KiB) per billion parameters, at most
``DEFAULT_KV_BYTES_PER_TOKEN`` (256 KiB, what Qwen3 32B needs): above what the models with
grouped-query attention in the catalog need for their size (Llama 3.2 3B: 112 KiB for 3.2B,
Qwen3 4B: 144 KiB, Llama 3.1 8B: 128 KiB), so a small model is not estimated above a bigger one.
A model whose every query head has its own KV head (Olmo 3 7B: 512 KiB) needs more than any such
rule; those have their architecture in the catalog.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from stellwerk.config.base import Strict
from stellwerk.config.plain_text import plain_text

Variant = Literal["base", "instruct", "reasoning"]
Openness = Literal["open_weights", "fully_open"]
MofClass = Literal["class_i_open_science", "class_ii_open_tooling", "class_iii_open_model"]
Capability = Literal["chat", "tools", "vision", "json", "thinking"]
Quant = Literal["q4_k_m", "q8_0", "f16"]

BITS_PER_WEIGHT: dict[str, float] = {"q4_k_m": 4.85, "q8_0": 8.5, "f16": 16.0}
QUANTS: tuple[Quant, ...] = ("q4_k_m", "q8_0", "f16")
DEFAULT_KV_BYTES_PER_TOKEN = 256 * 1024
KV_BYTES_PER_TOKEN_PER_B = 40 * 1024
RUNTIME_OVERHEAD_GB = 1.0
MAX_PARAMS_B = 100_000.0  # 100 trillion parameters: far above any model there is
MAX_CONTEXT = 100_000_000

NULLABLE_FACTS = (
    "active_params_b",
    "context_length",
    "mof_class",
    "ollama_tag",
    "hf_id",
    "benchmark",
)

_ID = re.compile(r"^[a-z0-9][a-z0-9.-]{1,63}$")
_LANG = re.compile(r"^[a-z]{2,3}$")
_OLLAMA = re.compile(r"^[a-z0-9][a-z0-9._/-]*:[A-Za-z0-9][A-Za-z0-9._-]*$")
_HF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")


class Benchmark(Strict):
    """One published score, with where it was published."""

    name: str = Field(min_length=2)
    score: float = Field(ge=0, le=100)
    source: str

    _text = field_validator("name", "source")(plain_text)

    @field_validator("source")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith("https://"):
            raise ValueError(f"{value!r}: a benchmark source must be an https URL")
        return value


class Architecture(Strict):
    """The numbers that size the KV cache; taken from the model card or config."""

    layers: int = Field(gt=0)
    kv_heads: int = Field(gt=0)
    head_dim: int = Field(gt=0)

    def kv_bytes_per_token(self) -> int:
        return 2 * self.layers * self.kv_heads * self.head_dim * 2


class CatalogModel(Strict):
    """One model worth running locally; facts only, each traceable to ``sources``."""

    id: str
    family: str = Field(min_length=2)
    name: str = Field(min_length=2)
    variant: Variant
    params_b: float = Field(gt=0, le=MAX_PARAMS_B, description="total parameters, billions")
    active_params_b: float | None = Field(default=None, gt=0, le=MAX_PARAMS_B)
    licence: str = Field(min_length=2)
    licence_url: str
    openness: Openness
    mof_class: MofClass | None = None
    languages: tuple[str, ...] = Field(min_length=1)
    languages_note: str | None = None
    context_length: int | None = Field(default=None, gt=0, le=MAX_CONTEXT)
    capabilities: tuple[Capability, ...] = ("chat",)
    architecture: Architecture | None = None
    # the chat template's variable that turns a reasoning model's thinking on and off
    # (``enable_thinking`` of Qwen3's); none: the model thinks whenever it answers
    thinking_switch: str | None = None
    ollama_tag: str | None = None
    ollama_size_gb: float | None = Field(default=None, gt=0, le=MAX_PARAMS_B * 4)
    ollama_quant: Quant = "q4_k_m"
    hf_id: str | None = None
    benchmark: Benchmark | None = None
    sources: tuple[str, ...] = Field(min_length=1)
    null_reasons: dict[str, str] = Field(default_factory=dict)

    # shown by `stellwerk init` and written into the header of the config it writes: one line
    # of plain text each, so that no entry can add a line of its own (config.plain_text)
    _text = field_validator("family", "name", "licence", "languages_note")(plain_text)

    @field_validator("id")
    @classmethod
    def _id_shape(cls, value: str) -> str:
        # the id becomes a model id of the config `stellwerk init` writes: a catalog id must be
        # one the config takes (config.schema.ModelConfig), never a route's
        if not _ID.match(value):
            raise ValueError(
                f"{value!r}: ids are lowercase letters, digits, '.' and '-' (2 to 64, starting"
                " with a letter or digit)"
            )
        if value.startswith("auto"):
            raise ValueError(f"{value!r}: ids starting with 'auto' are reserved for routes")
        return value

    @field_validator("null_reasons")
    @classmethod
    def _reasons(cls, value: dict[str, str]) -> dict[str, str]:
        for reason in value.values():
            plain_text(reason)
        return value

    @field_validator("languages")
    @classmethod
    def _codes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for code in value:
            if not _LANG.match(code):
                raise ValueError(f"{code!r} is not an ISO 639 language code")
        if len(set(value)) != len(value):
            raise ValueError("a language is listed twice")
        return value

    @field_validator("thinking_switch")
    @classmethod
    def _switch(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,63}", value):
            raise ValueError(f"{value!r} is not a chat template variable's name")
        return value

    @field_validator("ollama_tag")
    @classmethod
    def _tag(cls, value: str | None) -> str | None:
        if value is not None and not _OLLAMA.match(value):
            raise ValueError(f"{value!r} is not an Ollama 'name:tag'")
        return value

    @field_validator("hf_id")
    @classmethod
    def _hf(cls, value: str | None) -> str | None:
        if value is not None and not _HF.match(value):
            raise ValueError(f"{value!r} is not a Hugging Face 'owner/name' id")
        return value

    @field_validator("sources", "licence_url")
    @classmethod
    def _https(cls, value: str | tuple[str, ...]) -> str | tuple[str, ...]:
        for url in (value,) if isinstance(value, str) else value:
            if not url.startswith("https://"):
                raise ValueError(f"{url!r} is not an https URL")
            plain_text(url)
        return value

    @model_validator(mode="after")
    def _consistent(self) -> CatalogModel:
        for name in NULLABLE_FACTS:
            missing = getattr(self, name) is None
            explained = name in self.null_reasons
            if missing and not explained:
                raise ValueError(f"{name} is null: say why in null_reasons.{name}")
            if explained and not missing:
                raise ValueError(f"null_reasons.{name} explains a field that is set")
        unknown = set(self.null_reasons) - set(NULLABLE_FACTS)
        if unknown:
            raise ValueError(f"null_reasons names unknown fields: {', '.join(sorted(unknown))}")
        if self.active_params_b is not None and self.active_params_b > self.params_b:
            raise ValueError("active_params_b exceeds params_b")
        if self.ollama_tag is None and self.hf_id is None:
            raise ValueError("a model needs an Ollama tag or a Hugging Face id to be served")
        if self.ollama_tag is None and (
            self.ollama_size_gb is not None or self.ollama_quant != "q4_k_m"
        ):
            raise ValueError("ollama_size_gb or ollama_quant without an ollama_tag")
        if "chat" not in self.capabilities and self.variant != "base":
            raise ValueError("an instruct or reasoning model must list the 'chat' capability")
        if (self.variant == "reasoning") != ("thinking" in self.capabilities):
            raise ValueError("a reasoning model, and only one, lists the 'thinking' capability")
        if self.thinking_switch is not None and self.variant != "reasoning":
            raise ValueError("thinking_switch is for a reasoning model")
        return self

    @property
    def is_moe(self) -> bool:
        return self.active_params_b is not None and self.active_params_b < self.params_b

    @property
    def effective_params_b(self) -> float:
        """Dense-equivalent size: the total for dense models, sqrt(total x active) for
        mixtures of experts (a common rule of thumb), the total when the active count is
        unknown."""
        if self.active_params_b is None:
            return self.params_b
        return float((self.params_b * self.active_params_b) ** 0.5)

    def weights_gb(self, quant: Quant) -> float:
        return self.params_b * BITS_PER_WEIGHT[quant] / 8

    def kv_cache_gb(self, context: int) -> float:
        per_token = (
            self.architecture.kv_bytes_per_token()
            if self.architecture is not None
            else min(DEFAULT_KV_BYTES_PER_TOKEN, KV_BYTES_PER_TOKEN_PER_B * self.params_b)
        )
        return context * per_token / 1e9

    def memory_gb(self, quant: Quant, context: int) -> float:
        """GPU memory (or RAM) to serve this model at ``quant`` with ``context`` tokens."""
        tokens = min(context, self.context_length or context)
        return self.weights_gb(quant) + self.kv_cache_gb(tokens) + RUNTIME_OVERHEAD_GB
