"""A key's data class only raises its use case's and department's, never lowers it: a real
gateway in front of the real llama.cpp server, keys made through the admin API, requests sent
with the ``openai`` library (the operator walk-through's reproduction, walk 6o HIGH-1)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import openai
import pytest
from openai.types.chat import ChatCompletionContentPartParam, ChatCompletionMessageParam

from stellwerk.ledger.window import Window
from tests.fixtures.gateway import ENVIRON, Gateway, in_process, migrated_copy, raw_config
from tests.fixtures.llama import LlamaBackend

pytestmark = pytest.mark.llama

ADMIN_KEY = "sk-stw-test-admin-3f7a0c9e1b5d2846"
ADMIN = {"authorization": f"Bearer {ADMIN_KEY}"}
ENV = {**ENVIRON, "STW_TEST_KEY_ADMIN": ADMIN_KEY}
PROMPT: list[ChatCompletionMessageParam] = [{"role": "user", "content": "hi"}]


def classified(llama: LlamaBackend, database_url: str) -> dict[str, Any]:
    """legal (confidential) with its use case contracts (confidential), and press (public) with
    press-releases (public); both use cases allow the on-premises tiny-small and tiny-large,
    hosted outside the EU."""
    raw = raw_config(llama.base_url, database_url)
    raw["models"][1]["hosting"] = "eu_cloud"
    raw["models"][2]["hosting"] = "non_eu_cloud"
    legal = raw["departments"][1]
    legal["classification"] = "confidential"
    del legal["allowed_models"]
    raw["departments"] += [
        {"name": "press", "classification": "public"},
        {
            "name": "it",
            "keys": [{"id": "admin-1", "key_env": "STW_TEST_KEY_ADMIN", "role": "admin"}],
        },
    ]
    both = ["tiny-small", "tiny-large"]
    raw["use_cases"] = [
        {"name": "contracts", "department": "legal", "classification": "confidential"}
        | {"allowed_models": both, "purpose": "contract review"},
        {"name": "press-releases", "department": "press", "classification": "public"}
        | {"allowed_models": both, "purpose": "drafts of press releases"},
    ]
    return raw


@pytest.fixture
def gw(llama_server: LlamaBackend, tmp_path: Path, ledger_template: Path) -> Any:
    database_url = migrated_copy(ledger_template, tmp_path / "ledger.db")
    with in_process(classified(llama_server, database_url), ENV) as gateway:
        yield gateway


def make_key(gw: Gateway, **body: Any) -> Any:
    return gw.post("/admin/keys", json=body, headers=ADMIN)


def listed(gw: Gateway, key_id: str) -> dict[str, Any]:
    keys = gw.get("/admin/keys", headers=ADMIN).json()["keys"]
    found: dict[str, Any] = next(k for k in keys if k["key_id"] == key_id)
    return found


def ask(client: openai.OpenAI, model: str, **options: Any) -> Any:
    return client.chat.completions.with_raw_response.create(
        model=model, messages=PROMPT, max_tokens=4, **options
    )


@pytest.mark.parametrize(
    ("body", "own", "floor", "whose"),
    [
        (  # the walk-through's key
            {"department": "legal", "use_case": "contracts", "classification": "public"},
            "public",
            "confidential",
            "use case 'contracts' and department 'legal'",
        ),
        (
            {"department": "legal", "classification": "internal"},
            "internal",
            "confidential",
            "department 'legal'",
        ),
    ],
)
def test_a_key_below_its_use_case_or_department_is_refused(
    gw: Gateway, body: dict[str, Any], own: str, floor: str, whose: str
) -> None:
    refused = make_key(gw, **body, reason="walk 6o")
    assert refused.status_code == 400, refused.text
    error = refused.json()["error"]
    assert (error["param"], error["code"]) == ("classification", "classification_lowered")
    assert error["message"] == (
        f"classification {own} is below the classification {floor} of {whose}; a key's own"
        " classification may raise its use case's and department's, never lower it (leave it"
        f" out and the key's requests run as {floor})"
    )
    # nothing was made, nothing audited
    keys = gw.get("/admin/keys", headers=ADMIN).json()["keys"]
    assert [k for k in keys if k["source"] == "database"] == []
    assert gw.get("/admin/audit?action=key.create", headers=ADMIN).json()["entries"] == []


def test_a_raised_key_is_made_and_listed_with_both_classes(gw: Gateway) -> None:
    made = make_key(gw, department="legal", use_case="contracts", classification="secret")
    assert made.status_code == 201, made.text
    assert (made.json()["classification"], made.json()["effective_classification"]) == (
        "secret",
        "secret",
    )
    plain = make_key(gw, department="legal", use_case="contracts").json()
    assert listed(gw, plain["key_id"])["classification"] is None
    assert listed(gw, plain["key_id"])["effective_classification"] == "confidential"
    with gw.openai(plain["key"], max_retries=0) as client:
        # confidential data stays on premises: the non-EU model is refused, auto picks on-prem
        with pytest.raises(openai.PermissionDeniedError, match="may go only to on_prem"):
            ask(client, "tiny-large")
        assert ask(client, "auto").headers["x-stellwerk-model"] == "tiny-small"


def test_a_key_follows_its_use_case_raised_at_once(gw: Gateway) -> None:
    plain = make_key(gw, department="press", use_case="press-releases").json()
    raised = make_key(
        gw, department="press", use_case="press-releases", classification="internal"
    ).json()
    assert listed(gw, plain["key_id"])["effective_classification"] == "public"
    with (
        gw.openai(plain["key"], max_retries=0) as client,
        gw.openai(raised["key"], max_retries=0) as internal,
    ):
        assert ask(client, "tiny-large").headers["x-stellwerk-model"] == "tiny-large"
        with pytest.raises(openai.PermissionDeniedError, match="may go only to on_prem, eu_cloud"):
            ask(internal, "tiny-large")  # its own class raised it above public

        changed = gw.put(
            "/admin/use-cases/press-releases",
            json={"classification": "secret", "reason": "embargoed drafts"},
            headers=ADMIN,
        )
        assert changed.status_code == 200, changed.text
        # the next request of either key runs as secret: the non-EU model is refused
        for key in (client, internal):
            with pytest.raises(openai.PermissionDeniedError) as refused:
                ask(key, "tiny-large")
            assert "classification secret may go only to on_prem" in refused.value.message
            assert ask(key, "auto").headers["x-stellwerk-model"] == "tiny-small"
        # and a header cannot take it back down
        with pytest.raises(openai.PermissionDeniedError, match="below this key's default"):
            ask(client, "auto", extra_headers={"x-stellwerk-classification": "public"})

    assert listed(gw, plain["key_id"])["effective_classification"] == "secret"
    assert listed(gw, raised["key_id"])["classification"] == "internal"
    assert listed(gw, raised["key_id"])["effective_classification"] == "secret"
    served: list[tuple[str, str]] = []
    deadline = time.monotonic() + 30
    while len(served) < 2 and time.monotonic() < deadline:  # the ledger's writer batches
        time.sleep(0.05)
        ledger = gw.ledger()
        try:
            records = ledger.recent_usage(limit=100, window=Window())
        finally:
            ledger.close()
        served = sorted(
            (r.model or "", r.classification or "")
            for r in records
            if r.status == 200 and r.key_id == plain["key_id"]
        )
    assert served == [("tiny-large", "public"), ("tiny-small", "secret")]


def test_a_use_case_keys_refusal_names_the_use_case_whose_list_it_is(gw: Gateway) -> None:
    """A key bound to a use case is refused by the use case's allow-list (tiny-small and
    tiny-large here), and the refusal says so, not "allowed for department"."""
    made = make_key(gw, department="press", use_case="press-releases").json()
    picture: list[ChatCompletionContentPartParam] = [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
    ]
    with (
        gw.openai(made["key"], max_retries=0) as client,
        pytest.raises(openai.BadRequestError) as caught,
    ):
        client.chat.completions.create(
            model="auto", messages=[{"role": "user", "content": picture}], max_tokens=4
        )
    assert caught.value.code == "no_capable_model"
    assert "none of the 2 chat models allowed for use case 'press-releases' of department" in str(
        caught.value
    )


def listed_use_case(gw: Gateway, name: str) -> dict[str, Any]:
    cases = gw.get("/admin/use-cases", headers=ADMIN).json()["use_cases"]
    found: dict[str, Any] = next(c for c in cases if c["name"] == name)
    return found


def test_a_use_case_below_its_department_shows_the_class_that_applies(gw: Gateway) -> None:
    """A use case's own class below its department's never applies: its keys' requests run as
    the department's. The admin API shows both, as it does for keys: ``classification`` the use
    case's own, ``effective_classification`` the one its keys' requests run under."""
    body = {"name": "summaries", "department": "legal", "classification": "internal"}
    made = gw.post("/admin/use-cases", json={**body, "reason": "r"}, headers=ADMIN)
    assert made.status_code == 201, made.text
    shown = (made.json()["classification"], made.json()["effective_classification"])
    assert shown == ("internal", "confidential")
    summaries = listed_use_case(gw, "summaries")
    assert (summaries["classification"], summaries["effective_classification"]) == shown
    press = listed_use_case(gw, "press-releases")
    assert (press["classification"], press["effective_classification"]) == ("public", "public")

    key = make_key(gw, department="legal", use_case="summaries").json()
    assert listed(gw, key["key_id"])["effective_classification"] == "confidential"
    with (  # what applies is confidential
        gw.openai(key["key"], max_retries=0) as client,
        pytest.raises(openai.PermissionDeniedError, match="confidential may go only to"),
    ):
        ask(client, "tiny-large")

    raised = gw.put(
        "/admin/use-cases/summaries",
        json={"classification": "secret", "reason": "r"},
        headers=ADMIN,
    )
    assert raised.status_code == 200, raised.text
    assert (raised.json()["classification"], raised.json()["effective_classification"]) == (
        "secret",
        "secret",
    )
