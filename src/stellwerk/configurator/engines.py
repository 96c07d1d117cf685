"""How each serving engine runs the chosen models: the backends the gateway talks to and the
shell lines that start the engine.

=========  =====================================  ====================================
engine     serves                                 the gateway talks to
=========  =====================================  ====================================
ollama     one server, ``ollama pull <tag>`` (or  Ollama API, ``:11434``
           ``ollama create`` from a GGUF file)
vllm       one ``vllm serve`` per model           OpenAI API, ``:8001``, ``:8002`` ...
llamacpp   one ``llama-server`` per model (GGUF)  OpenAI API, ``:8081``, ``:8082`` ...
localai    one LocalAI container, GGUF files      OpenAI API, ``:8081``
=========  =====================================  ====================================

With ``--gpu-memory`` the engines run on the GPU: llama.cpp offloads every layer (``-ngl 999``),
LocalAI runs its NVIDIA CUDA 12 image with the GPUs passed in (``--gpus all``, the NVIDIA
Container Toolkit on the host) and offloads every layer of each model (``gpu_layers``); without
it they run on the CPU (LocalAI's CPU image).

Only the gateway may reach an engine: a client that reached it directly would skip every
governance rule. Engines listen on the loopback interface when the gateway reaches them there;
otherwise (``--engine-host``, e.g. a compose network) on every interface, and then vLLM,
llama.cpp and LocalAI require the key in ``$STELLWERK_ENGINE_KEY`` (the config's backends send
it; Ollama has no key of its own, so it is only ever bound to the host the gateway names).

vLLM preallocates a share of the GPU per server (``--gpu-memory-utilization``); the shares
are in proportion to what each model needs and add up to 0.9 of the GPU, the rest left to the
CUDA contexts each process keeps outside its share. Mistral's models are started with the
tokenizer, config and load formats (and tool parser) their vLLM recipe gives.
"""

from __future__ import annotations

import math
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from stellwerk.config.schema import Hosting
from stellwerk.configurator.needs import Engine, Needs
from stellwerk.configurator.select import Pick
from stellwerk.errors import ConfigError
from stellwerk.modelfacts import CatalogModel, Quant

UNKNOWN_CONTEXT = 4096
GGUF_QUANT = {"q4_k_m": "Q4_K_M", "q8_0": "Q8_0", "f16": "F16"}
VLLM_PORT = 8001
LLAMACPP_PORT = 8081
LOCALAI_PORT = 8081
LOCALAI_IMAGE = "localai/localai:latest"
# CUDA 12 runs on the most drivers; a host with CUDA 13 drivers may take the -cuda-13 image
LOCALAI_GPU_IMAGE = "localai/localai:latest-gpu-nvidia-cuda-12"
OLLAMA_PORT = 11434
VLLM_TOTAL_SHARE = 0.9
ENGINE_KEY_ENV = "STELLWERK_ENGINE_KEY"
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})


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
    # where it runs (None: not stated); the engine scripts run on the operator's own machines
    hosting: Hosting | None = "on_prem"
    # the engine keeps an answer to a JSON schema (each one a script is written for does)
    json_by_grammar: bool = True
    lifecycle: str = "approved"
    notes: tuple[str, ...] = ()
    thinking_switch: str | None = None

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
        capabilities: tuple[str, ...] | None = None,
        thinking_switch: str | None = None,
    ) -> Served:
        """A catalog model served by ``backend`` under the name ``upstream``, with what it can
        do there (``capabilities``; default: what the catalog says it can do)."""
        return cls(
            model_id=model.id,
            backend=backend,
            upstream=upstream,
            size_class=size_class,
            params_b=model.params_b,
            active_params_b=model.active_params_b or model.params_b,
            context_length=context_length,
            capabilities=tuple(model.capabilities) if capabilities is None else capabilities,
            languages=model.languages,
            licence=model.licence,
            openness=config_openness(model),
            lifecycle=lifecycle,
            notes=notes,
            thinking_switch=thinking_switch,
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


def capabilities_on(model: CatalogModel, engine: Engine) -> tuple[tuple[str, ...], str | None]:
    """What ``model`` can do as the engine script serves it, and the switch of its thinking
    (``models[].thinking_switch``) where the gateway needs one:

    - ``vision`` needs the model's image projector, which the llama.cpp and LocalAI scripts do
      not load (a GGUF file of the language model only; ``--mmproj`` or LocalAI's ``mmproj``
      would add it): without it, an image routed there is not seen;
    - ``thinking`` on an OpenAI-compatible server is asked for by a variable of the model's
      chat template, which vLLM and ``llama-server`` take per request: kept with the variable
      the catalog names (Qwen3's ``enable_thinking``); a model without one (it thinks always)
      would be refused every request asking it to think, and LocalAI is not known to pass the
      variable on, so it is then left out. Ollama is sent ``think`` itself."""
    capabilities = tuple(model.capabilities)
    if engine in ("llamacpp", "localai"):
        capabilities = tuple(c for c in capabilities if c != "vision")
    if engine == "ollama" or "thinking" not in capabilities:
        return capabilities, None
    if engine in ("vllm", "llamacpp") and model.thinking_switch is not None:
        return capabilities, model.thinking_switch
    return tuple(c for c in capabilities if c != "thinking"), None


def served(pick: Pick, needs: Needs, backend: str, upstream: str) -> Served:
    model = pick.model
    context, notes = served_context(model, needs)
    capabilities, switch = capabilities_on(model, needs.engine)
    return Served.of(
        model,
        backend=backend,
        upstream=upstream,
        size_class=pick.size_class,
        context_length=context,
        notes=notes,
        capabilities=capabilities,
        thinking_switch=switch,
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


def _bind(host: str) -> str:
    """The address an engine listens on: loopback when the gateway reaches it there."""
    return "127.0.0.1" if host in LOOPBACK else "0.0.0.0"


def _key_guard() -> list[str]:
    return [
        "# The gateway sends this key to the engine (backends[].api_key_env); nobody else has it.",
        f': "${{{ENGINE_KEY_ENV}:?export {ENGINE_KEY_ENV}=$(openssl rand -hex 32) first, '
        'and give the gateway the same}"',
    ]


def _keyed(backend: Mapping[str, object]) -> dict[str, object]:
    return {**backend, "api_key_env": ENGINE_KEY_ENV}


def _ollama(picks: Sequence[Pick], needs: Needs, host: str) -> EnginePlan:
    backend: dict[str, object] = {
        "name": "ollama",
        "kind": "ollama",
        "base_url": f"http://{host}:{OLLAMA_PORT}",
    }
    commands = [
        "# Ollama: the server running already, or one started with the context window the",
        "# gateway expects, only where the gateway reaches it (Ollama has no key of its own);",
        "# then pull or import the models",
    ]
    notes: tuple[str, ...] = ()
    if _bind(host) != "127.0.0.1":
        warning = (
            f"Ollama has no key: it listens on every interface so that the gateway can reach "
            f"it at {host}, and so can anyone else who reaches that port; keep port "
            f"{OLLAMA_PORT} on a network only the gateway is on (a compose network without a "
            "published port, a firewall rule)"
        )
        commands.append(f"# WARNING: {warning}")
        notes = (warning,)
    commands += _ollama_server(needs.context, host)
    rows = []
    imports: list[str] = []
    for pick in picks:
        tag = pick.model.ollama_tag
        if tag is None:  # select.why_not keeps such a model only when it has weights
            imports += _ollama_import(pick, needs)
            rows.append(served(pick, needs, "ollama", pick.model.id))
            continue
        commands.append(f"ollama pull {tag}")
        rows.append(served(pick, needs, "ollama", tag))
    # the imports last: a GGUF file still to be made stops none of the pulls
    return EnginePlan((backend,), tuple(rows), tuple(commands + imports), notes)


def _ollama_server(context: int, host: str) -> list[str]:
    """The lines that make an Ollama server answer on this machine's port: the one running
    already (the Linux installer sets one up as a system service, which a second ``ollama
    serve`` would only collide with: "address already in use"), else one started here and
    waited for; one that stops before it answers stops the script, rather than being waited
    for forever. A running server keeps its own settings, so the script says which ones the
    gateway expects of it."""
    bind = f"{_bind(host)}:{OLLAMA_PORT}"
    settings = f"OLLAMA_CONTEXT_LENGTH={context}"
    if _bind(host) != "127.0.0.1":
        settings += f" and OLLAMA_HOST={bind} (the gateway reaches it at {host}:{OLLAMA_PORT})"
    running = (
        f"using the Ollama server already running on port {OLLAMA_PORT}; the gateway expects it "
        f"to run with {settings}: set them where it is started (for the service the Linux "
        "installer sets up: sudo systemctl edit ollama) and restart it"
    )
    stopped = f"ollama serve stopped before it answered on port {OLLAMA_PORT}"
    return [
        "# the ollama commands below talk to the server on this machine",
        f"export OLLAMA_HOST=127.0.0.1:{OLLAMA_PORT}",
        "if ollama list >/dev/null 2>&1; then",
        f"  echo {shlex.quote(running)} >&2",
        "else",
        f"  OLLAMA_HOST={bind} OLLAMA_CONTEXT_LENGTH={context} ollama serve &",
        "  ollama_pid=$!",
        "  until ollama list >/dev/null 2>&1; do",
        f'    kill -0 "$ollama_pid" 2>/dev/null || {{ echo {shlex.quote(stopped)} >&2; exit 1; }}',
        "    sleep 1",
        "  done",
        "fi",
    ]


def _ollama_import(pick: Pick, needs: Needs) -> list[str]:
    """A model without an Ollama library tag, imported from a GGUF file of its weights."""
    model = pick.model
    gguf = gguf_file(model, pick.quant)
    context, _ = served_context(model, needs)
    return [
        f"# {model.id} has no Ollama library tag: import a GGUF file of {model.hf_id}, made with",
        "# llama.cpp's convert_hf_to_gguf.py and llama-quantize (or a GGUF build you trust);",
        "# Ollama must know the model's architecture (a current release).",
        "mkdir -p models",
        f"if [ -f models/{gguf} ]; then",
        f"  printf 'FROM ./{gguf}\\nPARAMETER num_ctx {context}\\n' > models/{model.id}.Modelfile",
        f"  ollama create {model.id} -f models/{model.id}.Modelfile",
        "else",
        f"  echo 'models/{gguf} is missing: make it, then run this script again' >&2",
        "fi",
    ]


def _vllm(picks: Sequence[Pick], needs: Needs, host: str) -> EnginePlan:
    if needs.gpu_memory_gb is None:
        raise ConfigError("--engine vllm needs a GPU: give --gpu-memory GB")
    backends: list[dict[str, object]] = []
    rows: list[Served] = []
    commands = [
        "# vLLM: one OpenAI-compatible server per model, sharing the GPU. vllm serve downloads",
        "# the weights from Hugging Face at its first start; a gated repository (its page asks",
        "# you to accept a licence) needs it accepted by your account and HF_TOKEN set to a",
        "# read token of that account (or `hf auth login`), else the download fails with 401.",
    ]
    gated = [p.model.hf_id for p in picks if p.model.hf_id and gated_licence(p.model.licence)]
    notes = []
    if gated:
        commands.append(f"# Gated here: {', '.join(gated)} (huggingface.co/<repository>)")
        notes.append(
            f"{', '.join(gated)}: gated on Hugging Face; accept the licence on each repository's "
            "page and set HF_TOKEN before running the engine script"
        )
    commands += _key_guard()
    shares = gpu_shares([p.memory_gb for p in picks])
    for i, (pick, share) in enumerate(zip(picks, shares, strict=True)):
        model = pick.model
        assert model.hf_id is not None
        port = VLLM_PORT + i
        name = f"vllm-{pick.size_class}"
        context, _ = served_context(model, needs)
        line = (
            f"vllm serve {model.hf_id} --host {_bind(host)} --port {port} "
            f'--api-key "${ENGINE_KEY_ENV}" '
            f"--served-model-name {model.id} --max-model-len {context} "
            f"--gpu-memory-utilization {share:.2f}"
        )
        if model.family == "Mistral 3":
            line += " --tokenizer-mode mistral --config-format mistral --load-format mistral"
            line += " --enable-auto-tool-choice --tool-call-parser mistral"
        commands.append(line + " &")
        url = f"http://{host}:{port}/v1"
        backends.append(_keyed({"name": name, "kind": "openai", "base_url": url}))
        rows.append(served(pick, needs, name, model.id))
    return EnginePlan(tuple(backends), tuple(rows), tuple(commands), tuple(notes))


def gated_licence(licence: str) -> bool:
    """Whether weights under ``licence`` are gated on Hugging Face: Meta's Llama and Google's
    Gemma repositories give their files only to an account that accepted the licence there."""
    return licence.startswith("Llama ") or licence == "Gemma Terms of Use"


def gpu_shares(needs_gb: Sequence[float]) -> list[float]:
    """Each vLLM server's ``--gpu-memory-utilization``: in proportion to what its model needs,
    together ``VLLM_TOTAL_SHARE`` of the GPU (rounded down to hundredths, so the sum never
    exceeds it). The proposal keeps the set within that share, so each server gets at least
    what its model needs, to within a hundredth of the GPU."""
    total = sum(needs_gb)
    if total <= 0:
        return [0.0 for _ in needs_gb]
    return [math.floor(need / total * VLLM_TOTAL_SHARE * 100) / 100 for need in needs_gb]


def _llamacpp(picks: Sequence[Pick], needs: Needs, host: str) -> EnginePlan:
    backends: list[dict[str, object]] = []
    rows: list[Served] = []
    commands = [
        "# llama.cpp: one llama-server per model from a GGUF file in ./models. Make each file",
        "# with llama.cpp's convert_hf_to_gguf.py and llama-quantize from the Hugging Face",
        "# weights named below, or download a GGUF build of the same model.",
        *_key_guard(),
    ]
    gpu = " -ngl 999" if needs.on_gpu else ""
    for i, pick in enumerate(picks):
        model = pick.model
        port = LLAMACPP_PORT + i
        name = f"llamacpp-{pick.size_class}"
        context, _ = served_context(model, needs)
        commands.append(f"#   {gguf_file(model, pick.quant)} <- {model.hf_id}")
        commands.append(
            f"llama-server -m models/{gguf_file(model, pick.quant)} --host {_bind(host)} "
            f'--port {port} --api-key "${ENGINE_KEY_ENV}" --alias {model.id} -c {context}{gpu} '
            "--jinja &"
        )
        url = f"http://{host}:{port}/v1"
        backend = {"name": name, "kind": "openai", "base_url": url, "dialect": "llamacpp"}
        backends.append(_keyed(backend))
        rows.append(served(pick, needs, name, model.id))
    return EnginePlan(tuple(backends), tuple(rows), tuple(commands))


def _localai(picks: Sequence[Pick], needs: Needs, host: str) -> EnginePlan:
    backend = _keyed(
        {"name": "localai", "kind": "openai", "base_url": f"http://{host}:{LOCALAI_PORT}/v1"}
    )
    commands = [
        "# LocalAI: one container serving every GGUF file described in ./models.",
        "# Put each GGUF file (converted from the Hugging Face weights named below) in ./models.",
        *_key_guard(),
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
            *(["gpu_layers: 999", "f16: true"] if needs.on_gpu else []),  # every layer on it
            "parameters:",
            f"  model: {gguf_file(model, pick.quant)}",
            "YAML",
        ]
        rows.append(served(pick, needs, "localai", model.id))
    image, gpus = (LOCALAI_GPU_IMAGE, " --gpus all") if needs.on_gpu else (LOCALAI_IMAGE, "")
    publish = f"127.0.0.1:{LOCALAI_PORT}" if _bind(host) == "127.0.0.1" else str(LOCALAI_PORT)
    commands.append(
        f'docker run -d --name local-ai{gpus} -p {publish}:8080 -v "$PWD/models:/models" '
        f'-e LOCALAI_MODELS_PATH=/models -e API_KEY="${ENGINE_KEY_ENV}" {image}'
    )
    return EnginePlan((backend,), tuple(rows), tuple(commands))
