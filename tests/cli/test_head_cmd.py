"""A head key made with the CLI, as an operator gives a department head one: ``keys create --role
head`` prints it, ``keys list`` shows its role beside a head key of the config, and the key reads
its own department's keys through the admin API, no other department's, and changes nothing."""

from __future__ import annotations

from pathlib import Path

from tests.cli.read_only_keys import assert_revoke_refused, made_with_cli
from tests.fixtures.gateway import bearer, in_process


def test_keys_create_role_head_and_the_key_reads_its_department_only(tmp_path: Path) -> None:
    raw, key, key_id = made_with_cli(tmp_path, "head", "cfo")
    with in_process(raw, {}) as gw:
        listed = gw.get("/admin/keys", headers=bearer(key))
        assert listed.status_code == 200, listed.text
        assert [k["key_id"] for k in listed.json()["keys"]] == ["cfo", key_id]  # config's first
        other = gw.get("/admin/keys?department=legal", headers=bearer(key))
        assert other.status_code == 403 and "legal" not in other.text
        assert_revoke_refused(gw, key, key_id, "head")
