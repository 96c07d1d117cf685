"""A viewer key made with the CLI, as an operator gives a controller one: ``keys create --role
viewer`` prints it, ``keys list`` shows its role beside a viewer key of the config, and the key
reads the admin API (every department's keys) and may not change anything."""

from __future__ import annotations

from pathlib import Path

from tests.cli.read_only_keys import assert_revoke_refused, made_with_cli
from tests.fixtures.gateway import bearer, in_process


def test_keys_create_role_viewer_and_the_key_only_reads(tmp_path: Path) -> None:
    raw, key, key_id = made_with_cli(tmp_path, "viewer", "controller")
    with in_process(raw, {}) as gw:
        listed = gw.get("/admin/keys", headers=bearer(key))
        assert listed.status_code == 200, listed.text
        assert {k["department"] for k in listed.json()["keys"]} == {"finance", "legal"}
        assert_revoke_refused(gw, key, key_id, "viewer")
