"""--discover against a real HTTP server on loopback, and against nothing at all."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from stellwerk.configurator.discover import discover, match_name, served_from
from stellwerk.configurator.engines import Served
from stellwerk.configurator.needs import Needs
from stellwerk.configurator.writer import build_config, validate
from stellwerk.errors import BackendFailed, BackendUnavailable
from stellwerk.modelfacts import load_catalog
from tests.configurator.model_server import Routes, ollama_tags, openai_models

CATALOG = load_catalog()
Server = Callable[[Routes], str]


def _by_id(rows: tuple[Served, ...]) -> dict[str, Served]:
    return {row.model_id: row for row in rows}


def test_ollama_server_models_are_matched_to_catalog_facts(model_server: Server) -> None:
    url = model_server(
        {
            "/api/tags": (
                200,
                ollama_tags(
                    ("ministral-3:8b", "8.9B", "Q4_K_M"),
                    ("llama3.1:8b-instruct-q8_0", "8.0B", "Q8_0"),
                    ("gemma3:1b", "999.89M", "Q4_K_M"),
                    ("my-finetune:latest", "7.2B", "Q4_K_M"),
                ),
            )
        }
    )
    found = discover(url, CATALOG)
    assert found.protocol == "ollama" and found.base_url == url
    matches = {f.name: (f.match.id if f.match else None, f.how) for f in found.found}
    assert matches["ministral-3:8b"] == ("ministral-3-8b", "Ollama tag")
    assert matches["llama3.1:8b-instruct-q8_0"][0] == "llama-3.1-8b"
    assert matches["gemma3:1b"][0] == "gemma-3-1b"
    assert matches["my-finetune:latest"][0] is None
    assert found.found[2].params_b == pytest.approx(0.99989)

    rows, report = served_from(found, Needs(engine="ollama"))
    by_id = _by_id(rows)
    assert by_id["ministral-3-8b"].upstream == "ministral-3:8b"
    assert by_id["ministral-3-8b"].licence == "Apache-2.0"
    assert by_id["llama-3.1-8b"].upstream == "llama3.1:8b-instruct-q8_0"
    unknown = by_id["my-finetune:latest"]
    assert unknown.lifecycle == "proposed" and unknown.params_b == 7.2
    assert [r.size_class for r in rows] == ["small", "small", "medium", "large"]
    assert any("my-finetune:latest" in line and "proposed" in line for line in report)

    config = validate(
        build_config(
            [{"name": "ollama", "kind": "ollama", "base_url": found.base_url}],
            rows,
            department="default",
            classification="internal",
        )
    )
    assert {m.id for m in config.models} == set(by_id)


def test_openai_compatible_server_is_read_from_v1_models(model_server: Server) -> None:
    url = model_server(
        {
            "/v1/models": (
                200,
                openai_models(
                    "mistralai/Ministral-3-14B-Instruct-2512",
                    "/models/EuroLLM-9B-Instruct-Q4_K_M.gguf",
                    "apertus-8b",
                    "something-else",
                ),
            )
        }
    )
    found = discover(url, CATALOG)
    assert found.protocol == "openai"
    assert found.base_url == f"{url}/v1"
    matched = {f.name: f.match.id if f.match else None for f in found.found}
    assert matched == {
        "mistralai/Ministral-3-14B-Instruct-2512": "ministral-3-14b",
        "/models/EuroLLM-9B-Instruct-Q4_K_M.gguf": "eurollm-9b",
        "apertus-8b": "apertus-8b",
        "something-else": None,
    }
    rows, report = served_from(found, Needs(engine="vllm", languages=("de",)))
    assert {r.model_id for r in rows} == {"ministral-3-14b", "eurollm-9b", "apertus-8b"}
    assert any("something-else" in line and "left out" in line for line in report)
    assert _by_id(rows)["eurollm-9b"].upstream == "/models/EuroLLM-9B-Instruct-Q4_K_M.gguf"


def test_url_with_v1_goes_straight_to_the_openai_listing(model_server: Server) -> None:
    url = model_server({"/v1/models": (200, openai_models("qwen3:8b"))})
    found = discover(f"{url}/v1/", CATALOG)
    assert found.protocol == "openai"
    assert found.found[0].match is not None and found.found[0].match.id == "qwen3-8b"


def test_discovered_model_failing_a_need_is_proposed_not_approved(model_server: Server) -> None:
    url = model_server({"/api/tags": (200, ollama_tags(("phi4:14b", "14.7B", "Q4_K_M")))})
    rows, report = served_from(discover(url, CATALOG), Needs(engine="ollama", languages=("de",)))
    assert rows[0].lifecycle == "proposed"
    assert "does not list de" in report[0]


def test_unreachable_url_is_a_clear_error(closed_port_url: str) -> None:
    with pytest.raises(BackendUnavailable, match="cannot connect"):
        discover(closed_port_url, CATALOG, timeout_s=2)


def test_a_server_that_speaks_neither_protocol_is_named(model_server: Server) -> None:
    url = model_server({"/api/tags": (200, "<html>hello</html>")})
    with pytest.raises(BackendFailed, match=r"/api/tags: not JSON; /v1/models: HTTP 404"):
        discover(url, CATALOG)


def test_not_a_url_is_refused() -> None:
    with pytest.raises(BackendUnavailable, match="not an http"):
        discover("localhost:11434", CATALOG)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("qwen3:8b", "qwen3-8b"),
        ("QWEN3:8B", "qwen3-8b"),
        ("Qwen/Qwen3-8B", "qwen3-8b"),
        ("qwen3-8b-q4_k_m.gguf", "qwen3-8b"),
        ("models/Qwen3-8B-Q8_0.gguf", "qwen3-8b"),
        ("gemma3:12b-it-q8_0", "gemma-3-12b"),
        ("qwen3:latest", None),
        ("llama3", None),
    ],
)
def test_name_matching(name: str, expected: str | None) -> None:
    model, _ = match_name(name, CATALOG)
    assert (model.id if model else None) == expected


def test_sizes_and_context_reported_by_llamacpp_and_vllm_are_used(model_server: Server) -> None:
    """llama.cpp's server reports ``meta.n_params`` and ``meta.n_ctx_train``; vLLM reports
    ``max_model_len``, the context it was started with."""
    listing = openai_models("house-model-q4.gguf", "mistralai/Ministral-3-8B-Instruct-2512")
    data = listing["data"]
    assert isinstance(data, list)
    data[0]["meta"] = {"n_params": 7_241_732_096, "n_ctx_train": 32768}
    data[1]["max_model_len"] = 4096
    url = model_server({"/v1/models": (200, listing)})
    found = discover(url, CATALOG)
    assert found.found[0].params_b == pytest.approx(7.241732096)
    rows, _ = served_from(found, Needs(engine="vllm", context=16384))
    by_id = _by_id(rows)
    assert by_id["house-model-q4.gguf"].params_b == pytest.approx(7.241732096)
    assert by_id["house-model-q4.gguf"].context_length == 16384
    assert by_id["ministral-3-8b"].context_length == 4096, "the server's limit wins"


def test_what_an_unknown_model_can_do_is_read_or_probed(model_server: Server) -> None:
    """An OpenAI-compatible server: a model answering /v1/embeddings but not chat embeds, one
    answering both does both, one named ``*embed*`` embeds unprobed, the rest chat. Ollama says
    it in /api/show."""
    vector = {"object": "list", "data": [{"object": "embedding", "embedding": [0.1]}]}
    answer = {"object": "chat.completion", "choices": []}
    url = model_server(
        {
            "/v1/models": (
                200,
                openai_models("vectors-7b", "both-7b", "house-embed-1b", "house-chat-7b"),
            ),
            "POST /v1/embeddings": (200, {"vectors-7b": vector, "both-7b": vector}),
            "POST /v1/chat/completions": (200, {"both-7b": answer, "house-chat-7b": answer}),
        }
    )
    rows, report = served_from(discover(url, CATALOG), Needs(engine="vllm"))
    assert {r.model_id: r.capabilities for r in rows} == {
        "vectors-7b": ("embeddings",),
        "both-7b": ("chat", "embeddings"),
        "house-embed-1b": ("embeddings",),
        "house-chat-7b": ("chat",),
    }
    assert {r.model_id: r.size_class for r in rows}["house-embed-1b"] == "small"
    assert any("vectors-7b" in line and "as an embedding model" in line for line in report)
    show = {"nomic-thing:v1": {"capabilities": ["embedding"]}, "house:v2": {"capabilities": []}}
    url = model_server(
        {
            "/api/tags": (
                200,
                ollama_tags(("nomic-thing:v1", "137M", "F16"), ("house:v2", "7B", "")),
            ),
            "POST /api/show": (200, show),
        }
    )
    rows, _ = served_from(discover(url, CATALOG), Needs(engine="ollama"))
    assert {r.upstream: r.capabilities for r in rows} == {
        "nomic-thing:v1": ("embeddings",),
        "house:v2": ("chat",),
    }


def test_a_model_that_thinks_is_written_with_the_thinking_capability(
    model_server: Server,
) -> None:
    """A model Ollama's /api/show says thinks, and a reasoning model of the catalog (Qwen3), are
    written with ``thinking`` (requests asking a model to think go only to such); one that does
    not think (Gemma 3) without it."""
    show = {"house-r1:7b": {"capabilities": ["completion", "tools", "thinking"]}}
    url = model_server(
        {
            "/api/tags": (
                200,
                ollama_tags(
                    ("house-r1:7b", "7B", "Q4_K_M"),
                    ("qwen3:8b", "8.2B", "Q4_K_M"),
                    ("gemma3:1b", "999.89M", "Q4_K_M"),
                ),
            ),
            "POST /api/show": (200, show),
        }
    )
    found = discover(url, CATALOG)
    rows, _ = served_from(found, Needs(engine="ollama"))
    config = validate(
        build_config(
            [{"name": "ollama", "kind": "ollama", "base_url": found.base_url}],
            rows,
            department="default",
            classification="internal",
        )
    )
    assert {m.upstream: m.capabilities for m in config.models} == {
        "house-r1:7b": ("chat", "tools", "thinking", "json"),
        "qwen3:8b": ("chat", "tools", "thinking", "json"),
        "gemma3:1b": ("chat", "json"),
    }


def _owned(owner: str, *ids: str) -> dict[str, object]:
    listing = openai_models(*ids)
    data = listing["data"]
    assert isinstance(data, list)
    for entry in data:
        entry["owned_by"] = owner
    return listing


LLAMA_SERVER = _owned("llamacpp", "house-chat-7b")


@pytest.mark.parametrize(
    ("routes", "engine", "dialect", "capabilities"),
    [
        ({"/v1/models": (200, LLAMA_SERVER)}, "llamacpp", "llamacpp", ["chat", "json"]),
        (  # a llama-server that lists its models on /api/tags too, in both shapes
            {
                "/api/tags": (200, {**ollama_tags(("house-chat-7b", "7B", "")), **LLAMA_SERVER}),
                "/v1/models": (200, LLAMA_SERVER),
            },
            "llamacpp",
            "llamacpp",
            ["chat", "json"],
        ),
        (  # llama-cpp-python: owned_by "me", its OpenAPI document's title names llama.cpp
            {
                "/v1/models": (200, openai_models("house-chat-7b")),
                "/openapi.json": (200, {"info": {"title": "🦙 llama.cpp Python API"}}),
            },
            "llamacpp",
            "llamacpp",
            ["chat", "json"],
        ),
        ({"/v1/models": (200, _owned("vllm", "house-chat-7b"))}, "vllm", None, ["chat", "json"]),
        ({"/v1/models": (200, openai_models("house-chat-7b"))}, None, None, ["chat"]),
    ],
    ids=["llama-server", "llama-server-api-tags", "llama-cpp-python", "vllm", "unrecognised"],
)
def test_the_server_is_recognised_and_json_claimed_only_where_it_holds(
    model_server: Server,
    routes: Routes,
    engine: str | None,
    dialect: str | None,
    capabilities: list[str],
) -> None:
    """llama.cpp takes a JSON schema only in its own form (``dialect: llamacpp``); a server
    recognised as none of llama.cpp, vLLM, Ollama is not promised to keep answers to one, so
    its chat models are written without ``json`` (a JSON request is then refused by the
    gateway, naming the capability, instead of failing at the server)."""
    found = discover(model_server(routes), CATALOG)
    assert (found.protocol, found.engine, found.dialect) == ("openai", engine, dialect)
    rows, report = served_from(found, Needs(engine="vllm"))
    config = validate(
        build_config(
            [{"name": "discovered", "kind": "openai", "base_url": found.base_url}],
            rows,
            department="default",
            classification="internal",
        )
    )
    assert [list(m.capabilities) for m in config.models] == [capabilities]
    said = any("written without json" in line for line in report)
    assert said is (engine is None)
