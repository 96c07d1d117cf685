"""What a ``config.load`` entry records of the config (``governance.config_changes``): its
governance settings without a secret, the changes since the previous load, bounded however large
the config; and a load after an entry written before loads recorded their settings says the
changes are unknown rather than listing every setting as added."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from tests.governance.factories import config, model

from stellwerk.calibration.records import CalibrationStore
from stellwerk.governance.config_change_text import change_text
from stellwerk.governance.config_changes import (
    MAX_CHANGES,
    MAX_NAMES,
    MAX_TEXT,
    credentials,
    load_details,
    recorded_address,
    secret_moved,
)
from stellwerk.governance.service import Governance
from stellwerk.ledger.ledger import Ledger


def stored(details: dict[str, Any]) -> dict[str, Any]:
    """``details`` as an entry gives them back (JSON)."""
    loaded: dict[str, Any] = json.loads(json.dumps(details))
    return loaded


def keys(n: int, **extra: Any) -> list[dict[str, Any]]:
    return [
        {"id": f"k-{i:04d}", "key_sha256": hashlib.sha256(b"%d" % i).hexdigest(), **extra}
        for i in range(n)
    ]


def test_no_secret_is_recorded() -> None:
    sha = hashlib.sha256(b"sk-stw-secret").hexdigest()
    cfg = config(
        backends=[
            {
                "name": "local",
                "kind": "openai",
                "base_url": "https://svc:hunter2@models.example:8443/v1",
            }
        ],
        departments=[
            {"name": "legal", "keys": [{"id": "l-1", "key_sha256": sha, "role": "admin"}]},
        ],
    )
    details = load_details(cfg, None, None)
    text = json.dumps(details)
    assert "hunter2" not in text and "svc" not in text and sha not in text
    assert details["settings"]["backend"]["local"] == {
        "kind": "openai",
        "base_url": "https://models.example:8443/v1",
        "credentials": True,  # present; nothing derived from them (walk 18, 2)
        "remote_image_urls": False,
    }
    assert details["settings"]["key"]["l-1"]["key_sha256"] == sha[:12] + "…"


def test_the_changes_are_capped_and_the_rest_counted() -> None:
    before = load_details(config(), None, None)
    many = config(
        departments=[
            {"name": "legal", "keys": keys(MAX_CHANGES + 7)},
            {"name": "it", "pilot": True},
        ]
    )
    details = load_details(many, stored(before), "h-1")
    assert len(details["changed"]) == MAX_CHANGES
    # the keys added (+ 57) and legal's classification back to its default
    assert details["changed_more"] == 7 + 1
    assert details["changed"][0] == {
        "kind": "department",
        "name": "legal",
        "field": "classification",
        "from": "confidential",
        "to": "internal",
    }
    assert change_text(details["changed"][1]) == (
        f"key k-0000 added (department legal, role user,"
        f" key_sha256 {hashlib.sha256(b'0').hexdigest()[:12]}…)"
    )


def test_a_kind_with_more_names_than_kept_is_compared_name_by_name_and_past_them() -> None:
    def cfg(role_of_first: str, role_of_last: str) -> Any:
        listed = keys(MAX_NAMES + 5)
        listed[0]["role"] = role_of_first
        listed[-1]["role"] = role_of_last  # past the names kept
        return config(departments=[{"name": "legal", "keys": listed}])

    before = load_details(cfg("user", "user"), None, None)
    assert before["cut"] == {"key": 5}
    assert len(before["settings"]["key"]) == MAX_NAMES
    after = load_details(cfg("admin", "admin"), stored(before), "h-1")
    last = after["changed"][1]["settings"]
    assert after["changed"] == [
        {"kind": "key", "name": "k-0000", "field": "role", "from": "user", "to": "admin"},
        {"kind": "key", "name": f"k-{MAX_NAMES + 4:04d}", "change": "unlisted", "settings": last},
        {"kind": "key", "change": "past_cut", "names": 5, "listed": MAX_NAMES},
    ]
    assert last["role"] == "admin"
    # fewer keys now: the ones past the old cut are not called removed, but the change is said
    fewer = config(departments=[{"name": "legal", "keys": keys(MAX_NAMES + 1)}])
    assert load_details(fewer, stored(before), "h-1")["changed"] == [
        {"kind": "key", "change": "past_cut", "names": 1, "listed": MAX_NAMES}
    ]


def test_unstated_values_read_as_what_they_mean() -> None:
    before = load_details(config(), None, None)
    after = config(
        departments=[
            {"name": "legal", "classification": "confidential", "allowed_models": []},
            {"name": "it", "pilot": True, "limits": {"monthly_budget": "0.10"}},
        ]
    )
    lines = [change_text(c) for c in load_details(after, stored(before), "h-1")["changed"]]
    assert lines == [
        "department it: monthly_budget (unlimited) -> 0.1",
        "department legal: allowed_models (any) -> []",
    ]


def test_a_model_added_and_removed() -> None:
    before = load_details(config(), None, None)
    after = config(models=[model("small-onprem"), model("new-one", hosting="eu_cloud")])
    lines = [change_text(c) for c in load_details(after, stored(before), "h-1")["changed"]]
    assert lines == [
        "model big-cloud removed",
        "model new-one added (lifecycle approved, hosting"
        " eu_cloud, risk_tier minimal, backend local, upstream new-one, licence"
        " apache-2.0, openness open_weights, input_per_mtok 0.0, output_per_mtok 0.0)",
    ]


def test_a_load_after_an_older_entry_says_the_changes_are_unknown(ledger: Ledger) -> None:
    """A ledger whose last ``config.load`` was written before loads recorded their settings
    (its details only ``previous``), on SQLite and PostgreSQL."""
    ledger.append_audit(
        actor="config",
        action="config.load",
        target_kind="config",
        target="/etc/stellwerk.yaml",
        details={"previous": None},
        config_hash="old-hash",
    )
    evaluated = CalibrationStore(ledger).evaluated
    Governance(ledger, config(), evaluated=evaluated, config_hash="new-hash").start()
    newest = ledger.list_audit(action="config.load", limit=1)[0].details
    assert newest["previous"] == "old-hash"
    assert newest["changes_unknown"] is True
    assert "changed" not in newest and "first" not in newest
    assert newest["settings"]["department"]["legal"]["classification"] == "confidential"


def with_user(n: int, role: str, key_env: str = "STW_Z_USER") -> Any:
    """``n`` keys ``k-0000`` ... and, sorting after them, ``z-user`` of ``role`` (walk 17, 1)."""
    listed = [*keys(n), {"id": "z-user", "key_env": key_env, "role": role}]
    return config(departments=[{"name": "legal", "keys": listed}, {"name": "it", "pilot": True}])


def test_a_key_made_admin_past_the_names_kept_is_named() -> None:
    """Walk 17, 1: with more keys than kept, a key past them made an admin read "no governance
    setting changed"."""
    before = load_details(with_user(MAX_NAMES + 100, "user"), None, None)
    after = load_details(with_user(MAX_NAMES + 100, "admin"), stored(before), "h-1")
    lines = [change_text(c) for c in after["changed"]]
    assert lines == [
        "key z-user (not among the 500 names the previous entry listed): added or changed"
        " (department legal, role admin, key_env STW_Z_USER)",
        "key: settings changed among the 101 names past the 500 the previous entry listed"
        " (not listed one by one)",
    ]
    # a key that is not a user is kept however it sorts, so its next change is listed as such
    assert after["settings"]["key"]["z-user"]["role"] == "admin"
    again = load_details(with_user(MAX_NAMES + 100, "owner"), stored(after), "h-2")
    assert [change_text(c) for c in again["changed"]] == ["key z-user: role admin -> owner"]


def test_any_change_past_the_names_kept_is_said() -> None:
    """A user key past the cut given another variable: not named, but never silent; the same
    keys again: nothing changed."""
    before = load_details(with_user(MAX_NAMES + 100, "user"), None, None)
    moved = load_details(with_user(MAX_NAMES + 100, "user", "STW_OTHER"), stored(before), "h-1")
    assert moved["changed"][-1] == {
        "kind": "key",
        "change": "past_cut",
        "names": 101,
        "listed": MAX_NAMES,
    }
    same = load_details(with_user(MAX_NAMES + 100, "user"), stored(before), "h-1")
    assert same["changed"] == []
    assert len(json.dumps(same)) < 200_000  # bounded


def test_a_change_past_the_first_characters_of_a_text_is_a_change() -> None:
    """Walk 17, 1: texts were compared cut to ``MAX_TEXT`` characters."""

    def cfg(letter: str) -> Any:
        purpose = "p" * 500 + letter + "q" * 10_000
        case = {"name": "contracts", "department": "legal", "purpose": purpose}
        return config(use_cases=[case])

    before = load_details(cfg("a"), None, None)
    kept = before["settings"]["use_case"]["contracts"]["purpose"]
    assert len(kept) <= MAX_TEXT and kept.startswith("ppp")
    after = load_details(cfg("b"), stored(before), "h-1")
    (change,) = after["changed"]
    assert (change["kind"], change["name"], change["field"]) == ("use_case", "contracts", "purpose")
    assert change["from"] != change["to"]


def test_a_backend_address_keeps_its_query_masked() -> None:
    """Walk 17, 7: the query was dropped, so a change of it was not recorded (a config may
    refuse a query in ``base_url``; the record masks it all the same)."""
    url = "https://models.example/v1?api-version=2024&api_key=SECRET1"
    assert recorded_address(url) == "https://models.example/v1?api-version=***&api_key=***"
    assert credentials(url) is True  # only that they are there (walk 18, 2)
    assert credentials("https://models.example/v1") is None


def test_credentials_added_and_changed_are_said_never_shown() -> None:
    def cfg(url: str) -> Any:
        return config(backends=[{"name": "local", "kind": "openai", "base_url": url}])

    plain = load_details(cfg("https://models.example/v1"), None, None)
    userinfo = load_details(cfg("https://svc:hunter2@models.example/v1"), stored(plain), "h-1")
    other = load_details(cfg("https://svc:hunter3@models.example/v1"), stored(userinfo), "h-2")
    gone = load_details(cfg("https://models.example/v1"), stored(other), "h-3")
    assert "hunter" not in json.dumps([userinfo, other])
    assert userinfo["settings"]["backend"]["local"]["credentials"] is True
    assert other["changed"] == []  # a new password is not a governance setting (walk 18, 2)
    said = [*userinfo["changed"], *gone["changed"]]
    assert [change_text(c) for c in said] == [
        f"backend local: credentials added ({WHERE})",
        f"backend local: credentials removed ({WHERE})",
    ]


def env_keyed(variable: str = "STW_K") -> Any:
    return config(
        departments=[
            {"name": "it", "keys": [{"id": "it-admin", "key_env": variable, "role": "admin"}]}
        ]
    )


def test_a_key_in_a_variable_records_its_hash_and_a_new_secret_is_said() -> None:
    """Walk 18, 1: a new key in a ``key_env`` variable (the same file) left no audit record,
    while the same change by ``key_sha256`` was one."""
    old_sha = hashlib.sha256(b"sk-old-admin-key").hexdigest()
    new_sha = hashlib.sha256(b"sk-new-admin-key").hexdigest()
    before = load_details(env_keyed(), None, "h-1", {"it-admin": old_sha})
    assert before["settings"]["key"]["it-admin"]["key_sha256"] == old_sha[:12] + "…"
    after = load_details(env_keyed(), stored(before), "h-1", {"it-admin": new_sha})
    assert [change_text(c) for c in after["changed"]] == [
        f"key it-admin: secret changed (key_sha256 {old_sha[:12]}… -> {new_sha[:12]}…)"
    ]
    assert secret_moved(stored(before), after)
    again = load_details(env_keyed(), stored(after), "h-1", {"it-admin": new_sha})
    assert again["changed"] == [] and not secret_moved(stored(after), again)
    # the same key given by its hash instead: the variable goes, the secret is the same
    by_hash = config(
        departments=[
            {"name": "it", "keys": [{"id": "it-admin", "key_sha256": new_sha, "role": "admin"}]}
        ]
    )
    moved = load_details(by_hash, stored(after), "h-2")
    assert [(c["field"], c["to"]) for c in moved["changed"]] == [("key_env", None)]


def test_a_key_not_read_on_one_side_is_not_a_change() -> None:
    """A CLI without the variable records no hash: not compared."""
    sha = hashlib.sha256(b"sk-admin-key").hexdigest()
    unread = load_details(env_keyed(), None, "h-1")
    assert "key_sha256" not in unread["settings"]["key"]["it-admin"]
    read = load_details(env_keyed(), stored(unread), "h-1", {"it-admin": sha})
    assert read["changed"] == []
    # written all the same (the gateway's start after such a command), so that a later swap
    # of the secret in the variable has a hash to be compared with and is said
    assert secret_moved(stored(unread), read)
    other = hashlib.sha256(b"sk-swapped-admin-key").hexdigest()
    swapped = load_details(env_keyed(), stored(read), "h-1", {"it-admin": other})
    assert [c["field"] for c in swapped["changed"]] == ["key_sha256"]
    # and a command without the variable after it writes nothing
    assert not secret_moved(stored(read), load_details(env_keyed(), stored(read), "h-1"))


WHERE = "user:password@ or query values of base_url; not shown"
