"""Tiny random-weight llama models in GGUF, written in milliseconds for the demo and the tests.

The models are real llama-architecture GGUF files that llama.cpp loads and runs, but their weights
are random: what they generate is noise. They exist so that the HTTP surface, token counts and
streaming of a real llama.cpp server can be exercised without downloading anything.

Shape of a model:

- a byte-level BPE vocabulary (GPT-2's byte-to-character mapping, no effective merges): token ``b``
  is the byte ``b`` (0..255), then ``<s>`` (BOS, 256) and ``</s>`` (EOS, 257). Every text
  tokenises to one token per UTF-8 byte (plus BOS) and every generated token is exactly one byte;
- a chat template in ``tokenizer.chat_template`` so ``/v1/chat/completions`` works;
- weights drawn from ``numpy.random.default_rng(seed)``: same spec and seed, same bytes.

One residual dimension is held constant, which gives the output layer a fixed bias: generation
prefers printable ASCII and never chooses EOS or BOS, so a completion always runs to
``max_tokens`` (predictable token counts for tests) and its text is readable noise.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import gguf
    import numpy as np
    import numpy.typing as npt

    FloatArray = npt.NDArray[np.float32]

#: Token ids: byte ``b`` is token ``b``; then the two special tokens.
BOS_ID = 256
EOS_ID = 257
VOCAB_SIZE = 258

#: A plain role-tagged template. llama-cpp-python adds no BOS to a rendered template, so the
#: template starts with it; newlines are written as expressions because the server renders with
#: ``trim_blocks`` (a newline right after a block tag would vanish).
CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{% for message in messages %}"
    "<|{{ message['role'] }}|>{{ '\\n' }}"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% elif message['content'] %}"
    "{% for part in message['content'] %}{% if part['type'] == 'text' %}{{ part['text'] }}"
    "{% endif %}{% endfor %}"
    "{% endif %}{{ '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{{ '\\n' }}{% endif %}"
)

_CONSTANT_DIM_VALUE = 8.0  # value of residual dimension 0 in every token embedding
_PREFERRED_BIAS = 1.0  # printable ASCII and newline
_DISPREFERRED_BIAS = -1.0  # other bytes
_FORBIDDEN_BIAS = -8.0  # BOS, EOS: never generated
#: llama.cpp refuses a BPE vocabulary without merges; this one never changes a tokenisation
#: (its result is no token, so llama.cpp falls back to the two single bytes).
_NO_OP_MERGE = "a b"


@dataclass(frozen=True, slots=True)
class TinyModelSpec:
    """The shape of a tiny model; ``width`` must be a multiple of ``heads``, head size even."""

    name: str
    layers: int = 2
    width: int = 64
    heads: int = 4
    kv_heads: int = 2
    ffn_width: int = 128
    context_length: int = 2048
    seed: int = 0

    def __post_init__(self) -> None:
        problems = []
        if self.layers < 1:
            problems.append(f"layers must be >= 1, got {self.layers}")
        if self.heads < 1 or self.kv_heads < 1 or self.heads % self.kv_heads:
            problems.append(
                f"heads ({self.heads}) must be a positive multiple of kv_heads ({self.kv_heads})"
            )
        elif self.width % self.heads or (self.width // self.heads) % 2:
            problems.append(
                f"width ({self.width}) must split into {self.heads} heads of an even size"
            )
        if self.ffn_width < 1:
            problems.append(f"ffn_width must be >= 1, got {self.ffn_width}")
        if self.context_length < 16:
            problems.append(f"context_length must be >= 16, got {self.context_length}")
        if problems:
            raise ValueError(f"tiny model {self.name!r}: " + "; ".join(problems))

    @property
    def head_size(self) -> int:
        return self.width // self.heads

    @property
    def parameter_count(self) -> int:
        kv_width = self.head_size * self.kv_heads
        per_layer = (
            2 * self.width * self.width  # q, output
            + 2 * kv_width * self.width  # k, v
            + 3 * self.ffn_width * self.width  # gate, up, down
            + 2 * self.width  # the two norms
        )
        return self.layers * per_layer + 2 * VOCAB_SIZE * self.width + self.width


#: The three demo sizes, served as small / medium / large.
SIZES: dict[str, TinyModelSpec] = {
    "small": TinyModelSpec(
        name="tiny-small", layers=2, width=64, heads=4, kv_heads=2, ffn_width=128
    ),
    "medium": TinyModelSpec(
        name="tiny-medium", layers=4, width=96, heads=4, kv_heads=2, ffn_width=192, seed=1
    ),
    "large": TinyModelSpec(
        name="tiny-large", layers=6, width=128, heads=4, kv_heads=2, ffn_width=256, seed=2
    ),
}


def expected_token_ids(text: str, *, add_bos: bool = True) -> list[int]:
    """The token ids llama.cpp produces for ``text`` with these models: one per UTF-8 byte."""
    return ([BOS_ID] if add_bos else []) + list(text.encode("utf-8"))


def chat_prompt(messages: Sequence[Mapping[str, object]]) -> str:
    """The prompt ``CHAT_TEMPLATE`` renders for ``messages`` (with the generation prompt)."""
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    template = ImmutableSandboxedEnvironment().from_string(CHAT_TEMPLATE)
    return template.render(messages=messages, bos_token="<s>", add_generation_prompt=True)


def chat_prompt_tokens(messages: Sequence[Mapping[str, object]]) -> int:
    """``usage.prompt_tokens`` a llama.cpp server reports for ``messages`` with these models:
    BOS plus one token per UTF-8 byte of the rendered prompt."""
    return 1 + len(chat_prompt(messages).removeprefix("<s>").encode("utf-8"))


def write_tiny_model(spec: TinyModelSpec, path: Path) -> Path:
    """Write ``spec`` as a GGUF file at ``path`` (parent folders created) and return the path."""
    import gguf

    path.parent.mkdir(parents=True, exist_ok=True)
    writer = gguf.GGUFWriter(path, "llama")
    try:
        _add_metadata(writer, spec)
        _add_vocabulary(writer)
        for name, tensor in _weights(spec):
            writer.add_tensor(name, tensor)
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
    finally:
        writer.close()
    return path


def write_demo_models(folder: Path) -> dict[str, Path]:
    """Write the three demo sizes into ``folder``; returns size name -> file."""
    return {
        size: write_tiny_model(spec, folder / f"{spec.name}.gguf") for size, spec in SIZES.items()
    }


def _add_metadata(writer: gguf.GGUFWriter, spec: TinyModelSpec) -> None:
    import gguf

    writer.add_name(spec.name)
    writer.add_description("random weights (Stellwerk demo model): generates noise")
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    writer.add_vocab_size(VOCAB_SIZE)
    writer.add_context_length(spec.context_length)
    writer.add_embedding_length(spec.width)
    writer.add_block_count(spec.layers)
    writer.add_feed_forward_length(spec.ffn_width)
    writer.add_head_count(spec.heads)
    writer.add_head_count_kv(spec.kv_heads)
    writer.add_rope_dimension_count(spec.head_size)
    writer.add_rope_freq_base(10000.0)
    writer.add_layer_norm_rms_eps(1e-5)
    # Only used when a server loads the model with embeddings on: one vector per input.
    writer.add_pooling_type(gguf.PoolingType.MEAN)


def _add_vocabulary(writer: gguf.GGUFWriter) -> None:
    import gguf

    tokens = [*_byte_characters(), "<s>", "</s>"]
    types = [gguf.TokenType.NORMAL] * 256 + [gguf.TokenType.CONTROL] * 2
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("gpt-2")
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    writer.add_token_merges([_NO_OP_MERGE])
    writer.add_bos_token_id(BOS_ID)
    writer.add_eos_token_id(EOS_ID)
    writer.add_add_bos_token(True)
    writer.add_add_eos_token(False)
    writer.add_chat_template(CHAT_TEMPLATE)


def _byte_characters() -> list[str]:
    """GPT-2's reversible byte -> character map: printable Latin-1 bytes stand for themselves,
    the others for the characters from U+0100 on, in byte order."""
    printable = {*range(0x21, 0x7F), *range(0xA1, 0xAD), *range(0xAE, 0x100)}
    characters, shifted = [], 0
    for value in range(256):
        if value in printable:
            characters.append(chr(value))
        else:
            characters.append(chr(0x100 + shifted))
            shifted += 1
    return characters


def _weights(spec: TinyModelSpec) -> list[tuple[str, FloatArray]]:
    """All tensors in GGUF naming, numpy shape (out, in); deterministic by ``spec.seed``."""
    import numpy as np

    rng = np.random.default_rng(spec.seed)
    width, ffn, kv_width = spec.width, spec.ffn_width, spec.head_size * spec.kv_heads

    def matrix(rows: int, cols: int) -> FloatArray:
        return rng.standard_normal((rows, cols), dtype=np.float32) / np.float32(np.sqrt(cols))

    def ones(size: int) -> FloatArray:
        return np.ones(size, dtype=np.float32)

    embedding = rng.standard_normal((VOCAB_SIZE, width), dtype=np.float32)
    embedding[:, 0] = _CONSTANT_DIM_VALUE
    tensors: list[tuple[str, FloatArray]] = [("token_embd.weight", embedding)]
    for layer in range(spec.layers):
        attn_out, ffn_down = matrix(width, width), matrix(width, ffn)
        # Nothing writes into dimension 0, so it stays constant through the residual stream.
        attn_out[0, :] = 0.0
        ffn_down[0, :] = 0.0
        prefix = f"blk.{layer}"
        tensors += [
            (f"{prefix}.attn_norm.weight", ones(width)),
            (f"{prefix}.attn_q.weight", matrix(width, width)),
            (f"{prefix}.attn_k.weight", matrix(kv_width, width)),
            (f"{prefix}.attn_v.weight", matrix(kv_width, width)),
            (f"{prefix}.attn_output.weight", attn_out),
            (f"{prefix}.ffn_norm.weight", ones(width)),
            (f"{prefix}.ffn_gate.weight", matrix(ffn, width)),
            (f"{prefix}.ffn_up.weight", matrix(ffn, width)),
            (f"{prefix}.ffn_down.weight", ffn_down),
        ]
    output = matrix(VOCAB_SIZE, width)
    output[:, 0] = _output_bias()
    tensors += [("output_norm.weight", ones(width)), ("output.weight", output)]
    return tensors


def _output_bias() -> FloatArray:
    """Per-token weight on the constant dimension: a fixed logit bias."""
    import numpy as np

    bias = np.full(VOCAB_SIZE, _DISPREFERRED_BIAS, dtype=np.float32)
    bias[[*range(0x20, 0x7F), 0x0A]] = _PREFERRED_BIAS
    bias[[BOS_ID, EOS_ID]] = _FORBIDDEN_BIAS
    return bias
