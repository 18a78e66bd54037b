"""Password hashing for the control panel log-in: Argon2id through argon2-cffi, with its recommended parameters.

Hashes carry their parameters, so raising them later only needs :func:`needs_rehash` at the next log-in.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 8
_hasher = PasswordHasher()
# Verified when the e-mail address is unknown, so a failed log-in costs the same time either way.
_DUMMY_HASH = _hasher.hash("boxoffice: no such user")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _hasher.check_needs_rehash(stored_hash)
