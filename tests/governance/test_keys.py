from __future__ import annotations

import hashlib
import re

import pytest

from stellwerk.errors import InvalidRequest
from stellwerk.governance.keys import generate_key, generate_key_id, hash_key, parse_role


def test_keys_are_prefixed_unique_and_long() -> None:
    keys = {generate_key() for _ in range(200)}
    assert len(keys) == 200
    for key in keys:
        assert re.fullmatch(r"sk-stw-[A-Za-z0-9_-]{43}", key)  # 32 random bytes, base64url


def test_hash_is_sha256_and_never_the_key() -> None:
    key = generate_key()
    digest = hash_key(key)
    assert digest == hashlib.sha256(key.encode()).hexdigest()
    assert key not in digest


def test_key_ids_are_not_keys() -> None:
    key_id = generate_key_id()
    assert key_id.startswith("key-")
    assert not key_id.startswith("sk-stw-")


def test_roles() -> None:
    assert parse_role("owner") == "owner"
    with pytest.raises(InvalidRequest, match=r"unknown role 'root'.*user, owner, admin"):
        parse_role("root")
