"""The served OpenAPI schema describes the real request bodies, answers and errors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from stellwerk.config import parse_config
from stellwerk.gateway import create_app
from stellwerk.gateway.completions_api import CompletionRequest
from stellwerk.gateway.embedding_schema import EmbeddingRequest
from stellwerk.gateway.feedback_api import FeedbackRequest
from stellwerk.gateway.ollama_manage import ManageRequest
from stellwerk.gateway.ollama_wire import (
    OllamaChatRequest,
    OllamaEmbeddingsRequest,
    OllamaEmbedRequest,
    OllamaGenerateRequest,
    ShowRequest,
)
from stellwerk.gateway.openai_schema import ChatCompletionRequest
from stellwerk.gateway.responses_schema import ResponseRequest
from tests.fixtures.gateway import ENVIRON, in_process, raw_config

BODIES: dict[tuple[str, str], type[BaseModel]] = {
    ("post", "/v1/chat/completions"): ChatCompletionRequest,
    ("post", "/v1/responses"): ResponseRequest,
    ("post", "/v1/completions"): CompletionRequest,
    ("post", "/v1/embeddings"): EmbeddingRequest,
    ("post", "/v1/feedback"): FeedbackRequest,
    ("post", "/api/chat"): OllamaChatRequest,
    ("post", "/api/generate"): OllamaGenerateRequest,
    ("post", "/api/embed"): OllamaEmbedRequest,
    ("post", "/api/embeddings"): OllamaEmbeddingsRequest,
    ("post", "/api/show"): ShowRequest,
    ("post", "/api/pull"): ManageRequest,
    ("delete", "/api/delete"): ManageRequest,
}


@pytest.fixture(scope="module")
def schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    folder = tmp_path_factory.mktemp("openapi")
    raw = raw_config("http://127.0.0.1:9", f"sqlite:///{folder / 'ledger.db'}")
    with in_process(raw) as gw:
        yield gw.get("/openapi.json").json()


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def test_every_reference_resolves_and_no_defs_are_left(schema: dict[str, Any]) -> None:
    components = schema["components"]["schemas"]
    refs = set(_refs(schema))
    assert len(refs) > 20
    for ref in refs:
        assert ref.startswith("#/components/schemas/") and ref.split("/")[-1] in components
    assert "$defs" not in json.dumps(schema)


@pytest.mark.parametrize(("method", "path"), list(BODIES))
def test_bodies_are_the_models_the_handlers_parse(
    schema: dict[str, Any], method: str, path: str
) -> None:
    operation = schema["paths"][path][method]
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    model = BODIES[(method, path)]
    assert body == {"$ref": f"#/components/schemas/{model.__name__}"}
    documented = schema["components"]["schemas"][model.__name__]
    fields = set(model.model_fields)
    if model is ResponseRequest:  # a chat request's parameters, and OpenAI's service settings
        fields |= set(ChatCompletionRequest.model_fields) - {"messages"}
    assert set(documented["properties"]) == fields
    assert operation["security"] == [{"bearer": []}]


OPENAI_BODIES = [model for (_, path), model in BODIES.items() if path.startswith("/v1/")][:4]


@pytest.mark.parametrize("model", OPENAI_BODIES, ids=[m.__name__ for m in OPENAI_BODIES])
def test_an_openai_body_takes_no_parameter_it_does_not_name(
    schema: dict[str, Any], model: type[BaseModel]
) -> None:
    """A parameter the gateway does not know is refused (unless null, which asks for nothing):
    a client generated from the schema, or a fuzzer, must not read that any is taken."""
    documented = schema["components"]["schemas"][model.__name__]
    assert documented["additionalProperties"] == {"type": "null"}
    assert "chat_template_kwargs" not in documented["properties"]


def test_the_parameters_an_operator_lets_pass_are_documented(tmp_path: Path) -> None:
    raw = raw_config("http://127.0.0.1:9", f"sqlite:///{tmp_path / 'ledger.db'}")
    raw["backends"][0]["pass_params"] = ["chat_template_kwargs", "n_keep"]
    with in_process(raw) as gw:
        schemas = gw.get("/openapi.json").json()["components"]["schemas"]
    for model in OPENAI_BODIES:
        documented = schemas[model.__name__]
        assert {"chat_template_kwargs", "n_keep"} <= set(documented["properties"])
        assert "backends[].pass_params" in documented["properties"]["n_keep"]["description"]
        assert documented["additionalProperties"] == {"type": "null"}


def test_errors_use_the_envelope_of_their_api(schema: dict[str, Any]) -> None:
    keyed = ("/v1/", "/api/", "/admin/")
    for path, operations in schema["paths"].items():
        for operation in operations.values():
            envelope = "OllamaError" if path.startswith("/api/") else "OpenAIError"
            errors = {c: r for c, r in operation["responses"].items() if c[0] in "45"}
            assert "422" not in errors, path  # validation errors are rendered as 400
            if path.startswith(keyed) and path != "/api/version":
                assert "401" in errors, path
                assert operation["security"] == [{"bearer": []}], path
            for code, response in errors.items():
                if path.startswith(keyed):
                    ref = response["content"]["application/json"]["schema"]["$ref"]
                    assert ref.endswith("/" + envelope), (path, code)


@pytest.mark.parametrize(
    ("path", "answer"),
    [
        ("/v1/chat/completions", "ChatCompletion"),
        ("/v1/responses", "ResponseObject"),
        ("/v1/completions", "TextCompletion"),
    ],
)
def test_openai_endpoints_document_their_answer_and_stream(
    schema: dict[str, Any], path: str, answer: str
) -> None:
    ok = schema["paths"][path]["post"]["responses"]["200"]["content"]
    assert set(ok) == {"application/json", "text/event-stream"}
    assert ok["application/json"]["schema"] == {"$ref": f"#/components/schemas/{answer}"}


def test_ollama_chat_documents_its_stream(schema: dict[str, Any]) -> None:
    ollama_ok = schema["paths"]["/api/chat"]["post"]["responses"]["200"]["content"]
    assert set(ollama_ok) == {"application/json", "application/x-ndjson"}


def test_schema_is_built_once_on_first_use(tmp_path: Path) -> None:
    """Building the app does not build the schema; the first use does, later uses reuse it."""
    raw = raw_config("http://127.0.0.1:9", f"sqlite:///{tmp_path / 'ledger.db'}")
    app = create_app(parse_config(raw), environ=ENVIRON)
    assert app.openapi_schema is None
    built = app.openapi()
    assert app.openapi() is built


def test_two_request_schemas_of_one_name_are_refused() -> None:
    """Components are one flat namespace: a second ``FunctionCall`` of another shape would
    silently replace the first (and the fuzzer would test the wrong one)."""
    from stellwerk.gateway.openapi import component_schemas

    def body(shape: type) -> type[BaseModel]:
        part = type("Part", (BaseModel,), {"__annotations__": {"value": shape}})
        return type("Body", (BaseModel,), {"__annotations__": {"part": part}})

    assert "Part" in component_schemas([body(int)])
    with pytest.raises(ValueError, match="'Part'"):
        component_schemas([body(int), body(str)])


def test_the_admin_apis_403_says_which_roles_may_call_it(schema: dict[str, Any]) -> None:
    """It said "The key's department may not use this model." (the model APIs' 403), which
    tells a client nothing of the viewer role that reads and may not change."""
    for path, operations in schema["paths"].items():
        if path.startswith("/admin/"):
            for operation in operations.values():
                said = operation["responses"]["403"]["description"]
                assert "admin or viewer key" in said and "a change an admin key" in said, path


def test_the_key_list_says_it_holds_the_configs_keys_too(schema: dict[str, Any]) -> None:
    """``GET /admin/keys`` was described as "Keys made through the CLI or this API"; it lists
    the config file's keys too, each with its ``source`` (walk 17, 11)."""
    said = schema["paths"]["/admin/keys"]["get"]["description"]
    assert "config file's" in said and "``source: config``" in said
    assert "``source: database``" in said and "``created_at`` null" in said
