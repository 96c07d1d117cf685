"""The admin API reads its input strictly and says why in its own words: consent is a JSON
boolean and a version a JSON integer, an amount is plain ASCII decimal, a query parameter and a
use case's model are named once; refusals name the field, never Python's internals, and a 403
names only the rule that refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.gateway import Gateway, in_process, migrated_copy
from tests.fixtures.llama import LlamaBackend
from tests.gateway.test_governance import ADMIN, ENV, OWNER, RESEARCH, chat, governed, post

pytestmark = pytest.mark.llama


@pytest.fixture(autouse=True)
def _ledger(tmp_path: Path, ledger_template: Path) -> None:
    migrated_copy(ledger_template, tmp_path / "ledger.db")


def refused(answer: Any, param: str | None, status: int = 400) -> str:
    """The message of an error answer, checked to be ``status`` naming ``param``."""
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert error["param"] == param, error
    return str(error["message"])


def model(gw: Gateway, model_id: str) -> dict[str, Any]:
    answer = gw.get(f"/admin/models/{model_id}", headers=ADMIN)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


CONSENT = "/admin/models/tiny-small/consent"
LIFECYCLE = "/admin/models/tiny-large/lifecycle"


def test_consent_and_versions_take_their_json_types_only(
    llama_server: LlamaBackend, tmp_path: Path
) -> None:
    with in_process(governed(llama_server, tmp_path), ENV) as gw:
        for value in ("no", "0", "off", "false", 0, 1, None):
            answer = post(gw, CONSENT, {"consent": value, "reason": "typo"}, ADMIN)
            assert refused(answer, "consent").startswith("consent: "), value
        assert model(gw, "tiny-small")["consent"] is True
        version = model(gw, "tiny-small")["version"]
        for path, body in (
            (CONSENT, {"consent": False, "reason": "x", "version": str(version)}),
            (LIFECYCLE, {"state": "in_review", "reason": "x", "version": "1"}),
            (LIFECYCLE, {"state": "in_review", "reason": "x", "version": 1.0}),
            (LIFECYCLE, {"state": "in_review", "reason": "x", "version": True}),
        ):
            assert refused(post(gw, path, body, ADMIN), "version").startswith("version: ")
        assert model(gw, "tiny-small")["consent"] is True
        assert model(gw, "tiny-large")["lifecycle"] == "proposed"
        # JSON's own types still work
        withdrawn = post(gw, CONSENT, {"consent": False, "reason": "ok", "version": version}, OWNER)
        assert withdrawn.status_code == 200, withdrawn.text
        assert withdrawn.json()["consent"] is False
        cases = gw.get("/admin/use-cases", headers=ADMIN).json()["use_cases"]
        assert cases
        changed = gw.put(
            "/admin/use-cases/contracts", json={"purpose": "p", "reason": "r", "version": "1"},
            headers=ADMIN,
        )  # fmt: skip
        refused(changed, "version")


@pytest.mark.parametrize("amount", ["5_000", "١٢", " 5 ", "5 ", "+5", "1e3", "5.", ".5", "0x10"])
def test_a_budget_is_plain_ascii_decimal_as_on_the_dashboard(
    llama_server: LlamaBackend, tmp_path: Path, amount: str
) -> None:
    with in_process(governed(llama_server, tmp_path), ENV) as gw:
        answer = gw.put(
            "/admin/limits/department/research",
            json={"monthly_budget": amount, "reason": "budget"},
            headers=ADMIN,
        )
        message = refused(answer, "monthly_budget")
        assert message.startswith("monthly_budget: ") and "plain amount" in message
        limits = gw.get("/admin/limits", headers=ADMIN).json()
        assert limits["departments"]["research"]["monthly_budget"] is None
        plain = gw.put(
            "/admin/limits/department/research",
            json={"monthly_budget": "5000.25", "reason": "budget"},
            headers=ADMIN,
        )
        assert plain.status_code == 200, plain.text
        assert plain.json()["monthly_budget"] == "5000.250000"


def test_a_budget_of_another_json_type_is_told_in_plain_words(
    llama_server: LlamaBackend, tmp_path: Path
) -> None:
    """true, a list, an object: what a budget takes, never Python's ``Decimal``; so is an amount
    with too many decimals; a null body is "not a JSON object", not "Field required"."""
    with in_process(governed(llama_server, tmp_path), ENV) as gw:
        url = "/admin/limits/department/research"
        for value, said in ((True, "true"), ([5], "a list"), ({"a": 1}, "an object")):
            answer = gw.put(url, json={"monthly_budget": value, "reason": "b"}, headers=ADMIN)
            assert refused(answer, "monthly_budget") == (
                f"monthly_budget: {said} is not an amount; send a decimal number (12.5), a string"
                ' of ASCII digits with an optional decimal point ("12.50"), or null to clear the'
                " budget"
            )
        for amount in ("0.0000001", 1e-7):
            answer = gw.put(url, json={"monthly_budget": amount, "reason": "b"}, headers=ADMIN)
            message = refused(answer, "monthly_budget")
            assert message == "monthly_budget: has more than 6 decimals; write at most 6"
        null = gw.put(url, content=b"null", headers={**ADMIN, "content-type": "application/json"})
        assert refused(null, None) == "request body must be a JSON object"
        limits = gw.get("/admin/limits", headers=ADMIN).json()
        assert limits["departments"]["research"]["monthly_budget"] is None


def test_repeats_are_refused_naming_them(llama_server: LlamaBackend, tmp_path: Path) -> None:
    with in_process(governed(llama_server, tmp_path), ENV) as gw:
        twice = gw.get("/admin/audit?limit=5&limit=6", headers=ADMIN)
        assert "'limit' is given twice" in refused(twice, "limit")
        # one the endpoint does not take is told so, given twice or not (it was "give it once")
        unknown = gw.get("/admin/audit?actr=x&actr=y", headers=ADMIN)
        assert "unknown query parameter 'actr'" in refused(unknown, "actr")
        assert gw.get("/admin/audit?limit=5&action=x", headers=ADMIN).status_code == 200
        body = {
            "name": "triage",
            "department": "research",
            "allowed_models": ["tiny-small", "tiny-medium", "tiny-small"],
            "reason": "new",
        }
        created = post(gw, "/admin/use-cases", body, ADMIN)
        assert "'tiny-small' twice" in refused(created, "allowed_models")
        assert post(gw, "/admin/use-cases", {**body, "allowed_models": ["tiny-small"]}, ADMIN)
        changed = gw.put(
            "/admin/use-cases/triage",
            json={"allowed_models": ["tiny-medium", "tiny-medium"], "reason": "r"},
            headers=ADMIN,
        )
        assert "'tiny-medium' twice" in refused(changed, "allowed_models")
        cases = gw.get("/admin/use-cases", headers=ADMIN).json()["use_cases"]
        assert {c["name"]: c["allowed_models"] for c in cases}["triage"] == ["tiny-small"]


def test_refusals_say_no_internals(llama_server: LlamaBackend, tmp_path: Path) -> None:
    with in_process(governed(llama_server, tmp_path), ENV) as gw:
        digits = "7" * 5000
        body = f'{{"department": "research", "x": {digits}}}'.encode()
        for path in ("/admin/keys", "/admin/models/tiny-small/consent"):
            answer = gw.post(
                path, content=body, headers={**ADMIN, "content-type": "application/json"}
            )
            message = refused(answer, "x")
            assert message == (
                "x: an integer of 5000 digits is too long: every parameter is within the"
                " 64-bit range"
            )
        # tiny-medium has no data owner: no owner key may manage its consent
        owner = post(
            gw, "/admin/models/tiny-medium/consent", {"consent": False, "reason": "x"}, OWNER
        )
        message = refused(owner, None, 403)
        assert "None" not in message and "needs an admin key or an owner key" in message
        # a key the config defines: its limits are set there
        limits = gw.put(
            "/admin/limits/key/legal-owner",
            json={"monthly_budget": "0.0001", "reason": "r"},
            headers=ADMIN,
        )
        message = refused(limits, "key_id", 404)
        assert "remove it there" not in message and "set its limits there" in message
        revoke = post(gw, "/admin/keys/legal-owner/revoke", {"reason": "r"}, ADMIN)
        assert "remove it there" in refused(revoke, "key_id", 404)


def test_a_403_names_only_the_rule_that_refused(llama_server: LlamaBackend, tmp_path: Path) -> None:
    """An admin key (which reads the whole catalog) is told the one rule that refused a model;
    a user key is answered for a model it may not see (proposed, consent withdrawn) as for one
    that does not exist (walk 19, X1), and is told the hosting rule of one it sees."""
    with in_process(governed(llama_server, tmp_path), ENV) as gw:
        proposed = post(gw, "/v1/chat/completions", chat("tiny-large"), ADMIN)
        message = refused(proposed, None, 403)
        assert "lifecycle state is proposed" in message
        assert "classification" not in message
        unseen = post(gw, "/v1/chat/completions", chat("tiny-large"), RESEARCH)
        assert refused(unseen, "model", 404).startswith("model 'tiny-large' does not exist")
        withdrawn = post(gw, CONSENT, {"consent": False, "reason": "x"}, ADMIN)
        assert withdrawn.status_code == 200, withdrawn.text
        no_consent = post(gw, "/v1/chat/completions", chat("tiny-small"), ADMIN)
        message = refused(no_consent, None, 403)
        assert message.endswith("tiny-small: its data owner 'legal' has withdrawn consent")
        assert "classification" not in message
        unseen = post(gw, "/v1/chat/completions", chat("tiny-small"), RESEARCH)
        assert refused(unseen, "model", 404).startswith("model 'tiny-small' does not exist")
        # the hosting rule still says where the data may go
        confidential = {**RESEARCH, "x-stellwerk-classification": "confidential"}
        hosted = post(gw, "/v1/chat/completions", chat("tiny-medium"), confidential)
        assert "(classification confidential may go only to on_prem)" in refused(hosted, None, 403)


TWICE = "request body has the key {!r} twice in {}; send it once"


@pytest.mark.parametrize(
    ("body", "param", "message"),
    [
        (b'{"state": "in_review", "reason": "a", "reason": "b", "version": "1"}', "reason",
         TWICE.format("reason", "one object") + "; version: a string is not a whole number;"
         " send the version you read as a JSON integer, or leave it out"),
        (b'{"state": "in_review", "reason": "a", "x": {"k": 1, "k": 2}}', "x.k",
         TWICE.format("k", "the object at x") + "; x: not a field of this request; fields:"
         " state, reason, version"),
        (b'{"state": "in_review", "reason": "a", "reason": "b"}', "reason",
         TWICE.format("reason", "one object")),
        (b'{"state": "in_review", "reason": "a", "version": NaN, "version": 1}', "version",
         TWICE.format("version", "one object")),
    ],
    ids=["with-a-wrong-type", "nested-with-an-unknown-field", "alone", "first-of-the-text"],
)  # fmt: skip
def test_a_key_named_twice_is_told_with_the_other_problems(
    llama_server: LlamaBackend, tmp_path: Path, body: bytes, param: str, message: str
) -> None:
    """The admin API told a key named twice alone, hiding what else was wrong with the body
    (the fix took two requests): it is told first (its ``param`` the key's place, its ``code``
    ``duplicate_key``), then every problem the schema finds, as the model APIs tell them; and
    nothing changes."""
    with in_process(governed(llama_server, tmp_path), ENV) as gw:
        headers = {**ADMIN, "content-type": "application/json"}
        answer = gw.post(LIFECYCLE, content=body, headers=headers)
        assert refused(answer, param) == message
        assert answer.json()["error"]["code"] == "duplicate_key"
        assert model(gw, "tiny-large")["lifecycle"] == "proposed"


def test_a_compressed_body_is_a_415_after_the_key(
    llama_server: LlamaBackend, tmp_path: Path
) -> None:
    """A body sent with ``content-encoding: gzip`` was "not valid JSON: it is gzip-compressed"
    (and one with ``br`` or ``zstd`` only "Expecting value"): a 415 naming the coding, in the
    OpenAI envelope, once the key is checked (without one it is the 401)."""
    with in_process(governed(llama_server, tmp_path), ENV) as gw:
        body = json.dumps({"state": "in_review", "reason": "r"}).encode()
        headers = {"content-type": "application/json", "content-encoding": "br"}
        answer = gw.post(LIFECYCLE, content=body, headers={**ADMIN, **headers})
        message = refused(answer, "content-encoding", 415)
        assert message.startswith("the request body is sent with content-encoding 'br'")
        assert answer.headers["accept-encoding"] == "identity"
        assert gw.post(LIFECYCLE, content=body, headers=headers).status_code == 401
        assert model(gw, "tiny-large")["lifecycle"] == "proposed"


def test_consent_is_null_for_a_model_without_a_data_owner(
    llama_server: LlamaBackend, tmp_path: Path
) -> None:
    """Consent is its data owner's: a model without one (tiny-medium) has none to give or
    withdraw, so the API says ``null``, not ``true``; one with a data owner (tiny-small, legal's)
    says whether it is granted. Nothing else changes: the model without one serves, and its
    consent cannot be managed."""
    with in_process(governed(llama_server, tmp_path), ENV) as gw:
        listed = gw.get("/admin/models", headers=ADMIN).json()["models"]
        consent = {m["id"]: m["consent"] for m in listed}
        assert consent.pop("tiny-small") is True
        assert set(consent.values()) == {None}  # every other model has no data owner
        assert model(gw, "tiny-medium")["consent"] is None
        managed = post(
            gw, "/admin/models/tiny-medium/consent", {"consent": False, "reason": "x"}, ADMIN
        )
        assert "has no data owner" in refused(managed, "consent")
        assert model(gw, "tiny-medium")["consent"] is None
        assert post(gw, "/v1/chat/completions", chat("tiny-medium"), RESEARCH).status_code == 200
        withdrawn = post(gw, CONSENT, {"consent": False, "reason": "x"}, OWNER)
        assert withdrawn.json()["consent"] is False


def test_a_withdrawal_left_after_the_data_owner_was_dropped_is_lifted_by_an_admin(
    llama_server: LlamaBackend, tmp_path: Path
) -> None:
    """legal withdrew its consent to tiny-small, then the config dropped the data owner: the
    model stays refused and the API says so (``consent`` false with a note); no key could grant
    it again (a 400 "no consent to manage"). An admin's grant lifts it now, audited; an owner
    key may not (its 403 says an admin key is needed, as for any model not its department's),
    and withdrawing it again needs a data owner."""
    with in_process(governed(llama_server, tmp_path), ENV) as gw:
        withdrawn = post(gw, CONSENT, {"consent": False, "reason": "licence"}, OWNER)
        assert withdrawn.status_code == 200, withdrawn.text
        assert withdrawn.json()["consent_note"] is None
    raw = governed(llama_server, tmp_path)
    raw["models"][0].pop("data_owner")
    with in_process(raw, ENV) as gw:
        refusal = post(gw, "/v1/chat/completions", chat("tiny-small"), ADMIN)
        assert refused(refusal, None, 403).endswith("its data owner has withdrawn consent")
        unseen = post(gw, "/v1/chat/completions", chat("tiny-small"), RESEARCH)
        assert refused(unseen, "model", 404).startswith("model 'tiny-small' does not exist")
        listed = {m["id"]: m for m in gw.get("/admin/models", headers=ADMIN).json()["models"]}
        assert listed["tiny-small"]["consent"] is False
        assert "refused until an admin grants consent" in listed["tiny-small"]["consent_note"]
        assert listed["tiny-medium"]["consent_note"] is None
        message = refused(post(gw, CONSENT, {"consent": True, "reason": "r"}, OWNER), None, 403)
        assert message.endswith("that needs an admin key or an owner key of the model's data owner")
        again = post(gw, CONSENT, {"consent": False, "reason": "r"}, ADMIN)
        assert "has no data owner" in refused(again, "consent")
        lifted = post(gw, CONSENT, {"consent": True, "reason": "owner left"}, ADMIN)
        assert lifted.status_code == 200, lifted.text
        assert (lifted.json()["consent"], lifted.json()["consent_note"]) == (None, None)
        assert post(gw, "/v1/chat/completions", chat("tiny-small"), RESEARCH).status_code == 200
        audit = gw.get("/admin/audit", params={"action": "model.consent"}, headers=ADMIN)
        entries = audit.json()["entries"]
        assert [(e["details"]["to"], e["details"]["reason"]) for e in entries] == [
            ("lifted", "owner left"), ("withdrawn", "licence")
        ]  # fmt: skip
        assert "has no data owner" in refused(
            post(gw, CONSENT, {"consent": True, "reason": "twice"}, ADMIN), "consent"
        )
