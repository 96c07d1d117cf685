"""A key cannot learn from the model endpoints which models exist beyond those it may see (walk 19,
X1): a model its lists leave out (another department's) or that the catalog does not offer it (in
review, retired, its consent withdrawn) is answered on every model endpoint exactly as a name that
exists nowhere is, status, code and words, as ``GET /v1/models/{model}`` and ``/api/show`` answer
both. A model the key does see keeps the answer that says why this request may not have it (the
request's class may not go where it is hosted: 403; it cannot do the job: 400), and an admin key,
which reads the whole catalog anyway, is told every reason.

The real ``openai`` and ``ollama`` libraries and httpx, in process; all of these are answered
before a backend is asked (the backend is a closed port).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import ollama
import openai
import pytest

from tests.fixtures.gateway import (
    ENVIRON,
    KEYS,
    OFFLINE_BACKEND,
    Gateway,
    in_process,
    migrated_copy,
    raw_config,
)

ADMIN_KEY = "sk-stw-test-admin-6a1f0e9c3b7d2e58"
HI = [{"role": "user", "content": "hi"}]
UNKNOWN = "no-such-model"

#: every model endpoint, and a body asking it for ``{model}``
ENDPOINTS: list[tuple[str, dict[str, Any]]] = [
    ("/v1/chat/completions", {"messages": HI}),
    ("/v1/completions", {"prompt": "hi"}),
    ("/v1/responses", {"input": "hi"}),
    ("/v1/embeddings", {"input": "hi"}),
    ("/api/chat", {"messages": HI, "stream": False}),
    ("/api/generate", {"prompt": "hi", "stream": False}),
    ("/api/generate", {}),  # Ollama's load of a model
    ("/api/embed", {"input": "hi"}),
    ("/api/embeddings", {"prompt": "hi"}),
]

#: key -> the models it may not see: legal's list holds tiny-small only; research has no list,
#: but tiny-medium is in review (research is no pilot), tiny-retired retired and tiny-large's
#: consent withdrawn
UNSEEN = {
    "legal": ["tiny-large", "tiny-embed", "tiny-medium", "tiny-retired"],
    "research": ["tiny-medium", "tiny-retired", "tiny-large"],
}


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory, ledger_template: Path) -> Iterator[Gateway]:
    folder = tmp_path_factory.mktemp("unseen")
    raw: dict[str, Any] = raw_config(
        OFFLINE_BACKEND, migrated_copy(ledger_template, folder / "ledger.db")
    )
    models = {m["id"]: m for m in raw["models"]}
    models["tiny-medium"]["lifecycle"] = "in_review"
    models["tiny-large"]["data_owner"] = "legal"
    for same in ("tiny-small", "tiny-retired"):  # one server: internal data may go, secret not
        models[same]["hosting"] = "eu_cloud"
    raw["departments"].append(
        {
            "name": "it",
            "keys": [{"id": "admin-1", "key_env": "STW_TEST_KEY_ADMIN", "role": "admin"}],
        }
    )
    with in_process(raw, {**ENVIRON, "STW_TEST_KEY_ADMIN": ADMIN_KEY}) as gw:
        with gw.client(ADMIN_KEY) as admin:
            withdrawn = admin.post(
                "/admin/models/tiny-large/consent", json={"consent": False, "reason": "ended"}
            )
        assert withdrawn.status_code == 200, withdrawn.text
        yield gw


def _answer(client: httpx.Client, path: str, body: dict[str, Any], model: str) -> tuple[int, str]:
    """The status and the error body, the model's name in it replaced by ``{model}``."""
    answer = client.post(path, json={"model": model, **body})
    return answer.status_code, answer.text.replace(model, "{model}")


#: how a name may be spelled to the gateway: as it is, with Ollama's default tag (which the
#: gateway reads as the name itself, and echoed as sent: walk 20, F1), in capitals (a name of no
#: model, as for any other spelling)
SPELLINGS: dict[str, Callable[[str], str]] = {
    "as-named": lambda model: model,
    "latest-tag": lambda model: f"{model}:latest",
    "capitals": str.upper,
}


@pytest.mark.parametrize(("path", "body"), ENDPOINTS)
@pytest.mark.parametrize("department", sorted(UNSEEN))
@pytest.mark.parametrize("spelling", sorted(SPELLINGS))
def test_a_model_the_key_may_not_see_is_answered_as_an_unknown_one(
    gateway: Gateway, department: str, path: str, body: dict[str, Any], spelling: str
) -> None:
    spelled = SPELLINGS[spelling]
    unseen = [spelled(model) for model in UNSEEN[department]]
    with gateway.client(KEYS[department]) as client:
        unknown = _answer(client, path, body, spelled(UNKNOWN))
        answers = {model: _answer(client, path, body, model) for model in unseen}
    assert unknown[0] == 404
    assert "model '{model}' does not exist" in unknown[1]
    assert answers == {model: unknown for model in unseen}


def test_the_libraries_cannot_tell_them_apart(
    gateway: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="stellwerk.gateway")
    client = gateway.openai(KEYS["legal"], max_retries=0)
    said, ids = {}, {}
    for model in (UNKNOWN, "tiny-large"):
        with pytest.raises(openai.NotFoundError) as caught:
            client.chat.completions.create(model=model, messages=HI)  # type: ignore[arg-type]
        assert caught.value.code == "model_not_found"
        said[model] = caught.value.message.replace(model, "{model}")
        ids[model] = caught.value.response.headers["x-stellwerk-request-id"]
    client.close()
    assert said[UNKNOWN] == said["tiny-large"]
    assert said[UNKNOWN] == (
        "Error code: 404 - model '{model}' does not exist; the models you may use are listed by"
        " GET /v1/models (OpenAI API) and GET /api/tags (Ollama API)"
    )
    # the operators' log says why it was refused
    why = "tiny-large: its data owner 'legal' has withdrawn consent"
    assert any(why in r.getMessage() for r in caplog.records)
    assert _kinds(gateway, ids) == {  # the records say what the client was told (walk 20, F9)
        ids[UNKNOWN]: (404, "model_not_found"),
        ids["tiny-large"]: (404, "model_not_found"),
    }
    errors = {}
    for model in (UNKNOWN, "tiny-medium"):
        with pytest.raises(ollama.ResponseError) as failed:
            gateway.ollama(KEYS["research"]).chat(model=model, messages=HI, stream=False)
        assert failed.value.status_code == 404
        errors[model] = failed.value.error.replace(model, "{model}")
    assert errors[UNKNOWN] == errors["tiny-medium"]


def test_a_model_the_key_sees_keeps_its_reason(gateway: Gateway) -> None:
    """tiny-small is legal's: secret data may not go to its cloud (403, saying so), and it makes
    no embeddings (400, saying so)."""
    secret = {"x-stellwerk-classification": "secret"}
    with gateway.client(KEYS["legal"]) as client:
        hosted = client.post(
            "/v1/chat/completions", json={"model": "tiny-small", "messages": HI}, headers=secret
        )
        embed = client.post("/api/embed", json={"model": "tiny-small", "input": "hi"})
        unseen = client.post(
            "/v1/chat/completions", json={"model": "tiny-large", "messages": HI}, headers=secret
        )
    assert hosted.status_code == 403
    assert hosted.json()["error"]["message"] == (
        "model 'tiny-small' may not serve this request of department 'legal' (classification"
        " secret may go only to on_prem): tiny-small: hosted eu_cloud, where secret data may not go"
    )
    assert embed.status_code == 400
    assert embed.json() == {"error": "model 'tiny-small' does not support embeddings"}
    assert unseen.status_code == 404  # one legal does not see: no reason, whatever the class


def test_an_admin_key_is_told_why(gateway: Gateway) -> None:
    """An admin key reads the whole catalog (``GET /admin/models``): its refusal keeps the
    reason, for every model."""
    with gateway.client(ADMIN_KEY) as client:
        answers = {
            model: client.post("/v1/chat/completions", json={"model": model, "messages": HI})
            for model in ("tiny-large", "tiny-medium")
        }
    with gateway.client(KEYS["research"]) as client:  # a user key of a department alike
        user = client.post("/v1/chat/completions", json={"model": "tiny-medium", "messages": HI})
    assert user.status_code == 404
    assert {m: a.status_code for m, a in answers.items()} == {"tiny-large": 403, "tiny-medium": 403}
    assert "data owner 'legal' has withdrawn consent" in answers["tiny-large"].text
    assert "in_review, and department 'it' is not a pilot" in answers["tiny-medium"].text


def _kinds(gateway: Gateway, ids: dict[str, str]) -> dict[str, tuple[int, str | None]]:
    """The status and error kind of the usage records of the requests ``ids``, once the
    writer has written them all."""
    wanted = set(ids.values())
    deadline = time.monotonic() + 30
    while True:
        found = {
            r.request_id: (r.status, r.error_kind)
            for r in gateway.records()
            if r.request_id in wanted
        }
        if len(found) == len(wanted) or time.monotonic() > deadline:
            return found
        time.sleep(0.05)
