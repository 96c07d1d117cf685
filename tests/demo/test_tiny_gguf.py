"""The tiny GGUF writer: deterministic, shaped as asked, readable by the gguf reader."""

from __future__ import annotations

from pathlib import Path

import gguf
import pytest

from stellwerk.demo.tiny_gguf import (
    BOS_ID,
    EOS_ID,
    SIZES,
    VOCAB_SIZE,
    TinyModelSpec,
    chat_prompt,
    chat_prompt_tokens,
    expected_token_ids,
    write_demo_models,
    write_tiny_model,
)


def _field(reader: gguf.GGUFReader, key: str) -> object:
    field = reader.get_field(key)
    assert field is not None, f"missing metadata key {key}"
    return field.contents()


def test_same_seed_gives_the_same_bytes(tmp_path: Path) -> None:
    spec = TinyModelSpec(name="t", seed=7)
    first = write_tiny_model(spec, tmp_path / "a.gguf").read_bytes()
    second = write_tiny_model(spec, tmp_path / "b.gguf").read_bytes()
    assert first == second


def test_another_seed_gives_other_weights(tmp_path: Path) -> None:
    first = write_tiny_model(TinyModelSpec(name="t", seed=1), tmp_path / "a.gguf").read_bytes()
    second = write_tiny_model(TinyModelSpec(name="t", seed=2), tmp_path / "b.gguf").read_bytes()
    assert len(first) == len(second)
    assert first != second


@pytest.mark.parametrize("size", sorted(SIZES))
def test_written_model_has_the_requested_shape(tmp_path: Path, size: str) -> None:
    spec = SIZES[size]
    path = write_tiny_model(spec, tmp_path / "nested" / "model.gguf")
    reader = gguf.GGUFReader(path)
    assert _field(reader, "general.architecture") == "llama"
    assert _field(reader, "llama.block_count") == spec.layers
    assert _field(reader, "llama.embedding_length") == spec.width
    assert _field(reader, "llama.attention.head_count") == spec.heads
    assert _field(reader, "tokenizer.ggml.model") == "gpt2"
    assert _field(reader, "tokenizer.ggml.bos_token_id") == BOS_ID
    assert _field(reader, "tokenizer.ggml.eos_token_id") == EOS_ID
    assert "add_generation_prompt" in str(_field(reader, "tokenizer.chat_template"))
    tokens = _field(reader, "tokenizer.ggml.tokens")
    assert isinstance(tokens, list)
    assert len(tokens) == VOCAB_SIZE
    assert len(reader.tensors) == 3 + 9 * spec.layers
    assert sum(int(tensor.n_elements) for tensor in reader.tensors) == spec.parameter_count
    # float32 weights plus a few kilobytes of metadata and alignment padding
    assert 4 * spec.parameter_count < path.stat().st_size < 4 * spec.parameter_count + 64 * 1024


def test_small_model_is_about_half_a_megabyte(tmp_path: Path) -> None:
    size = write_tiny_model(SIZES["small"], tmp_path / "s.gguf").stat().st_size
    assert 300_000 < size < 700_000


def test_demo_models_are_three_distinct_files(tmp_path: Path) -> None:
    paths = write_demo_models(tmp_path)
    assert sorted(paths) == ["large", "medium", "small"]
    sizes = [paths[name].stat().st_size for name in ("small", "medium", "large")]
    assert sizes == sorted(sizes)
    assert len(set(sizes)) == 3


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"layers": 0}, "layers must be >= 1"),
        ({"heads": 4, "kv_heads": 3}, "must be a positive multiple of kv_heads"),
        ({"width": 66}, "must split into 4 heads of an even size"),
        ({"width": 72, "heads": 8, "kv_heads": 2}, "must split into 8 heads of an even size"),
        ({"ffn_width": 0}, "ffn_width must be >= 1"),
        ({"context_length": 8}, "context_length must be >= 16"),
    ],
)
def test_impossible_shapes_are_refused_by_name(fields: dict[str, int], problem: str) -> None:
    with pytest.raises(ValueError, match=problem) as caught:
        TinyModelSpec(name="odd", **fields)
    assert "'odd'" in str(caught.value)


def test_chat_prompt_renders_roles_and_text_parts() -> None:
    messages: list[dict[str, object]] = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": [{"type": "text", "text": "Grüße"}]},
    ]
    prompt = chat_prompt(messages)
    assert prompt == "<s><|system|>\nBe brief.\n<|user|>\nGrüße\n<|assistant|>\n"
    # BOS plus one token per UTF-8 byte ("ü" and "ß" are two bytes each)
    assert chat_prompt_tokens(messages) == 1 + len(prompt[3:]) + 2


def test_expected_token_ids_are_bytes_after_bos() -> None:
    assert expected_token_ids("Hé") == [BOS_ID, 72, 0xC3, 0xA9]
    assert expected_token_ids("", add_bos=False) == []
