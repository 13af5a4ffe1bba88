"""Password hashing with argon2id (argon2-cffi)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError


class _Hashing:
    def __init__(self, hasher: PasswordHasher) -> None:
        self.hasher = hasher
        # Checked when an account does not exist, so a miss costs as much as a wrong password.
        self.dummy_hash = hasher.hash("not a real password")


_hashing = _Hashing(PasswordHasher())


def use_fast_hashing_for_tests() -> None:
    """Test runs hash hundreds of passwords; the cheapest argon2 parameters keep them quick."""
    global _hashing
    _hashing = _Hashing(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


def hash_password(password: str) -> str:
    return _hashing.hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hashing.hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def verify_nothing(password: str) -> None:
    verify_password(_hashing.dummy_hash, password)
