"""A policy refusal tells a key only about the models it may see (its lists let them through and
the catalog offers them: only the request's class keeps them out),
through the real ``openai`` and ``ollama`` clients against a gateway on the llama.cpp server; the
whole catalog with every model's reason goes to the gateway's log, for operators."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ollama
import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam

from tests.fixtures.gateway import ENVIRON, KEYS, Gateway, in_process, migrated_copy, raw_config
from tests.fixtures.llama import LlamaBackend

pytestmark = pytest.mark.llama

ADMIN_KEY = "sk-stw-test-admin-5e0b7c2d9a4f1e68"
ENV = {**ENVIRON, "STW_TEST_KEY_ADMIN": ADMIN_KEY}
HI: list[ChatCompletionMessageParam] = [{"role": "user", "content": "hi"}]

#: what the legal key may not learn: models off its use case's list, their states
FOREIGN = ("tiny-large", "tiny-retired", "tiny-embed", "proposed", "retired", "embeddings")


def error_message(error: openai.APIStatusError) -> str:
    """The message of the gateway's error envelope, as the openai client parsed it."""
    assert isinstance(error.body, dict)
    return str(error.body["message"])


@pytest.fixture
def gateway(llama_server: LlamaBackend, tmp_path: Path, ledger_template: Path) -> Iterator[Gateway]:
    """Legal's key is bound to ``contracts``, which allows tiny-small (research's contributed
    model, its consent withdrawn below), tiny-medium (in an EU cloud, where legal's confidential
    data may not go) and tiny-embed (in the EU cloud too); tiny-large is proposed, tiny-retired
    retired."""
    migrated_copy(ledger_template, tmp_path / "ledger.db")
    raw: dict[str, Any] = raw_config(llama_server.base_url, f"sqlite:///{tmp_path / 'ledger.db'}")
    models = {m["id"]: m for m in raw["models"]}
    models["tiny-small"]["data_owner"] = "research"
    models["tiny-medium"]["hosting"] = "eu_cloud"
    models["tiny-large"]["lifecycle"] = "proposed"
    models["tiny-embed"]["hosting"] = "eu_cloud"
    legal = raw["departments"][1]
    del legal["allowed_models"]
    legal["keys"][0]["use_case"] = "contracts"
    raw["departments"].append(
        {
            "name": "it",
            "keys": [{"id": "admin-1", "key_env": "STW_TEST_KEY_ADMIN", "role": "admin"}],
        }
    )
    raw["use_cases"] = [
        {
            "name": "contracts",
            "department": "legal",
            "purpose": "contract review",
            "classification": "confidential",
            "allowed_models": ["tiny-small", "tiny-medium", "tiny-embed"],
        }
    ]
    with in_process(raw, ENV) as gw:
        withdrawn = gw.client(ADMIN_KEY).post(
            "/admin/models/tiny-small/consent",
            json={"consent": False, "reason": "data contract ended"},
        )
        assert withdrawn.status_code == 200, withdrawn.text
        yield gw


def test_openai_refusal_names_only_the_models_the_key_sees(
    gateway: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="stellwerk.gateway")
    client = gateway.openai(KEYS["legal"], max_retries=0)
    with pytest.raises(openai.PermissionDeniedError) as refused:
        client.chat.completions.create(model="auto", messages=HI, max_tokens=4)
    listed = [m.id for m in client.models.list()]
    client.close()
    message = error_message(refused.value)
    assert message == (
        "no model may serve this request of department 'legal' (classification confidential"
        " may go only to on_prem): tiny-medium: hosted eu_cloud, where confidential data may not"
        " go; 3 other models are not available to this key"
    )
    assert not [word for word in FOREIGN if word in message]
    assert not [name for name in listed if name.startswith("tiny-") and name not in message]
    assert refused.value.code == "policy_denied"
    # the operators' view: every model with its reason, in the log under the request's id
    request_id = refused.value.response.headers["x-stellwerk-request-id"]
    logged = [r.getMessage() for r in caplog.records if request_id in r.getMessage()]
    assert len(logged) == 1
    assert "tiny-large: lifecycle state is proposed" in logged[0]
    assert "tiny-retired: lifecycle state is retired" in logged[0]
    assert "tiny-embed" in logged[0]
    assert "tiny-small: its data owner 'research' has withdrawn consent" in logged[0]


def test_ollama_refusal_names_only_the_models_the_key_sees(gateway: Gateway) -> None:
    client = gateway.ollama(KEYS["legal"])
    with pytest.raises(ollama.ResponseError) as refused:
        client.chat(model="auto", messages=HI, stream=False)
    assert refused.value.status_code == 403
    message = refused.value.error
    assert "tiny-medium: hosted eu_cloud, where confidential data may not go" in message
    assert message.endswith("3 other models are not available to this key")
    assert "tiny-small" not in message  # withdrawn: no longer one the key sees
    assert not [word for word in FOREIGN if word in message]


@pytest.mark.parametrize("api", ["openai", "ollama"])
def test_a_model_off_the_keys_lists_named_in_the_request_is_answered_as_an_unknown_one(
    gateway: Gateway, api: str
) -> None:
    if api == "openai":
        client = gateway.openai(KEYS["legal"], max_retries=0)
        with pytest.raises(openai.NotFoundError) as caught:
            client.chat.completions.create(model="tiny-large", messages=HI, max_tokens=4)
        client.close()
        message = error_message(caught.value)
    else:
        with pytest.raises(ollama.ResponseError) as failed:
            gateway.ollama(KEYS["legal"]).chat(model="tiny-large", messages=HI, stream=False)
        message = failed.value.error
    assert message == (
        "model 'tiny-large' does not exist; the models you may use are listed by GET /v1/models"
        " (OpenAI API) and GET /api/tags (Ollama API)"
    )


def test_an_admin_key_is_told_every_models_reason(gateway: Gateway) -> None:
    client = gateway.openai(
        ADMIN_KEY, max_retries=0, default_headers={"x-stellwerk-classification": "secret"}
    )
    with pytest.raises(openai.PermissionDeniedError) as refused:
        client.chat.completions.create(model="auto", messages=HI, max_tokens=4)
    client.close()
    message = error_message(refused.value)
    for reason in (
        "tiny-small: its data owner 'research' has withdrawn consent",
        "tiny-large: lifecycle state is proposed",
        "tiny-retired: lifecycle state is retired",
        "tiny-medium: hosted eu_cloud",
    ):
        assert reason in message
