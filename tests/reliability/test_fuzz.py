"""Fuzzing: schemathesis generates requests from the served OpenAPI schema of every endpoint and
sends them, with a valid key, through the gateway to the real llama.cpp test backend.

Each operation gets valid (positive) and schema-violating (negative) requests. Every answer must be
no 5xx, documented (status, content type, the error envelope of its API), and a schema-violating
request must be refused with a 4xx. Generated requests keep ``max_tokens`` small and name a real
model most of the time, so the valid ones reach the backend instead of stopping at a 404.

The cases are derandomized (the same every run); set STELLWERK_FUZZ_SEED to explore others.
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
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from tests.fixtures.gateway import KEYS, Gateway, raw_config, running_gateway
from tests.fixtures.llama import LlamaBackend

pytestmark = [pytest.mark.llama, pytest.mark.slow]

# Capitalised as the schema names it, so schemathesis knows the key is the one it must strip
# when it checks that requests without it are refused.
AUTH = {"Authorization": f"Bearer {KEYS['research']}"}
MAX_TOKENS = 4

#: Every operation the gateway serves, with the number of cases per generation mode.
#: test_every_endpoint_is_fuzzed fails when an endpoint is added without being listed here.
OPERATIONS: dict[tuple[str, str], int] = {
    ("POST", "/v1/chat/completions"): 300,
    ("POST", "/v1/embeddings"): 200,
    ("GET", "/v1/models"): 20,
    ("POST", "/api/chat"): 300,
    ("POST", "/api/embed"): 200,
    ("POST", "/api/show"): 200,
    ("GET", "/api/tags"): 20,
    ("GET", "/api/ps"): 20,
    ("GET", "/api/version"): 20,
    ("GET", "/healthz"): 20,
    ("GET", "/readyz"): 20,
    ("GET", "/metrics"): 20,
}

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
    ignored_auth,
]

#: Models substituted for generated names (None keeps the generated one: mostly a 404).
MODELS = {
    "/v1/chat/completions": ["tiny-small", "tiny-medium", "auto", "tiny-retired", None],
    "/api/chat": ["tiny-small", "tiny-large", "auto", None],
    "/v1/embeddings": ["tiny-embed", "tiny-small", None],
    "/api/embed": ["tiny-embed", None],
    "/api/show": ["tiny-small", "tiny-embed", None],
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
    return schemathesis.openapi.from_url(fuzz_gateway.url + "/openapi.json")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _small(value: object) -> object:
    """A token limit kept small; invalid values (wrong type, < 1) stay as generated."""
    return MAX_TOKENS if value is None or (_is_int(value) and value > MAX_TOKENS) else value  # type: ignore[operator]


def tame(path: str, body: object, model: str | None) -> None:
    """Point the body at a real model and keep generation short, without making a
    schema-violating body valid (only valid values are replaced)."""
    if not isinstance(body, dict):
        return
    if model is not None and isinstance(body.get("model"), str) and body["model"]:
        body["model"] = model
    if path == "/v1/chat/completions":
        body["max_tokens"] = _small(body.get("max_tokens"))
        if "max_completion_tokens" in body:
            body["max_completion_tokens"] = _small(body["max_completion_tokens"])
    elif path == "/api/chat":
        options = body.setdefault("options", {})
        if isinstance(options, dict):
            limit = options.get("num_predict")
            if limit is None or (_is_int(limit) and (limit > MAX_TOKENS or limit <= 0)):
                options["num_predict"] = MAX_TOKENS


def test_every_endpoint_is_fuzzed(fuzz_gateway: Gateway) -> None:
    served = httpx.get(fuzz_gateway.url + "/openapi.json").json()["paths"]
    operations = {(method.upper(), path) for path, ops in served.items() for method in ops}
    assert operations == set(OPERATIONS)


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


@pytest.mark.parametrize(("method", "path", "mode"), CASES)
def test_fuzz(
    schema: Any, fuzz_gateway: Gateway, method: str, path: str, mode: GenerationMode
) -> None:
    operation = schema[path][method]
    models = st.sampled_from(MODELS.get(path, [None]))
    session = requests.Session()
    statuses: list[int] = []

    @settings(
        max_examples=OPERATIONS[(method, path)],
        deadline=None,
        database=None,
        derandomize="STELLWERK_FUZZ_SEED" not in os.environ,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode), model=models)
    def run(case: Any, model: str | None) -> None:
        tame(path, case.body, model)
        response = case.call_and_validate(
            base_url=fuzz_gateway.url, session=session, headers=AUTH, checks=CHECKS, timeout=60
        )
        statuses.append(response.status_code)

    if "STELLWERK_FUZZ_SEED" in os.environ:
        run = hypothesis_seed(int(os.environ["STELLWERK_FUZZ_SEED"]))(run)
    try:
        run()
    finally:
        session.close()
    assert statuses and all(s < 500 for s in statuses)
