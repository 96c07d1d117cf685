"""A use case whose allowed models may never serve its class is kept, and said (walk15 LOW-11):
a real gateway in front of the real llama.cpp server with its ledger; the use case is made
through the admin API and shown by ``GET /admin/compliance`` and the dashboard's overview."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openai
import pytest

from tests.dashboard.client import login
from tests.dashboard.conftest import SECRET
from tests.fixtures.gateway import Gateway, in_process, migrated_copy
from tests.fixtures.llama import LlamaBackend
from tests.gateway.test_key_class import ADMIN, ADMIN_KEY, ENV, ask, classified

pytestmark = pytest.mark.llama

# legal's class is confidential; tiny-large is hosted outside the EU (``classified``)
PUB = {"name": "pub", "department": "legal", "classification": "public"}
NEVER = "use case 'pub': no allowed model may serve its class confidential"
WHY = "tiny-large: hosted non_eu_cloud, where confidential data may not go"


@pytest.fixture
def gw(llama_server: LlamaBackend, tmp_path: Path, ledger_template: Path) -> Any:
    database_url = migrated_copy(ledger_template, tmp_path / "ledger.db")
    raw = classified(llama_server, database_url)
    raw["dashboard"] = {"session_secret_env": "STW_TEST_DASHBOARD"}
    with in_process(raw, {**ENV, "STW_TEST_DASHBOARD": SECRET}) as gateway:
        yield gateway


def unservable(gw: Gateway) -> dict[str, Any]:
    answer = gw.get("/admin/compliance", headers=ADMIN)
    assert answer.status_code == 200, answer.text
    return {u["use_case"]: u for u in answer.json()["unservable"]}


def test_a_use_case_no_allowed_model_may_serve_is_made_with_a_warning(gw: Gateway) -> None:
    """Made (201, a model may be re-hosted later), but the answer says that every request of
    its keys would be refused, and why; the compliance view lists it until a model may."""
    made = gw.post(
        "/admin/use-cases",
        json={**PUB, "allowed_models": ["tiny-large"], "reason": "r"},
        headers=ADMIN,
    )
    assert made.status_code == 201, made.text
    assert made.json()["effective_classification"] == "confidential"
    [warning] = made.json()["warnings"]
    assert warning.startswith(NEVER) and WHY in warning

    listed = unservable(gw)
    assert set(listed) == {"pub"}  # contracts and press-releases may use tiny-small
    assert listed["pub"]["classification"] == "confidential"
    assert listed["pub"]["refused"] == {
        "tiny-large": "hosted non_eu_cloud, where confidential data may not go"
    }
    assert listed["pub"]["message"] == warning

    # the warning tells the truth: a key bound to it is refused
    key = gw.post(
        "/admin/keys", json={"department": "legal", "use_case": "pub"}, headers=ADMIN
    ).json()
    assert key["warnings"] == [warning]  # the key's answer says it too
    with (
        gw.openai(key["key"], max_retries=0) as client,
        pytest.raises(openai.PermissionDeniedError),
    ):
        ask(client, "tiny-large")

    fixed = gw.put(
        "/admin/use-cases/pub",
        json={"allowed_models": ["tiny-small", "tiny-large"], "reason": "r"},
        headers=ADMIN,
    )
    assert fixed.status_code == 200, fixed.text
    assert fixed.json()["warnings"] == []
    assert unservable(gw) == {}


@pytest.mark.parametrize(
    ("allowed", "why"),
    [
        (["tiny-retired"], "tiny-retired: lifecycle state is retired"),
        (None, "no model of the catalog may serve"),
    ],
)
def test_a_change_that_leaves_no_model_warns(
    gw: Gateway, allowed: list[str] | None, why: str
) -> None:
    """A change warns too: to a retired model only, or, with no allow-list, to a class no model
    of the catalog may serve (secret data goes only on premises, where every model is retired).
    """
    body: dict[str, Any] = {"allowed_models": allowed, "reason": "r"}
    if allowed is None:  # every on-premises model is withdrawn from the catalog first
        for model in ("tiny-small", "tiny-embed"):
            retired = gw.post(
                f"/admin/models/{model}/lifecycle",
                json={"state": "retired", "reason": "r"},
                headers=ADMIN,
            )
            assert retired.status_code == 200, retired.text
        body["classification"] = "secret"
    changed = gw.put("/admin/use-cases/press-releases", json=body, headers=ADMIN)
    assert changed.status_code == 200, changed.text
    [warning] = changed.json()["warnings"]
    assert warning.startswith("use case 'press-releases': no") and why in warning
    assert "press-releases" in unservable(gw)


@pytest.mark.parametrize(
    ("language", "line"),
    [
        ("en", "use case pub: no allowed model may serve its class confidential"),
        ("de", "Anwendungsfall pub: kein erlaubtes Modell darf seine Klasse vertraulich bedienen"),
    ],
)
def test_the_overview_needs_attention_card_names_it(gw: Gateway, language: str, line: str) -> None:
    made = gw.post(
        "/admin/use-cases",
        json={**PUB, "allowed_models": ["tiny-large"], "reason": "r"},
        headers=ADMIN,
    )
    assert made.status_code == 201, made.text
    with login(gw, ADMIN_KEY) as (client, _):
        client.cookies.set("stw_lang", language, path="/dashboard")
        page = client.get("/dashboard")
    assert page.status_code == 200
    card = page.text.split('id="w-compliance"')[1].split("</section>")[0]
    assert line in card
