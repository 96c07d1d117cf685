"""Client API keys: generation and hashing.

A key is ``sk-stw-`` followed by 43 URL-safe characters from ``secrets`` (256 bits). Only its
SHA-256 is stored. A fast unsalted hash is the right tool here, unlike for passwords: the key
is random with 256 bits of entropy, so no dictionary or brute-force attack can find a preimage
however fast the hash is, while a slow salted hash (bcrypt, argon2) would add tens of milliseconds
to every request and prevent looking the key up by its hash in an index. The gateway compares
digests in constant time (``stellwerk.gateway.auth``), so response timing reveals nothing about a
stored hash.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Final, get_args

from stellwerk.config.choice import parse_choice
from stellwerk.config.schema import Role

PREFIX: Final = "sk-stw-"
ROLES: Final[tuple[Role, ...]] = get_args(Role)


def generate_key() -> str:
    """A new random client key (shown once to its holder, never stored)."""
    return PREFIX + secrets.token_urlsafe(32)


def generate_key_id() -> str:
    """A public, non-secret identifier of a key, for listings, usage records and the audit log."""
    return "key-" + secrets.token_hex(6)


def hash_key(key: str) -> str:
    """The SHA-256 hex digest under which a key is stored and looked up."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def parse_role(value: str) -> Role:
    """A role from user input; anything else is an ``InvalidRequest`` naming it."""
    return parse_choice(value, ROLES, unknown="unknown role", known="known roles:", param="role")
