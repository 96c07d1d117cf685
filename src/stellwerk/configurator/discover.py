"""``stellwerk init --discover URL``: read the models a running server already has and match
them to catalog facts.

The server is asked as Ollama first (``GET /api/tags``), then as an OpenAI-compatible server
(``GET /v1/models``: vLLM, llama.cpp, LocalAI, and Ollama's own compatibility layer). A name
matches a catalog entry by its Ollama tag, its Hugging Face id (or the repository name inside
a file name, as llama.cpp reports GGUF paths), or its catalog id (the served name ``stellwerk
init`` gives models on vLLM and llama.cpp). Models the catalog does not know are kept, marked
``proposed`` so the gateway serves them only once someone approves them (``stellwerk catalog
set``). What such a model can do is read from the server where it says so (Ollama's
``/api/show`` capabilities), else probed: a model whose name says ``embed``, or that answers
``/v1/embeddings`` but not a one-token chat, is an embedding model; any other is a chat model.

Which server it is decides what the gateway may ask of it: llama.cpp (its ``llama-server`` names
itself in ``/v1/models`` as ``owned_by: llamacpp``; llama-cpp-python's server in the title of its
``/openapi.json``) takes JSON schemas only in its own form (the config's ``dialect: llamacpp``);
vLLM (``owned_by: vllm``) and Ollama take OpenAI's. On a server it does not recognise, nothing
says it constrains an answer to a schema, so its models are written without ``json``.

Where the server runs is not read from it: an address does not say it (a loopback or private
address can be a tunnel or a VPN to a cloud), so the hosting is the operator's to state.
Discovery reads what a server calls its models, which is not proof of their weights, so even a
model the catalog knows is written ``approved`` only when the operator says so.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Literal

import httpx

from stellwerk.config.schema import Hosting
from stellwerk.configurator.engines import UNKNOWN_CONTEXT, Served
from stellwerk.configurator.needs import Needs
from stellwerk.errors import BackendFailed, BackendTimeout, BackendUnavailable
from stellwerk.modelfacts import Catalog, CatalogModel

Protocol = Literal["ollama", "openai"]
Engine = Literal["ollama", "llamacpp", "vllm"]

_QUANT_SUFFIX = re.compile(
    r"([-._](q[2-8](_k)?(_[a-z0-9]+)?|iq[1-4]_[a-z0-9]+|f16|bf16|fp16|fp8|int[48]|awq|gptq|gguf))+$"
)
_SIZE = re.compile(r"(?<![a-z0-9.])(\d+(?:\.\d+)?)b(?![a-z0-9])")
_ID_BAD = re.compile(r"[^A-Za-z0-9._:/-]+")
ROUTE = "a Stellwerk route (it chooses among that gateway's models), not a model"
_EMBED_NAME = re.compile(r"embed", re.IGNORECASE)
# servers that give their own name as every /v1/models entry's owned_by (llama.cpp's
# tools/server: "llamacpp"; vLLM's OpenAI protocol: "vllm"); OpenAI's field says who owns a model,
# so only these known self-names are read as the server's
_OWNED_BY: dict[str, Engine] = {"llamacpp": "llamacpp", "vllm": "vllm"}
# Ollama's /api/show capabilities -> ours ("completion" is its word for generating text)
_OLLAMA_CAN = {
    "completion": "chat",
    "embedding": "embeddings",
    "tools": "tools",
    "vision": "vision",
    "thinking": "thinking",
}


@dataclass(frozen=True, slots=True)
class Found:
    """One model the server reported, and what the catalog knows about it."""

    name: str
    params_b: float | None
    quantization: str | None
    match: CatalogModel | None
    how: str
    context_length: int | None = None
    capabilities: tuple[str, ...] | None = None  # read or probed; None: not known (chat)
    route: bool = False  # a Stellwerk gateway's route (``details.format: stellwerk-route``)


@dataclass(frozen=True, slots=True)
class Discovery:
    url: str
    protocol: Protocol
    base_url: str
    found: tuple[Found, ...]
    engine: Engine | None = None  # the server recognised; None: an OpenAI-compatible one

    @property
    def dialect(self) -> str | None:
        """The config's ``backends[].dialect`` for this server, where it needs one."""
        return "llamacpp" if self.engine == "llamacpp" else None


def discover(
    url: str, catalog: Catalog, *, timeout_s: float = 5.0, key: str | None = None
) -> Discovery:
    """Ask the server at ``url`` which models it serves (``key``: sent as a bearer token).
    Raises ``BackendUnavailable`` when nothing answers, ``BackendTimeout`` when it answers too
    slowly, ``BackendFailed`` when it answers neither protocol."""
    url = url.rstrip("/")
    if not re.match(r"^https?://[^\s/]+", url):
        raise BackendUnavailable(url, "not an http(s) URL")
    root = url.removesuffix("/v1")
    headers = {"authorization": f"Bearer {key}"} if key else {}
    with httpx.Client(timeout=timeout_s, follow_redirects=True, headers=headers) as client:
        answers: list[str] = []
        if not url.endswith("/v1"):
            tags = _get(client, url, f"{root}/api/tags")
            ollama = isinstance(tags, dict) and isinstance(tags.get("models"), list)
            if ollama and _owned_by(tags) is None:  # llama-server lists /api/tags too
                assert isinstance(tags, dict)
                found = tuple(_from_ollama(item, catalog) for item in tags["models"])
                found = tuple(_shown(client, root, f) for f in found)
                return Discovery(url, "ollama", root, found, "ollama")
            answers.append(f"/api/tags: {_describe(tags)}")
        listing = _get(client, url, f"{root}/v1/models")
        if isinstance(listing, dict) and isinstance(listing.get("data"), list):
            found = tuple(_from_openai(item, catalog) for item in listing["data"])
            found = tuple(_probed(client, root, f) for f in found)
            engine = _owned_by(listing) or _openapi_engine(client, root)
            return Discovery(url, "openai", f"{root}/v1", found, engine)
        answers.append(f"/v1/models: {_describe(listing)}")
    raise BackendFailed(
        url,
        "answers neither as Ollama nor as an OpenAI-compatible server (" + "; ".join(answers) + ")",
    )


class _Status:
    def __init__(self, code: int) -> None:
        self.code = code


def _get(client: httpx.Client, url: str, endpoint: str) -> object:
    try:
        response = client.get(endpoint)
    except httpx.TimeoutException as exc:
        raise BackendTimeout(url, f"no answer within {client.timeout.read}s") from exc
    except httpx.TransportError as exc:
        raise BackendUnavailable(url, f"cannot connect ({exc.__class__.__name__}: {exc})") from exc
    if response.status_code != 200:
        return _Status(response.status_code)
    try:
        return response.json()
    except ValueError:
        return "not JSON"


def _owned_by(listing: object) -> Engine | None:
    """The server, when every entry of a listing's ``data`` names it as ``owned_by``."""
    entries = listing.get("data") if isinstance(listing, dict) else None
    if not isinstance(entries, list) or not entries:
        return None
    owners = {entry.get("owned_by") if isinstance(entry, dict) else None for entry in entries}
    owner = owners.pop() if len(owners) == 1 else None
    return _OWNED_BY.get(owner) if isinstance(owner, str) else None


def _openapi_engine(client: httpx.Client, root: str) -> Engine | None:
    """llama-cpp-python's server, which lists its models as ``owned_by: me``: the title of its
    OpenAPI document names llama.cpp (``🦙 llama.cpp Python API``)."""
    try:
        response = client.get(f"{root}/openapi.json")
        document = response.json() if response.status_code == 200 else None
    except (httpx.HTTPError, ValueError):
        return None
    info = document.get("info") if isinstance(document, dict) else None
    title = info.get("title") if isinstance(info, dict) else None
    return "llamacpp" if isinstance(title, str) and "llama.cpp" in title else None


def _shown(client: httpx.Client, root: str, found: Found) -> Found:
    """An Ollama model the catalog does not know: its parameter count (when the listing gives
    none) and its capabilities from ``/api/show``, where the server says them."""
    if found.route:
        return found
    try:
        response = client.post(f"{root}/api/show", json={"model": found.name})
        shown = response.json() if response.status_code == 200 else None
    except (httpx.HTTPError, ValueError):
        shown = None
    if not isinstance(shown, dict):
        return (
            found if found.match is not None else replace(found, capabilities=_by_name(found.name))
        )
    info = shown.get("model_info")
    context = _ollama_context(info)
    if context is not None:
        found = replace(found, context_length=context)
    if found.match is not None:
        return found
    count = info.get("general.parameter_count") if isinstance(info, dict) else None
    if (
        found.params_b is None
        and isinstance(count, int | float)
        and not isinstance(count, bool)
        and count > 0
    ):
        found = replace(found, params_b=count / 1e9)
    said = shown.get("capabilities")
    if isinstance(said, list) and said:
        capabilities = tuple(dict.fromkeys(_OLLAMA_CAN[c] for c in said if c in _OLLAMA_CAN))
        return replace(found, capabilities=capabilities or None)
    return replace(found, capabilities=_by_name(found.name))


def _ollama_context(info: object) -> int | None:
    """The context length Ollama's ``/api/show`` gives in ``model_info`` under
    ``<architecture>.context_length`` (``llama.context_length``: 131072)."""
    if not isinstance(info, dict):
        return None
    arch = info.get("general.architecture")
    keys = [f"{arch}.context_length"] if isinstance(arch, str) else []
    keys += [key for key in info if isinstance(key, str) and key.endswith(".context_length")]
    for key in keys:
        value = info.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None


def _probed(client: httpx.Client, root: str, found: Found) -> Found:
    """A model of an OpenAI-compatible server the catalog does not know: an embedding model
    when its name says so, or when it answers ``/v1/embeddings`` and refuses a one-token chat."""
    if found.match is not None:
        return found
    named = _by_name(found.name)
    if named is not None:
        return replace(found, capabilities=named)
    if not _answers(client, f"{root}/v1/embeddings", {"model": found.name, "input": "ping"}):
        return found
    chat = {
        "model": found.name,
        "messages": [{"role": "user", "content": "ping"}],
        "max_tokens": 1,
    }
    if _answers(client, f"{root}/v1/chat/completions", chat):
        return replace(found, capabilities=("chat", "embeddings"))
    return replace(found, capabilities=("embeddings",))


def _by_name(name: str) -> tuple[str, ...] | None:
    return ("embeddings",) if _EMBED_NAME.search(name) else None


def _answers(client: httpx.Client, endpoint: str, body: Mapping[str, object]) -> bool:
    """Whether ``endpoint`` answers ``body`` with 200 and JSON (any failure: no)."""
    try:
        response = client.post(endpoint, json=body)
        return response.status_code == 200 and isinstance(response.json(), dict)
    except (httpx.HTTPError, ValueError):
        return False


def _describe(answer: object) -> str:
    if isinstance(answer, _Status):
        return f"HTTP {answer.code}"
    if isinstance(answer, str):
        return answer
    return "JSON of an unexpected shape"


def _from_ollama(item: object, catalog: Catalog) -> Found:
    if not isinstance(item, dict):
        return Found(str(item), None, None, None, "not a model entry")
    name = str(item.get("name") or item.get("model") or "")
    details = item.get("details") if isinstance(item.get("details"), dict) else {}
    assert isinstance(details, dict)
    params = _parse_size(str(details.get("parameter_size", "")))
    quant = details.get("quantization_level")
    if details.get("format") == "stellwerk-route":
        return Found(name, None, None, None, ROUTE, route=True)
    model, how = match_name(name, catalog)
    return Found(name, params, str(quant) if quant else None, model, how)


def _from_openai(item: object, catalog: Catalog) -> Found:
    """An entry of ``/v1/models``. llama.cpp's server adds ``meta.n_params`` (and
    ``meta.n_ctx_train``), vLLM ``max_model_len``: used where present."""
    if not isinstance(item, dict):
        return Found(str(item), None, None, None, "not a model entry")
    name = str(item.get("id", ""))
    meta = item.get("meta") if isinstance(item.get("meta"), dict) else {}
    assert isinstance(meta, dict)
    n_params = meta.get("n_params")
    params = n_params / 1e9 if isinstance(n_params, int | float) and n_params > 0 else None
    context = item.get("max_model_len") or meta.get("n_ctx_train")
    model, how = match_name(name, catalog)
    found_context = context if isinstance(context, int) and context > 0 else None
    return Found(name, params, None, model, how, found_context)


def _parse_size(text: str) -> float | None:
    """Ollama's ``parameter_size``: ``"8.0B"``, ``"494.03M"``."""
    found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([BMK])\s*", text, re.IGNORECASE)
    if not found:
        return None
    scale = {"B": 1.0, "M": 1e-3, "K": 1e-6}[found.group(2).upper()]
    return float(found.group(1)) * scale


def _stem(name: str) -> str:
    """Lower-case, last path component, no ``.gguf`` and no quantisation suffix."""
    stem = name.strip().lower().rsplit("/", 1)[-1].removesuffix(".gguf")
    return _QUANT_SUFFIX.sub("", stem)


def match_name(name: str, catalog: Catalog) -> tuple[CatalogModel | None, str]:
    """The catalog entry ``name`` refers to, and how the match was made."""
    lowered = name.strip().lower()
    for model in catalog:
        if model.ollama_tag and lowered == model.ollama_tag.lower():
            return model, "Ollama tag"
    for model in catalog:
        if model.hf_id and lowered == model.hf_id.lower():
            return model, "Hugging Face id"
    for model in catalog:
        if lowered == model.id:
            return model, "catalog id"
    if ":" in lowered and "/" not in lowered:
        repo, tag = lowered.split(":", 1)
        for model in catalog:
            if model.ollama_tag is None:
                continue
            cat_repo, cat_tag = model.ollama_tag.lower().split(":", 1)
            if repo == cat_repo and tag.startswith(cat_tag + "-"):
                return model, f"Ollama tag (a build of {model.ollama_tag})"
        if tag == "latest":
            return None, "':latest' does not say which size (pull a size tag)"
    stem = _stem(lowered)
    for model in catalog:
        if model.hf_id and stem == _stem(model.hf_id):
            return model, "Hugging Face repository name"
    return None, "not in the catalog"


def unsized(discovery: Discovery) -> list[str]:
    """The names of the models whose size nobody said (not the server, not the catalog, not
    the name): the operator is asked for them, or they are left out."""
    return [
        f.name
        for f in discovery.found
        if f.match is None and (f.params_b or _size_in_name(f.name)) is None
    ]


def served_from(
    discovery: Discovery,
    needs: Needs,
    sizes: Mapping[str, float] | None = None,
    *,
    hosting: Hosting | None = None,
    approve: bool = False,
) -> tuple[tuple[Served, ...], list[str]]:
    """The models to configure, with size classes by size, and what to tell the operator.
    ``sizes``: billions of parameters the operator gave (``--size``, or asked on a terminal) for
    models the catalog does not know; they win over what the server or the name says.
    ``hosting``: where the server runs, as the operator stated it (None: not stated, written
    without one). ``approve``: the operator approves the models the catalog knows and that meet
    the needs; every other model, and all without it, are ``proposed``."""
    sizes = sizes or {}
    backend = "ollama" if discovery.protocol == "ollama" else "discovered"
    rows: list[tuple[float, Served]] = []
    report: list[str] = []
    for found in discovery.found:
        if found.route:
            report.append(f"{found.name}: {ROUTE}; left out")
            continue
        if found.match is not None:
            if found.name in sizes:
                report.append(
                    f"{found.name}: --size ignored, the catalog knows it"
                    f" ({found.match.effective_params_b:g}B)"
                )
            row, problem = _known(found, found.match, backend, needs, approve)
            if problem:
                report.append(f"{found.name}: {problem}; added as 'proposed', not approved")
            rows.append((found.match.effective_params_b, row))
            report += _assumed(found, row)
            continue
        params = sizes.get(found.name) or found.params_b or _size_in_name(found.name)
        if params is None:
            report.append(
                f"{found.name}: {found.how}; its size is unknown, so it is left out (give it "
                f"with --size {found.name}=BILLIONS, or run init on a terminal to be asked, or "
                "add it to the config with its params_b)"
            )
            continue
        kind = "" if "chat" in (found.capabilities or ("chat",)) else " as an embedding model"
        report.append(
            f"{found.name}: {found.how}; added as 'proposed'{kind} with {params:g}B parameters"
        )
        row = _unknown(found, params, backend, needs)
        rows.append((params, row))
        report += _assumed(found, row)
    rows.sort(key=lambda pair: pair[0])
    # size classes rank the chat models; a model that only embeds is small and ranks none
    chat = [row for _, row in rows if "chat" in row.capabilities]
    classes = {id(row): _class_of(i, len(chat)) for i, row in enumerate(chat)}
    grammar = discovery.engine is not None
    ordered = [
        replace(
            row, size_class=classes.get(id(row), "small"), hosting=hosting, json_by_grammar=grammar
        )
        for _, row in rows
    ]
    if not grammar and any("chat" in row.capabilities for row in ordered):
        report.append(
            "the server is not recognised as llama.cpp, vLLM or Ollama, so nothing says it keeps "
            "an answer to a JSON schema: its chat models are written without json (add json to "
            "a model's capabilities once you know the server constrains answers to a schema)"
        )
    return tuple(ordered), report


def _assumed(found: Found, row: Served) -> list[str]:
    """What to say when the server did not report a model's context: the context written is
    then an assumption, which the operator should check against how the server runs it."""
    if found.context_length is not None:
        return []
    return [
        f"{found.name}: the server does not report its context length; {row.context_length} "
        "tokens assumed (set context_length in the config to what the server serves)"
    ]


def _class_of(index: int, count: int) -> str:
    if count == 1:
        return "medium"
    if count == 2:
        return ("small", "large")[index]
    if index < count / 3:
        return "small"
    if index >= 2 * count / 3:
        return "large"
    return "medium"


def _known(
    found: Found, model: CatalogModel, backend: str, needs: Needs, approve: bool
) -> tuple[Served, str | None]:
    missing = [code for code in needs.languages if code not in model.languages]
    problem = None
    if missing:
        problem = f"matches {model.id}, which does not list {', '.join(missing)}"
    elif needs.openness == "fully_open" and model.openness != "fully_open":
        problem = f"matches {model.id}, which is open weights only"
    limits = [needs.context, model.context_length or UNKNOWN_CONTEXT]
    if found.context_length is not None:
        limits.append(found.context_length)  # what the server was started with
    context = min(limits)
    row = Served.of(
        model,
        backend=backend,
        upstream=found.name,
        size_class="medium",
        context_length=context,
        lifecycle="approved" if approve and not problem else "proposed",
        notes=(f"matched {model.id} by {found.how}",),
    )
    return row, problem


def _unknown(found: Found, params: float, backend: str, needs: Needs) -> Served:
    slug = _ID_BAD.sub("-", found.name).strip("-./:") or "model"
    if slug.lower().startswith("auto"):
        slug = f"m-{slug}"
    return Served(
        model_id=slug[:128],
        backend=backend,
        upstream=found.name,
        size_class="medium",
        params_b=params,
        active_params_b=params,
        context_length=min(needs.context, found.context_length or UNKNOWN_CONTEXT),
        capabilities=found.capabilities or ("chat",),
        languages=(),
        licence=None,
        openness="open_weights",
        lifecycle="proposed",
        notes=("not in the catalog",),
    )


def _size_in_name(name: str) -> float | None:
    found = _SIZE.search(name.lower())
    return float(found.group(1)) if found else None
