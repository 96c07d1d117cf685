"""What a ``config.load`` entry records of the config (``governance.config_changes``): its
governance settings without a secret, the changes since the previous load, bounded however large
the config; and a load after an entry of an older version, which recorded no settings, says the
changes are unknown rather than listing every setting as added."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from tests.governance.factories import config, model

from stellwerk.calibration.records import CalibrationStore
from stellwerk.governance.config_changes import (
    MAX_CHANGES,
    MAX_NAMES,
    change_text,
    load_details,
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


def test_a_kind_with_more_names_than_kept_is_compared_up_to_the_last_both_kept() -> None:
    def cfg(role_of_first: str, role_of_last: str) -> Any:
        listed = keys(MAX_NAMES + 5)
        listed[0]["role"] = role_of_first
        listed[-1]["role"] = role_of_last  # past the names kept
        return config(departments=[{"name": "legal", "keys": listed}])

    before = load_details(cfg("user", "user"), None, None)
    assert before["cut"] == {"key": 5}
    assert len(before["settings"]["key"]) == MAX_NAMES
    after = load_details(cfg("admin", "admin"), stored(before), "h-1")
    assert after["changed"] == [
        {"kind": "key", "name": "k-0000", "field": "role", "from": "user", "to": "admin"}
    ]
    # fewer keys now: the ones past the old cut are not called added
    fewer = config(departments=[{"name": "legal", "keys": keys(MAX_NAMES + 1)}])
    assert load_details(fewer, stored(before), "h-1")["changed"] == []


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
