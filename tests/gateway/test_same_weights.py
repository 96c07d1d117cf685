"""A data owner's consent holds for the weights, not for one catalog id (stellwerk.policy.weights):
a second id in the config that serves the same weights (same server, same upstream name) is refused
with the first once its data owner withdraws consent (to a user as a model it no longer sees, to an
admin key naming the model and the owner); a stream running on it is cut; re-granting lets both
serve again. The admin API shows which ids serve the same weights and what they differ in. Real
llama.cpp server, real ``openai`` and ``ollama`` libraries, a real gateway (in process; served by
uvicorn for the running streams)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import httpx
import ollama
import openai
import pytest

from tests.fixtures.gateway import (
    ENVIRON,
    KEYS,
    Gateway,
    bearer,
    in_process,
    migrated_copy,
    raw_config,
)
from tests.fixtures.gateway import running_gateway as serving
from tests.fixtures.held_stream import HeldStreams, held_streams
from tests.fixtures.llama import LlamaBackend

pytestmark = pytest.mark.llama

ADMIN_KEY = "sk-stw-test-admin-77d1a0b3c5e9f248"
OWNER_KEY = "sk-stw-test-owner-4e6a8c0b2d1f3957"
ENV = {**ENVIRON, "STW_TEST_KEY_ADMIN": ADMIN_KEY, "STW_TEST_KEY_OWNER": OWNER_KEY}
ADMIN, OWNER = bearer(ADMIN_KEY), bearer(OWNER_KEY)
ALIAS = "large-alias"  # tiny-large's weights under a second id, without its data owner
STORY: Any = [{"role": "user", "content": "Tell a very long story about a signal box."}]


def with_alias(raw: dict[str, Any], backend: str = "llamacpp") -> dict[str, Any]:
    """tiny-large is legal's contributed expert (legal has an owner key, governance an admin);
    ``ALIAS`` serves the same weights and names no data owner (someone copied the entry). Both
    on ``backend``, which serves tiny-large."""
    large = raw["models"][2]
    large.update(data_owner="legal", backend=backend)
    alias = {k: v for k, v in large.items() if k != "data_owner"}
    raw["models"].append({**alias, "id": ALIAS})
    raw["departments"][1]["keys"].append(
        {"id": "legal-owner", "key_env": "STW_TEST_KEY_OWNER", "role": "owner"}
    )
    raw["departments"].append(
        {
            "name": "governance",
            "keys": [{"id": "admin-1", "key_env": "STW_TEST_KEY_ADMIN", "role": "admin"}],
        }
    )
    return raw


@pytest.fixture
def raw(llama_server: LlamaBackend, tmp_path: Path, ledger_template: Path) -> dict[str, Any]:
    database = migrated_copy(ledger_template, tmp_path / "l.db")
    return with_alias(raw_config(llama_server.base_url, database))


def consent(gw: Gateway, given: bool, model: str = "tiny-large") -> dict[str, Any]:
    answer = gw.post(
        f"/admin/models/{model}/consent",
        json={"consent": given, "reason": "data contract ended" if not given else "renewed"},
        headers=OWNER,
    )
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def ask_openai(gw: Gateway, model: str, key: str = KEYS["research"]) -> str:
    """The answer's text, or the refusal's status and message."""
    with gw.openai(key, max_retries=0) as client:
        try:
            answer = client.chat.completions.create(model=model, messages=STORY, max_tokens=4)
        except openai.APIStatusError as exc:
            return f"{exc.status_code} {exc.message}"
    return answer.choices[0].message.content or ""


def ask_ollama(gw: Gateway, model: str, key: str = KEYS["research"]) -> str:
    client = gw.ollama(key)
    try:
        answer = client.chat(model=model, messages=STORY, options={"num_predict": 4})
    except ollama.ResponseError as exc:
        return f"{exc.status_code} {exc.error}"
    finally:
        cast(Any, client).close()  # the ollama library's close is not typed
    return answer.message.content or ""


ASK = {"openai": ask_openai, "ollama": ask_ollama}


@pytest.mark.parametrize("api", list(ASK))
def test_a_withdrawal_refuses_every_id_that_serves_the_same_weights(
    raw: dict[str, Any], api: str
) -> None:
    ask = ASK[api]
    with in_process(raw, ENV) as gw:
        assert not ask(gw, ALIAS).startswith("403")  # served before
        consent(gw, False)
        refused = ask(gw, ALIAS)
        told = ask(gw, ALIAS, ADMIN_KEY)
        assert not ask(gw, "tiny-medium").startswith("40")  # other weights serve on
        consent(gw, True)
        again = ask(gw, ALIAS)
        found = gw.records(5)
    # research's GET /v1/models leaves it out now: asked for, it is as unknown as any such name
    assert refused.startswith("404 ") and f"'{ALIAS}' does not exist" in refused, refused
    assert told.startswith("403 "), told  # an admin key reads the catalog: told why
    assert (
        f"{ALIAS}: it serves the same weights as model 'tiny-large', whose data owner 'legal'"
        " has withdrawn consent"
    ) in told
    assert not again.startswith("40"), again  # re-granted: both serve again
    assert sorted(r.status for r in found) == [200, 200, 200, 403, 404]


def test_the_admin_api_shows_the_ids_of_the_same_weights_and_why_one_is_refused(
    raw: dict[str, Any],
) -> None:
    with in_process(raw, ENV) as gw:
        withdrawn = consent(gw, False)
        listed = {m["id"]: m for m in gw.get("/admin/models", headers=ADMIN).json()["models"]}
        alias = gw.get(f"/admin/models/{ALIAS}", headers=ADMIN).json()
        groups = gw.get("/admin/compliance", headers=ADMIN).json()["same_weights"]
    assert (withdrawn["same_weights"], withdrawn["consent_withdrawn_on"]) == (
        [ALIAS],
        "tiny-large",
    )
    assert (alias["same_weights"], alias["consent_withdrawn_on"]) == (["tiny-large"], "tiny-large")
    assert alias["consent"] is None  # it has no data owner of its own to withdraw
    assert (
        listed["tiny-medium"]["same_weights"],
        listed["tiny-medium"]["consent_withdrawn_on"],
    ) == (
        [],
        None,
    )
    # the test config's own tiny-retired serves tiny-small's weights under a retired id
    by_first = {g["models"][0]["id"]: g for g in groups}
    assert set(by_first) == {"tiny-small", "tiny-large"}
    large = by_first["tiny-large"]
    assert [m["id"] for m in large["models"]] == ["tiny-large", ALIAS]
    # consent is not among the differences: legal's withdrawal holds for both
    assert large["differs"] == ["data_owner"]
    assert large["models"][0] == {
        "id": "tiny-large",
        "lifecycle": "approved",
        "consent": False,
        "data_owner": "legal",
        "hosting": "on_prem",
    }
    assert by_first["tiny-small"]["differs"] == ["lifecycle"]


def test_consent_on_another_id_of_the_weights_points_to_the_id_that_holds_it(
    raw: dict[str, Any],
) -> None:
    """Legal's owner (and the admin) asking to withdraw on ``ALIAS`` are told that it serves
    tiny-large's weights, whose consent legal manages there and which holds for both; an owner
    key of another department still learns nothing (the one 403 of every id)."""
    other_owner = "sk-stw-test-owner-research-7a6b5c4d3e2f1a0b"
    raw["departments"][0]["keys"].append(
        {"id": "research-owner", "key_env": "STW_TEST_KEY_RESEARCH_OWNER", "role": "owner"}
    )
    env = {**ENV, "STW_TEST_KEY_RESEARCH_OWNER": other_owner}
    withdraw = {"consent": False, "reason": "data contract ended"}
    with in_process(raw, env) as gw:
        owner = gw.post(f"/admin/models/{ALIAS}/consent", json=withdraw, headers=OWNER)
        admin = gw.post(f"/admin/models/{ALIAS}/consent", json=withdraw, headers=ADMIN)
        stranger = gw.post(
            f"/admin/models/{ALIAS}/consent", json=withdraw, headers=bearer(other_owner)
        )
        served = ask_openai(gw, ALIAS)
    said = (
        f"model {ALIAS!r} serves the weights of model 'tiny-large' (data owner 'legal'), whose"
        " consent is managed there: withdraw or grant it on 'tiny-large'; a withdrawal there"
        " holds for both"
    )
    for answer in (owner, admin):
        assert answer.status_code == 400, answer.text
        assert answer.json()["error"]["message"] == said
        assert answer.json()["error"]["param"] == "consent"
    assert stranger.status_code == 403, stranger.text
    assert "tiny-large" not in stranger.text and "legal" not in stranger.text
    assert not served.startswith("403"), served  # nothing was withdrawn


def read_cut(gw: Gateway, api: str, model: str, change: HeldStreams) -> tuple[int, str]:
    """Stream ``model``'s answer; once its first piece arrived (the proxy holds the rest),
    withdraw tiny-large's consent, then let the stream go on: (pieces read, the error)."""
    pieces = 0

    def withdraw() -> None:
        answer = httpx.post(
            gw.url + "/admin/models/tiny-large/consent",
            json={"consent": False, "reason": "data contract ended"},
            headers=OWNER,
            timeout=30,
        )
        assert answer.status_code == 200, answer.text
        change.release()  # the backend's next chunk meets the cut

    if api == "openai":
        with openai.OpenAI(base_url=gw.openai_url, api_key=KEYS["research"], max_retries=0) as c:
            stream = c.chat.completions.create(
                model=model,
                messages=STORY,
                max_tokens=600,
                stream=True,
            )
            with pytest.raises(openai.APIError) as ended:
                for chunk in stream:
                    if chunk.choices and chunk.choices[0].delta.content:
                        pieces += 1
                        if pieces == 1:
                            withdraw()
        return pieces, ended.value.message
    client = ollama.Client(host=gw.url, headers=bearer(KEYS["research"]))
    try:
        with pytest.raises(ollama.ResponseError) as cut:
            for part in client.chat(
                model=model, messages=STORY, stream=True, options={"num_predict": 600}
            ):
                if part.message.content:
                    pieces += 1
                    if pieces == 1:
                        withdraw()
    finally:
        cast(Any, client).close()  # the ollama library's close is not typed
    return pieces, cut.value.error


@pytest.fixture
def held(
    raw: dict[str, Any], llama_server: LlamaBackend
) -> Iterator[tuple[dict[str, Any], HeldStreams]]:
    """Both ids on a proxy to the llama.cpp server that holds a stream after its first events."""
    with held_streams(llama_server.base_url) as proxy:
        raw["backends"].append({**raw["backends"][0], "name": "held", "base_url": proxy.url})
        for model in raw["models"]:
            if model["id"] in ("tiny-large", ALIAS):
                model["backend"] = "held"
        yield raw, proxy


@pytest.mark.parametrize("api", ["openai", "ollama"])
def test_a_withdrawal_cuts_a_running_stream_on_another_id_of_the_same_weights(
    held: tuple[dict[str, Any], HeldStreams], api: str
) -> None:
    raw, proxy = held
    with serving(raw, ENV) as gw:
        pieces, error = read_cut(gw, api, ALIAS, proxy)
        (record,) = gw.records(1)
    assert pieces >= 1
    assert (
        f"model '{ALIAS}' stopped serving this request: it serves the same weights as model"
        " 'tiny-large', whose data owner 'legal' withdrew consent while it ran"
    ) in error, error
    assert (record.model, record.status, record.error_kind) == (ALIAS, 403, "consent_withdrawn")
    assert record.completion_tokens >= pieces
