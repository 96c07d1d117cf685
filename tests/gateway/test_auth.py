"""The keyring: a config key and a database key with the same facts are the same caller."""

from __future__ import annotations

import pytest

from stellwerk.calibration.records import CalibrationStore
from stellwerk.config.schema import Classification
from stellwerk.errors import AuthenticationFailed
from stellwerk.gateway.auth import Keyring
from stellwerk.governance.keys import hash_key
from stellwerk.governance.service import Governance
from stellwerk.ledger.ledger import Ledger
from tests.governance.factories import config

CONFIG_KEY = "sk-stw-config-key-for-the-keyring-test"


@pytest.mark.parametrize(
    ("own", "use_case", "department", "expected"),
    [
        (None, None, "legal", "confidential"),
        (None, None, "it", "internal"),
        (None, "contracts", "legal", "secret"),
        (None, "lobby", "legal", "confidential"),  # a use case below legal does not lower it
        ("secret", "lobby", "legal", "secret"),
        ("secret", None, "it", "secret"),
    ],
)
def test_config_and_database_keys_get_the_same_class(
    ledger: Ledger,
    own: Classification | None,
    use_case: str | None,
    department: str,
    expected: str,
) -> None:
    key: dict[str, object] = {"id": "cfg-1", "key_sha256": hash_key(CONFIG_KEY)}
    key.update({"use_case": use_case} if use_case else {})
    key.update({"classification": own} if own else {})
    departments: list[dict[str, object]] = [
        {"name": "legal", "classification": "confidential"},
        {"name": "it"},
    ]
    next(d for d in departments if d["name"] == department)["keys"] = [key]
    cfg = config(
        departments=departments,
        use_cases=[
            {"name": "contracts", "department": "legal", "classification": "secret"},
            {"name": "lobby", "department": "legal", "classification": "public"},
        ],
    )
    gov = Governance(ledger, cfg, evaluated=CalibrationStore(ledger).evaluated)
    gov.start()
    case = gov.admin.use_cases.get(use_case) if use_case else None
    new = gov.admin.keys.create(department=department, actor="t", use_case=case, classification=own)
    gov.reload()
    keyring = Keyring.from_config(cfg, {}, gov)
    from_config = keyring.authenticate(f"Bearer {CONFIG_KEY}")
    from_database = keyring.authenticate(f"Bearer {new.key}")
    assert from_config.key_id == "cfg-1"
    assert from_database.key_id == new.info.key_id
    assert from_config.classification == from_database.classification == expected

    gov.admin.keys.revoke(new.info.key_id, actor="t", reason="leaver")
    gov.reload()
    with pytest.raises(AuthenticationFailed, match="unknown API key"):
        keyring.authenticate(f"Bearer {new.key}")


def test_a_config_key_follows_its_use_case_changed_in_the_database(ledger: Ledger) -> None:
    cfg = config(
        departments=[
            {
                "name": "legal",
                "keys": [{"id": "cfg-1", "key_sha256": hash_key(CONFIG_KEY), "use_case": "nda"}],
            }
        ],
        use_cases=[{"name": "nda", "department": "legal", "classification": "internal"}],
    )
    gov = Governance(ledger, cfg, evaluated=CalibrationStore(ledger).evaluated)
    gov.start()
    keyring = Keyring.from_config(cfg, {}, gov)
    assert keyring.authenticate(f"Bearer {CONFIG_KEY}").classification == "internal"

    # raised elsewhere (another replica's admin API): counts from this gateway's next reload
    elsewhere = Governance(ledger, cfg, evaluated=CalibrationStore(ledger).evaluated)
    raised = gov.admin.use_cases.get("nda").model_copy(update={"classification": "confidential"})
    elsewhere.admin.use_cases.update(raised, actor="admin-1", reason="holds client data now")
    assert keyring.authenticate(f"Bearer {CONFIG_KEY}").classification == "internal"
    gov.reload()
    principal = keyring.authenticate(f"Bearer {CONFIG_KEY}")
    assert (principal.key_id, principal.use_case) == ("cfg-1", "nda")
    assert principal.classification == "confidential"
