"""The keyed hash that stands in for a phone number in the store: HMAC-SHA256 of the E.164 text, 16 bytes.

The store never holds a plain number. With a per-installation secret, the same number always gives the same
key (so lookups work) while the stored keys are no use to anyone without the secret: no precomputed table
reverses them. This is pseudonymisation, not anonymisation: whoever holds the store file *and* its secret can
test candidate numbers, so the secret never lives in the store (``connector.dnc.keys`` keeps it in a key file
or the environment). Pure.
"""

from __future__ import annotations

import hashlib
import secrets

__all__ = ["HASH_BYTES", "SECRET_BYTES", "NumberHasher", "new_secret"]

HASH_BYTES = 16
SECRET_BYTES = 32
_BLOCK = 64


def new_secret() -> bytes:
    return secrets.token_bytes(SECRET_BYTES)


class NumberHasher:
    """``hasher("+442079460123")`` -> 16 bytes. Keeps the HMAC's two padded-key states, so a number costs two
    SHA-256 compressions and no key set-up (RFC 2104; equal to ``hmac.digest``, which the tests check)."""

    __slots__ = ("_inner", "_outer")

    def __init__(self, secret: bytes) -> None:
        if len(secret) < SECRET_BYTES:
            raise ValueError("the hash secret is too short")
        key = hashlib.sha256(secret).digest() if len(secret) > _BLOCK else secret
        key = key.ljust(_BLOCK, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))

    def __call__(self, e164: str) -> bytes:
        inner = self._inner.copy()
        inner.update(e164.encode("ascii"))
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()[:HASH_BYTES]

    def __repr__(self) -> str:
        return "NumberHasher(<secret hidden>)"
