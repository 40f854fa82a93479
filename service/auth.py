"""API keys and roles: key generation, salted hashing, and what each role may do."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from typing import Final

ROLES: Final = ("admin", "planner", "contractor", "gis")
# Who may do what; admin may do everything.
WRITE_PLANS: Final = frozenset({"admin", "planner"})
READ_PLANS: Final = frozenset({"admin", "planner"})
READ_FEATURES: Final = frozenset({"admin", "planner", "gis"})
READ_ROUTES: Final = frozenset({"admin", "planner", "contractor"})
MANAGE_KEYS: Final = frozenset({"admin"})

KEY_PREFIX: Final = "gm"
_PREFIX_LEN: Final = 8


def key_from_headers(x_api_key: str | None, authorization: str | None) -> str | None:
    """The key of an `X-API-Key` or `Authorization: Bearer` header, if any."""
    if x_api_key:
        return x_api_key
    if authorization is not None:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "bearer":
            return value.strip() or None
    return None


@dataclass(frozen=True)
class Principal:
    """The caller behind a key: its key id, role and (contractors) the regions it may read."""

    key_id: int
    role: str
    region_ids: frozenset[int] = field(default_factory=frozenset)

    def may_read_region(self, region_id: int | None) -> bool:
        """Contractors read only their own regions; admins and planners read all."""
        if self.role in ("admin", "planner"):
            return True
        return self.role == "contractor" and region_id is not None and region_id in self.region_ids


def generate_key() -> tuple[str, str]:
    """A new random key and its public prefix: `gm_<prefix>_<secret>`."""
    prefix = secrets.token_hex(_PREFIX_LEN // 2)
    return f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}", prefix


def key_prefix(key: str) -> str | None:
    """The prefix of a well-formed key, or None."""
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX or len(parts[1]) != _PREFIX_LEN:
        return None
    return parts[1]


def new_salt() -> str:
    """A random salt for one key."""
    return secrets.token_hex(16)


def hash_key(key: str, salt: str) -> str:
    """Salted SHA-256 of the key.

    Keys carry 256 random bits, so a slow password hash would add latency to every request
    without adding protection; the salt stops precomputed tables.
    """
    return hashlib.sha256(bytes.fromhex(salt) + key.encode()).hexdigest()


def key_matches(key: str, salt: str, key_hash: str) -> bool:
    """Constant-time check of a key against a stored salt and hash."""
    return hmac.compare_digest(hash_key(key, salt), key_hash)
