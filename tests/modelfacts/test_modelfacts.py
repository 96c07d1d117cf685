"""Every catalog entry is complete and consistent; the memory it derives behaves physically."""

from __future__ import annotations

from pathlib import Path

import pytest

from stellwerk.errors import ConfigError
from stellwerk.modelfacts import QUANTS, CatalogModel, load_catalog

CATALOG = load_catalog()
ENTRIES = list(CATALOG)
REQUIRED_FAMILIES = {
    "Mistral 3",
    "Apertus",
    "OLMo",
    "FlexOlmo",
    "Qwen3",
    "Llama 3",
    "Gemma 3",
    "Phi-4",
    "EuroLLM",
    "Teuken",
}


def _ids(model: CatalogModel) -> str:
    return model.id


def test_the_issue_s_families_and_models_are_there() -> None:
    assert {m.family for m in ENTRIES} >= REQUIRED_FAMILIES
    ids = {m.id for m in ENTRIES}
    assert {"ministral-3-3b", "ministral-3-8b", "ministral-3-14b", "mistral-large-3"} <= ids
    assert {"apertus-8b", "apertus-70b"} <= ids


def test_ids_tags_and_hub_ids_are_unique() -> None:
    for field in ("id", "ollama_tag", "hf_id"):
        values = [getattr(m, field).lower() for m in ENTRIES if getattr(m, field)]
        assert len(values) == len(set(values)), field


@pytest.mark.parametrize("model", ENTRIES, ids=_ids)
def test_entry_is_complete(model: CatalogModel) -> None:
    assert model.licence and model.licence_url.startswith("https://")
    assert model.languages
    assert model.sources
    assert model.ollama_tag or model.hf_id
    if model.variant != "base":
        assert "chat" in model.capabilities
        assert model.context_length is not None or "context_length" in model.null_reasons
    for field, reason in model.null_reasons.items():
        assert getattr(model, field) is None
        assert len(reason) > 10, f"{field}: give a real reason"


@pytest.mark.parametrize("model", ENTRIES, ids=_ids)
def test_entry_is_consistent(model: CatalogModel) -> None:
    if model.active_params_b is not None:
        assert model.active_params_b <= model.params_b
    if model.is_moe:
        assert model.effective_params_b < model.params_b
    if model.benchmark is not None:
        assert 0 <= model.benchmark.score <= 100
        assert model.benchmark.source.startswith("https://")
    if model.openness == "fully_open":
        assert model.licence == "Apache-2.0", "fully open models in this catalog are Apache-2.0"


@pytest.mark.parametrize("model", ENTRIES, ids=_ids)
def test_memory_grows_with_bits_and_context(model: CatalogModel) -> None:
    needs = [model.memory_gb(quant, 8192) for quant in QUANTS]
    assert needs == sorted(needs) and len(set(needs)) == len(needs)
    assert model.memory_gb("q4_k_m", 2048) < model.memory_gb("q4_k_m", 8192)
    # the estimate never falls below the bare weights
    for quant in QUANTS:
        assert model.memory_gb(quant, 1) > model.weights_gb(quant)


@pytest.mark.parametrize("model", [m for m in ENTRIES if m.ollama_size_gb is not None], ids=_ids)
def test_parameter_count_agrees_with_the_published_download_size(model: CatalogModel) -> None:
    """The Ollama library's download size is an independent check on params_b: a typo
    (8 for 80) or a wrong quantisation would put the ratio far outside this band. Vision
    encoders and large vocabularies kept at higher precision explain ratios above 1."""
    assert model.ollama_size_gb is not None
    ratio = model.ollama_size_gb / model.weights_gb(model.ollama_quant)
    assert 0.85 <= ratio <= 1.4, ratio


def test_kv_cache_uses_the_architecture_when_known() -> None:
    llama = CATALOG.get("llama-3.1-8b")
    # 2 (K, V) x 32 layers x 8 KV heads x 128 x 2 bytes = 131072 bytes per token
    assert llama.kv_cache_gb(8192) == pytest.approx(8192 * 131072 / 1e9)
    unknown = CATALOG.get("ministral-3-8b")
    assert unknown.architecture is None
    assert unknown.kv_cache_gb(8192) > llama.kv_cache_gb(8192), "unknown is estimated high"


def test_a_small_model_is_not_estimated_above_a_bigger_one() -> None:
    """walk27 F6: at 32768 tokens ministral-3-3b (no architecture facts: 256 KiB a token
    assumed) was shown needing 11.9 GB, more than llama-3.1-8b's 10.2 GB."""
    small, medium = CATALOG.get("ministral-3-3b"), CATALOG.get("llama-3.1-8b")
    assert small.architecture is None
    assert small.memory_gb("q4_k_m", 32768) < medium.memory_gb("q4_k_m", 32768)
    # the estimate without facts grows with the size and stays above what the models with
    # facts of about that size need (Llama 3.2 3B: 112 KiB a token, Qwen3 4B: 144 KiB)
    for model_id in ("llama-3.2-3b", "qwen3-4b", "phi-4-mini"):
        known = CATALOG.get(model_id)
        assert known.architecture is not None
        guessed = known.model_copy(update={"architecture": None})
        assert known.kv_cache_gb(32768) <= guessed.kv_cache_gb(32768)
    assert small.kv_cache_gb(32768) < CATALOG.get("apertus-8b").kv_cache_gb(32768)


def test_context_beyond_the_model_is_not_charged() -> None:
    eurollm = CATALOG.get("eurollm-9b")
    assert eurollm.context_length == 4096
    assert eurollm.memory_gb("q4_k_m", 32768) == eurollm.memory_gb("q4_k_m", 4096)


def _minimal() -> dict[str, object]:
    return {
        "id": "tiny-1b",
        "family": "Tiny",
        "name": "Tiny 1B",
        "variant": "instruct",
        "params_b": 1.0,
        "active_params_b": 1.0,
        "licence": "Apache-2.0",
        "licence_url": "https://www.apache.org/licenses/LICENSE-2.0",
        "openness": "open_weights",
        "languages": ["en"],
        "context_length": 4096,
        "ollama_tag": "tiny:1b",
        "sources": ["https://example.org/tiny"],
        "null_reasons": {
            "mof_class": "not classified",
            "hf_id": "not on the hub",
            "benchmark": "none published",
        },
    }


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"active_params_b": 2.0}, "active_params_b exceeds params_b"),
        ({"null_reasons": {"mof_class": "x", "hf_id": "y"}}, "benchmark is null"),
        ({"hf_id": "org/tiny"}, "null_reasons.hf_id explains a field that is set"),
        ({"colour": "blue"}, "Extra inputs are not permitted"),
        ({"languages": ["German"]}, "not an ISO 639 language code"),
        ({"sources": ["http://insecure.example"]}, "is not an https URL"),
        # a reasoning model thinks: a config written for it must say so, and only for it
        ({"variant": "reasoning"}, "a reasoning model, and only one, lists the 'thinking'"),
        ({"capabilities": ["chat", "thinking"]}, "a reasoning model, and only one, lists"),
    ],
)
def test_an_inconsistent_entry_is_refused(change: dict[str, object], message: str) -> None:
    raw = _minimal() | change
    with pytest.raises(ValueError, match=message):
        CatalogModel.model_validate(raw)


def test_a_broken_catalog_file_names_the_file_and_the_entry(tmp_path: Path) -> None:
    path = tmp_path / "catalog.yaml"
    path.write_text("version: 1\nmodels:\n  - id: x\n", encoding="utf-8")
    with pytest.raises(
        ConfigError, match=r"catalog\.yaml: invalid catalog:\n  models\.0 \('x'\)\."
    ):
        load_catalog(path)


def test_a_broken_entry_is_named_without_a_line_about_an_empty_list(tmp_path: Path) -> None:
    """pydantic also reports the list of entries as empty when its one entry fails; the file
    did list one, so that line only confused."""
    import yaml

    path = tmp_path / "catalog.yaml"
    entry = _minimal() | {"languages": ["German"]}
    path.write_text(yaml.safe_dump({"version": 1, "models": [entry]}), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_catalog(path)
    assert str(caught.value).splitlines()[1:] == [
        "  models.0 ('tiny-1b').languages: 'German' is not an ISO 639 language code"
    ]


@pytest.mark.parametrize(
    ("field", "value", "limit"),
    [("params_b", 1e300, "100000"), ("context_length", 10**12, "100000000")],
)
def test_absurd_sizes_are_refused_naming_the_limit(
    tmp_path: Path, field: str, value: float, limit: str
) -> None:
    import yaml

    path = tmp_path / "catalog.yaml"
    entry = _minimal() | {field: value}
    path.write_text(yaml.safe_dump({"version": 1, "models": [entry]}), encoding="utf-8")
    with pytest.raises(ConfigError, match=rf"models\.0 \('tiny-1b'\)\.{field}: .*equal to {limit}"):
        load_catalog(path)


def test_duplicate_ids_are_refused(tmp_path: Path) -> None:
    import yaml

    entry = _minimal()
    path = tmp_path / "dup.yaml"
    other = entry | {"ollama_tag": "tiny:other"}
    path.write_text(yaml.safe_dump({"version": 1, "models": [entry, other]}), encoding="utf-8")
    with pytest.raises(ConfigError, match="id 'tiny-1b' is used twice"):
        load_catalog(path)


def test_the_catalog_page_shows_the_catalog_as_it_is() -> None:
    """docs/modelfacts.md is regenerated with ``python -m stellwerk.modelfacts.table``."""
    from stellwerk.modelfacts.table import markdown_table

    page = (Path(__file__).resolve().parents[2] / "docs" / "modelfacts.md").read_text()
    shown = page.split("<!-- catalog-table:start -->\n")[1].split("<!-- catalog-table:end -->")[0]
    assert shown == markdown_table(CATALOG), "run: python -m stellwerk.modelfacts.table"
