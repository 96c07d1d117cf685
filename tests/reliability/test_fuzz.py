"""Fuzzing: schemathesis generates requests from the served OpenAPI schema of every endpoint and
sends them, with a valid key, through the gateway to the real llama.cpp test backend.

Each operation gets valid (positive) and schema-violating (negative) requests. Every answer must be
no 5xx, documented (status, content type, the error envelope of its API), and a schema-violating
request must be refused with a 4xx. Generated requests keep ``max_tokens`` small and name a real
model most of the time, so the valid ones reach the backend instead of stopping at a 404.

The cases are derandomized (the same every run); set STELLWERK_FUZZ_SEED to explore others and
STELLWERK_FUZZ_SCALE (a factor on the number of cases) to run longer.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from stellwerk.gateway.openai_schema import MODEL_NAME_CHARS
from tests.fixtures.gateway import ENVIRON, KEYS, Gateway, raw_config, running_gateway
from tests.fixtures.llama import LlamaBackend

pytestmark = [pytest.mark.llama, pytest.mark.slow]

# Capitalised as the schema names it, so schemathesis knows the key is the one it must strip
# when it checks that requests without it are refused.
AUTH = {"Authorization": f"Bearer {KEYS['research']}"}
MAX_TOKENS = 4

#: Every operation the gateway serves, with the number of cases per generation mode (times
#: STELLWERK_FUZZ_SCALE, default 1: about 3,700 requests in all).
#: test_every_endpoint_is_fuzzed fails when an endpoint is added without being listed here.
OPERATIONS: dict[tuple[str, str], int] = {
    ("POST", "/v1/chat/completions"): 250,
    ("POST", "/v1/responses"): 250,
    ("POST", "/v1/completions"): 250,
    ("POST", "/v1/embeddings"): 250,
    ("POST", "/v1/feedback"): 100,
    ("GET", "/v1/models"): 10,
    ("GET", "/v1/models/{model}"): 50,
    ("POST", "/api/chat"): 250,
    ("POST", "/api/generate"): 250,
    ("POST", "/api/embed"): 250,
    ("POST", "/api/embeddings"): 100,
    ("POST", "/api/show"): 250,
    ("GET", "/api/tags"): 10,
    ("GET", "/api/ps"): 10,
    ("GET", "/api/version"): 10,
    ("GET", "/"): 5,
    ("POST", "/api/pull"): 25,
    ("POST", "/api/push"): 25,
    ("POST", "/api/create"): 25,
    ("POST", "/api/copy"): 25,
    ("DELETE", "/api/delete"): 25,
    ("GET", "/healthz"): 10,
    ("GET", "/readyz"): 10,
    ("GET", "/metrics"): 10,
    # The admin API, with the fuzzer's user key: refused (403) unless a user key may (the usage
    # report of its own department); bodies and parameters are still validated, never a 5xx.
    ("GET", "/admin/models"): 5,
    ("GET", "/admin/models/{model_id}"): 10,
    ("POST", "/admin/models/{model_id}/lifecycle"): 25,
    ("POST", "/admin/models/{model_id}/consent"): 25,
    ("GET", "/admin/compliance"): 5,
    ("GET", "/admin/use-cases"): 5,
    ("POST", "/admin/use-cases"): 25,
    ("PUT", "/admin/use-cases/{name}"): 25,
    ("GET", "/admin/keys"): 10,
    ("POST", "/admin/keys"): 25,
    ("POST", "/admin/keys/{key_id}/revoke"): 25,
    ("GET", "/admin/limits"): 5,
    ("PUT", "/admin/limits/{kind}/{scope}"): 25,
    ("GET", "/admin/audit"): 10,
    ("GET", "/admin/usage"): 25,
}

#: The admin API, fuzzed with an admin key on a gateway of its own (its changes stay there).
ADMIN_OPERATIONS: dict[tuple[str, str], int] = {
    ("GET", "/admin/models"): 10,
    ("GET", "/admin/models/{model_id}"): 30,
    ("POST", "/admin/models/{model_id}/lifecycle"): 40,
    ("POST", "/admin/models/{model_id}/consent"): 40,
    ("GET", "/admin/compliance"): 10,
    ("GET", "/admin/use-cases"): 10,
    ("POST", "/admin/use-cases"): 40,
    ("PUT", "/admin/use-cases/{name}"): 40,
    ("GET", "/admin/keys"): 30,
    ("POST", "/admin/keys"): 40,
    ("POST", "/admin/keys/{key_id}/revoke"): 40,
    ("GET", "/admin/limits"): 10,
    ("PUT", "/admin/limits/{kind}/{scope}"): 40,
    ("GET", "/admin/audit"): 30,
    ("GET", "/admin/usage"): 30,
}
ADMIN_KEY = "sk-stw-test-admin-0c7e31f5a9d24b68"

SCALE = float(os.environ.get("STELLWERK_FUZZ_SCALE", "1"))

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
    ignored_auth,
]

#: Models substituted for generated names (None keeps the generated one: mostly a 404). One chat
#: model only: the llama.cpp server holds one model at a time, and switching costs a reload.
MODELS = {
    "/v1/chat/completions": ["tiny-small", "auto", "tiny-retired", None],
    "/api/chat": ["tiny-small", "auto", None],
    "/api/generate": ["tiny-small", "auto", None],
    "/v1/responses": ["tiny-small", "auto", "tiny-retired", None],
    "/v1/completions": ["tiny-small", "auto", "tiny-medium", None],
    "/v1/embeddings": ["tiny-embed", "tiny-small", None],
    "/api/embed": ["tiny-embed", None],
    "/api/embeddings": ["tiny-embed", None],
    "/api/show": ["tiny-small", "tiny-embed", None],
    "/v1/models/{model}": ["tiny-small", "auto", "tiny-retired", None],
}


@pytest.fixture(scope="module")
def fuzz_gateway(
    llama_server: LlamaBackend, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gateway]:
    folder: Path = tmp_path_factory.mktemp("fuzz")
    with running_gateway(raw_config(llama_server.base_url, f"sqlite:///{folder / 'l.db'}")) as gw:
        yield gw


@pytest.fixture(scope="module")
def schema(fuzz_gateway: Gateway) -> Any:
    loaded = schemathesis.openapi.from_url(fuzz_gateway.url + "/openapi.json")
    # The key is sent by the test (AUTH), not generated: a generated (or schema-violating)
    # Authorization header would be replaced by the valid one, and a "negative" case accepted.
    # ``ignored_auth`` still checks every operation without the key and with a wrong one.
    loaded.config.generation.with_security_parameters = False
    # a body over its endpoint's size limit is refused before it is parsed (413, named in the
    # answer): that is a rejection of schema-violating data too
    rejection = loaded.config.checks.negative_data_rejection
    rejection.expected_statuses = [*rejection.expected_statuses, "413"]
    return loaded


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _small(value: object) -> object:
    """A token limit kept small; invalid values (wrong type, < 1) stay as generated."""
    if value is None or (isinstance(value, int) and _is_int(value) and value > MAX_TOKENS):
        return MAX_TOKENS
    return value


def tame(path: str, body: object, model: str | None) -> None:
    """Point the body at a real model and keep generation short, without making a
    schema-violating body valid (only valid values are replaced)."""
    if not isinstance(body, dict):
        return
    given = body.get("model")
    if model is not None and isinstance(given, str) and 0 < len(given) <= MODEL_NAME_CHARS:
        body["model"] = model
    if path in ("/v1/chat/completions", "/v1/completions"):
        body["max_tokens"] = _small(body.get("max_tokens"))
        if "max_completion_tokens" in body:
            body["max_completion_tokens"] = _small(body["max_completion_tokens"])
    elif path == "/v1/responses":
        body["max_output_tokens"] = _small(body.get("max_output_tokens"))
    elif path in ("/api/chat", "/api/generate"):
        if body.get("options") is None:  # absent or null: Ollama's "no limit"
            body["options"] = {}
        options = body["options"]
        if isinstance(options, dict):
            limit = options.get("num_predict")
            if limit is None or (_is_int(limit) and (limit > MAX_TOKENS or limit <= 0)):
                options["num_predict"] = MAX_TOKENS


@pytest.fixture(scope="module")
def admin_gateway(
    llama_server: LlamaBackend, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gateway]:
    folder: Path = tmp_path_factory.mktemp("fuzz-admin")
    raw = raw_config(llama_server.base_url, f"sqlite:///{folder / 'l.db'}")
    admin = {"id": "admin-1", "key_env": "STW_TEST_KEY_ADMIN", "role": "admin"}
    raw["departments"][0]["keys"].append(admin)
    with running_gateway(raw, {**ENVIRON, "STW_TEST_KEY_ADMIN": ADMIN_KEY}) as gw:
        yield gw


@pytest.fixture(scope="module")
def admin_schema(admin_gateway: Gateway) -> Any:
    loaded = schemathesis.openapi.from_url(admin_gateway.url + "/openapi.json")
    loaded.config.generation.with_security_parameters = False
    # a body over its endpoint's size limit is refused before it is parsed (413, named in the
    # answer): that is a rejection of schema-violating data too
    rejection = loaded.config.checks.negative_data_rejection
    rejection.expected_statuses = [*rejection.expected_statuses, "413"]
    return loaded


def test_every_endpoint_is_fuzzed(fuzz_gateway: Gateway) -> None:
    served = httpx.get(fuzz_gateway.url + "/openapi.json").json()["paths"]
    operations = {(method.upper(), path) for path, ops in served.items() for method in ops}
    assert operations == set(OPERATIONS) | set(ADMIN_OPERATIONS)


CASES = [
    pytest.param(method, path, mode, id=f"{method} {path} {mode.value}")
    for method, path in OPERATIONS
    # Without parameters or a body there is nothing to make schema-violating.
    for mode in (
        [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
        if method == "POST"
        else [GenerationMode.POSITIVE]
    )
]


def _fuzz(
    schema: Any,
    url: str,
    headers: dict[str, str],
    method: str,
    path: str,
    mode: GenerationMode,
    examples: int,
) -> list[int]:
    """Send ``examples`` generated requests to one operation; the statuses it answered."""
    operation = schema[path][method]
    models = st.sampled_from(MODELS.get(path, [None]))
    session = requests.Session()
    statuses: list[int] = []

    @settings(
        max_examples=max(1, round(examples * SCALE)),
        deadline=None,
        database=None,
        derandomize="STELLWERK_FUZZ_SEED" not in os.environ,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode), model=models)
    def run(case: Any, model: str | None) -> None:
        tame(path, case.body, model)
        if model is not None and "model" in (case.path_parameters or {}):
            case.path_parameters["model"] = model
        if case.path_parameters and case.path_parameters.get("key_id") == "admin-1":
            case.path_parameters["key_id"] = "someone-else"  # the fuzzer keeps its own key
        response = case.call_and_validate(
            base_url=url, session=session, headers=headers, checks=CHECKS, timeout=60
        )
        statuses.append(response.status_code)

    if "STELLWERK_FUZZ_SEED" in os.environ:
        run = hypothesis_seed(int(os.environ["STELLWERK_FUZZ_SEED"]))(run)
    try:
        run()
    finally:
        session.close()
    return statuses


@pytest.mark.parametrize(("method", "path", "mode"), CASES)
def test_fuzz(
    schema: Any, fuzz_gateway: Gateway, method: str, path: str, mode: GenerationMode
) -> None:
    examples = OPERATIONS[(method, path)]
    statuses = _fuzz(schema, fuzz_gateway.url, AUTH, method, path, mode, examples)
    assert statuses and all(s < 500 for s in statuses)


ADMIN_CASES = [
    pytest.param(method, path, mode, id=f"{method} {path} {mode.value}")
    for method, path in ADMIN_OPERATIONS
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
]


@pytest.mark.parametrize(("method", "path", "mode"), ADMIN_CASES)
def test_fuzz_admin(
    admin_schema: Any, admin_gateway: Gateway, method: str, path: str, mode: GenerationMode
) -> None:
    examples = ADMIN_OPERATIONS[(method, path)]
    headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
    try:
        statuses = _fuzz(admin_schema, admin_gateway.url, headers, method, path, mode, examples)
    except Unsatisfiable:  # nothing in a GET without parameters can be made schema-violating
        assert mode is GenerationMode.NEGATIVE
        return
    assert statuses and all(s < 500 for s in statuses)
