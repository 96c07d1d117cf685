from __future__ import annotations

import pytest
from sqlalchemy import inspect, text
from tests.governance.factories import config

from stellwerk.errors import Conflict, InvalidRequest, NotFound
from stellwerk.governance.key_store import KeyStore
from stellwerk.governance.keys import hash_key
from stellwerk.governance.use_cases import UseCases
from stellwerk.ledger.ledger import Ledger


def stores(ledger: Ledger) -> tuple[KeyStore, UseCases]:
    cfg = config(
        use_cases=[
            {"name": "contracts", "department": "legal", "purpose": "review"},
            {"name": "helpdesk", "department": "it"},
        ]
    )
    cases = UseCases(ledger, cfg)
    cases.seed()
    return KeyStore(ledger, cfg), cases


def test_create_authenticate_revoke(ledger: Ledger) -> None:
    keys, cases = stores(ledger)
    new = keys.create(
        department="legal", actor="cli:anna", role="user", use_case=cases.get("contracts")
    )
    assert new.key.startswith("sk-stw-")
    assert new.key not in repr(new)
    info = keys.active_by_digest()[hash_key(new.key)]
    assert (info.department, info.role, info.use_case) == ("legal", "user", "contracts")
    keys.revoke(info.key_id, actor="cli:anna", reason="left the team")
    assert hash_key(new.key) not in keys.active_by_digest()
    assert keys.get(info.key_id).active is False
    with pytest.raises(Conflict, match="already revoked"):
        keys.revoke(info.key_id, actor="cli:anna", reason="again")


def test_the_raw_key_is_nowhere_in_the_database(ledger: Ledger) -> None:
    keys, _ = stores(ledger)
    new = keys.create(department="it", actor="cli:anna", role="admin")
    keys.revoke(new.info.key_id, actor="cli:anna", reason="test")
    secret_part = new.key.removeprefix("sk-stw-")
    with ledger.connect() as connection:
        for table in inspect(connection).get_table_names():
            for row in connection.execute(text(f'SELECT * FROM "{table}"')):
                dumped = " ".join(str(v) for v in row)
                assert secret_part not in dumped, f"the raw key leaked into {table}"
        stored = connection.execute(text("SELECT key_sha256 FROM gov_keys")).scalar_one()
    assert stored == hash_key(new.key)
    audit = ledger.list_audit(target_kind="key")
    assert [e.action for e in audit] == ["key.revoke", "key.create"]


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"department": "sales"}, NotFound, "unknown department 'sales'"),
        ({"department": "it", "role": "root"}, InvalidRequest, "unknown role 'root'"),
        ({"department": "it", "classification": "top"}, InvalidRequest, "unknown classification"),
        (
            {"department": "legal", "classification": "internal"},
            InvalidRequest,
            "classification internal is below the classification confidential of department"
            " 'legal'; a key's own classification may raise its use case's and department's,"
            r" never lower it \(leave it out and the key's requests run as confidential\)",
        ),
    ],
)
def test_bad_key_requests_change_nothing(
    ledger: Ledger, kwargs: dict[str, str], error: type[Exception], message: str
) -> None:
    keys, _ = stores(ledger)
    with pytest.raises(error, match=message):
        keys.create(actor="cli:anna", **kwargs)  # type: ignore[arg-type]
    assert keys.list() == []
    assert ledger.list_audit(target_kind="key") == []


def test_a_use_case_of_another_department_is_refused(ledger: Ledger) -> None:
    keys, cases = stores(ledger)
    with pytest.raises(InvalidRequest, match="belongs to department 'legal', not 'it'"):
        keys.create(department="it", actor="x", use_case=cases.get("contracts"))


def test_list_by_department_and_use_case_map(ledger: Ledger) -> None:
    keys, cases = stores(ledger)
    a = keys.create(department="legal", actor="x", use_case=cases.get("contracts"))
    b = keys.create(department="it", actor="x")
    assert [k.key_id for k in keys.list(department="legal")] == [a.info.key_id]
    assert {k.key_id for k in keys.list()} == {a.info.key_id, b.info.key_id}
    assert keys.use_case_of() == {a.info.key_id: "contracts"}
