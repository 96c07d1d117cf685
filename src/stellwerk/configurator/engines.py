"""How each serving engine runs the chosen models: the backends the gateway talks to and the
shell lines that start the engine.

=========  =====================================  ====================================
engine     serves                                 the gateway talks to
=========  =====================================  ====================================
ollama     one server, ``ollama pull <tag>``      Ollama API, ``:11434``
vllm       one ``vllm serve`` per model           OpenAI API, ``:8001``, ``:8002`` ...
llamacpp   one ``llama-server`` per model (GGUF)  OpenAI API, ``:8081``, ``:8082`` ...
localai    one LocalAI container, GGUF files      OpenAI API, ``:8081``
=========  =====================================  ====================================

vLLM preallocates a share of the GPU per server (``--gpu-memory-utilization``), so each
server gets the share its model needs, rounded up. Mistral's models are started with the
tokenizer, config and load formats (and tool parser) their vLLM recipe gives.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from stellwerk.catalog import CatalogModel, Quant
from stellwerk.configurator.needs import Needs
from stellwerk.configurator.select import Pick
from stellwerk.errors import ConfigError

UNKNOWN_CONTEXT = 4096
GGUF_QUANT = {"q4_k_m": "Q4_K_M", "q8_0": "Q8_0", "f16": "F16"}
VLLM_PORT = 8001
LLAMACPP_PORT = 8081
LOCALAI_PORT = 8081
OLLAMA_PORT = 11434


@dataclass(frozen=True, slots=True)
class Served:
    """One model as the gateway will know it."""

    model_id: str
    backend: str
    upstream: str
    size_class: str
    params_b: float
    active_params_b: float
    context_length: int
    capabilities: tuple[str, ...]
    languages: tuple[str, ...]
    licence: str | None
    openness: str
    lifecycle: str = "approved"
    notes: tuple[str, ...] = ()

    @classmethod
    def of(
        cls,
        model: CatalogModel,
        *,
        backend: str,
        upstream: str,
        size_class: str,
        context_length: int,
        lifecycle: str = "approved",
        notes: tuple[str, ...] = (),
    ) -> Served:
        """A catalog model served by ``backend`` under the name ``upstream``."""
        return cls(
            model_id=model.id,
            backend=backend,
            upstream=upstream,
            size_class=size_class,
            params_b=model.params_b,
            active_params_b=model.active_params_b or model.params_b,
            context_length=context_length,
            capabilities=tuple(model.capabilities),
            languages=model.languages,
            licence=model.licence,
            openness=config_openness(model),
            lifecycle=lifecycle,
            notes=notes,
        )


@dataclass(frozen=True, slots=True)
class EnginePlan:
    backends: tuple[dict[str, object], ...]
    served: tuple[Served, ...]
    commands: tuple[str, ...]
    notes: tuple[str, ...] = field(default_factory=tuple)


def config_openness(model: CatalogModel) -> str:
    """The config's openness scale is the Model Openness Framework's; a fully open model
    without a published classification is put in its lowest open class."""
    if model.mof_class is not None:
        return {
            "class_i_open_science": "open_science",
            "class_ii_open_tooling": "open_tooling",
            "class_iii_open_model": "open_model",
        }[model.mof_class]
    return "open_model" if model.openness == "fully_open" else "open_weights"


def served_context(model: CatalogModel, needs: Needs) -> tuple[int, tuple[str, ...]]:
    if model.context_length is None:
        assumed = min(needs.context, UNKNOWN_CONTEXT)
        return assumed, (f"context length not published; {assumed} tokens assumed",)
    return min(needs.context, model.context_length), ()


def served(pick: Pick, needs: Needs, backend: str, upstream: str) -> Served:
    model = pick.model
    context, notes = served_context(model, needs)
    return Served.of(
        model,
        backend=backend,
        upstream=upstream,
        size_class=pick.size_class,
        context_length=context,
        notes=notes,
    )


def plan(picks: Sequence[Pick], needs: Needs, host: str = "127.0.0.1") -> EnginePlan:
    if needs.engine == "ollama":
        return _ollama(picks, needs, host)
    if needs.engine == "vllm":
        return _vllm(picks, needs, host)
    if needs.engine == "llamacpp":
        return _llamacpp(picks, needs, host)
    return _localai(picks, needs, host)


def gguf_file(model: CatalogModel, quant: Quant) -> str:
    return f"{model.id}-{GGUF_QUANT[quant]}.gguf"


def _ollama(picks: Sequence[Pick], needs: Needs, host: str) -> EnginePlan:
    backend: dict[str, object] = {
        "name": "ollama",
        "kind": "ollama",
        "base_url": f"http://{host}:{OLLAMA_PORT}",
    }
    commands = [
        "# Ollama: serve with the context window the gateway expects, then pull the models",
        f"OLLAMA_CONTEXT_LENGTH={needs.context} ollama serve &",
        "until ollama list >/dev/null 2>&1; do sleep 1; done",
    ]
    rows = []
    for pick in picks:
        tag = pick.model.ollama_tag
        assert tag is not None  # select.why_not keeps only models with a tag for Ollama
        commands.append(f"ollama pull {tag}")
        rows.append(served(pick, needs, "ollama", tag))
    return EnginePlan((backend,), tuple(rows), tuple(commands))


def _vllm(picks: Sequence[Pick], needs: Needs, host: str) -> EnginePlan:
    if needs.gpu_memory_gb is None:
        raise ConfigError("--engine vllm needs a GPU: give --gpu-memory GB")
    backends: list[dict[str, object]] = []
    rows: list[Served] = []
    commands = ["# vLLM: one OpenAI-compatible server per model, sharing the GPU"]
    for i, pick in enumerate(picks):
        model = pick.model
        assert model.hf_id is not None
        port = VLLM_PORT + i
        name = f"vllm-{pick.size_class}"
        share = min(0.95, math.ceil(pick.memory_gb / needs.gpu_memory_gb * 100) / 100)
        context, _ = served_context(model, needs)
        line = (
            f"vllm serve {model.hf_id} --host 0.0.0.0 --port {port} "
            f"--served-model-name {model.id} --max-model-len {context} "
            f"--gpu-memory-utilization {share:.2f}"
        )
        if model.family == "Mistral 3":
            line += " --tokenizer-mode mistral --config-format mistral --load-format mistral"
            line += " --enable-auto-tool-choice --tool-call-parser mistral"
        commands.append(line + " &")
        backends.append({"name": name, "kind": "openai", "base_url": f"http://{host}:{port}/v1"})
        rows.append(served(pick, needs, name, model.id))
    return EnginePlan(tuple(backends), tuple(rows), tuple(commands))


def _llamacpp(picks: Sequence[Pick], needs: Needs, host: str) -> EnginePlan:
    backends: list[dict[str, object]] = []
    rows: list[Served] = []
    commands = [
        "# llama.cpp: one llama-server per model from a GGUF file in ./models. Make each file",
        "# with llama.cpp's convert_hf_to_gguf.py and llama-quantize from the Hugging Face",
        "# weights named below, or download a GGUF build of the same model.",
    ]
    gpu = " -ngl 999" if needs.on_gpu else ""
    for i, pick in enumerate(picks):
        model = pick.model
        port = LLAMACPP_PORT + i
        name = f"llamacpp-{pick.size_class}"
        context, _ = served_context(model, needs)
        commands.append(f"#   {gguf_file(model, pick.quant)} <- {model.hf_id}")
        commands.append(
            f"llama-server -m models/{gguf_file(model, pick.quant)} --host 0.0.0.0 "
            f"--port {port} --alias {model.id} -c {context}{gpu} --jinja &"
        )
        url = f"http://{host}:{port}/v1"
        backends.append({"name": name, "kind": "openai", "base_url": url, "dialect": "llamacpp"})
        rows.append(served(pick, needs, name, model.id))
    return EnginePlan(tuple(backends), tuple(rows), tuple(commands))


def _localai(picks: Sequence[Pick], needs: Needs, host: str) -> EnginePlan:
    backend: dict[str, object] = {
        "name": "localai",
        "kind": "openai",
        "base_url": f"http://{host}:{LOCALAI_PORT}/v1",
    }
    commands = [
        "# LocalAI: one container serving every GGUF file described in ./models.",
        "# Put each GGUF file (converted from the Hugging Face weights named below) in ./models.",
        "mkdir -p models",
    ]
    rows = []
    for pick in picks:
        model = pick.model
        context, _ = served_context(model, needs)
        commands += [
            f"#   {gguf_file(model, pick.quant)} <- {model.hf_id}",
            f"cat > models/{model.id}.yaml <<'YAML'",
            f"name: {model.id}",
            "backend: llama-cpp",
            f"context_size: {context}",
            "parameters:",
            f"  model: {gguf_file(model, pick.quant)}",
            "YAML",
        ]
        rows.append(served(pick, needs, "localai", model.id))
    image = "localai/localai:latest"
    commands.append(
        f'docker run -d --name local-ai -p {LOCALAI_PORT}:8080 -v "$PWD/models:/models" '
        f"-e LOCALAI_MODELS_PATH=/models {image}"
    )
    return EnginePlan((backend,), tuple(rows), tuple(commands))
