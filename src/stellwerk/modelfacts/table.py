"""The catalog as a Markdown table (docs/modelfacts.md), memory included, so the facts can be read
without reading YAML. ``python -m stellwerk.modelfacts.table`` prints it; a test keeps the page in
step with the catalog."""

from __future__ import annotations

from stellwerk.modelfacts.facts import QUANTS, CatalogModel
from stellwerk.modelfacts.loader import Catalog, load_catalog

CONTEXT = 8192
NONE = "\u2013"  # an en dash: does not exist, or not confirmed
_OPENNESS = {"open_weights": "open weights", "fully_open": "fully open"}


def _params(model: CatalogModel) -> str:
    if model.active_params_b is None:
        return f"{model.params_b:g} (active ?)"
    if model.is_moe:
        return f"{model.params_b:g} ({model.active_params_b:g} active)"
    return f"{model.params_b:g}"


def _languages(model: CatalogModel) -> str:
    shown = ", ".join(model.languages[:6])
    more = len(model.languages) - 6
    text = shown + (f" +{more}" if more > 0 else "")
    return text + (" …" if model.languages_note else "")


def _row(model: CatalogModel) -> str:
    memory = " / ".join(f"{model.memory_gb(q, CONTEXT):.1f}" for q in QUANTS)
    bench = (
        f"[{model.benchmark.name}: {model.benchmark.score:g}]({model.benchmark.source})"
        if model.benchmark
        else NONE
    )
    cells = [
        f"`{model.id}`",
        model.variant,
        _params(model),
        model.licence,
        _OPENNESS[model.openness],
        f"{model.context_length:,}" if model.context_length else "?",
        "yes" if "de" in model.languages else "no",
        _languages(model),
        memory,
        f"`{model.ollama_tag}`" if model.ollama_tag else NONE,
        f"`{model.hf_id}`" if model.hf_id else NONE,
        bench,
    ]
    return "| " + " | ".join(cells) + " |"


def markdown_table(catalog: Catalog) -> str:
    header = (
        "| id | variant | params (B) | licence | openness | context | German | languages | "
        f"memory GB at q4_k_m / q8_0 / f16, {CONTEXT} tokens | Ollama | Hugging Face | benchmark |"
    )
    rule = "|" + "---|" * 12
    return "\n".join([header, rule, *(_row(m) for m in catalog)]) + "\n"


if __name__ == "__main__":
    print(markdown_table(load_catalog()), end="")
