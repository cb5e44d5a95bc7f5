"""API keys: `fg_<key_id>_<secret>`; the store keeps `key_id`, a random salt and
SHA-256(salt || secret). The secret has 256 bits of entropy (`secrets.token_urlsafe(32)`), so a
fast salted hash is enough (a slow password KDF protects low-entropy passwords, NIST SP 800-63B
5.1.1.2); it keeps the per-request check cheap."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass


@dataclass(frozen=True)
class KeyPair:
    key: str  # shown once
    key_id: str
    salt: str
    secret_hash: str


def hash_key(salt: str, secret: str) -> str:
    return hashlib.sha256(bytes.fromhex(salt) + secret.encode()).hexdigest()


def new_key() -> KeyPair:
    key_id, secret, salt = secrets.token_hex(8), secrets.token_urlsafe(32), secrets.token_hex(16)
    return KeyPair(f"fg_{key_id}_{secret}", key_id, salt, hash_key(salt, secret))


def split_key(key: str) -> tuple[str, str] | None:
    """(key_id, secret) of a well-formed key, else None."""
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != "fg" or len(parts[1]) != 16 or not parts[2]:
        return None
    return parts[1], parts[2]


def verify_key(secret: str, salt: str, secret_hash: str) -> bool:
    return hmac.compare_digest(hash_key(salt, secret), secret_hash)
