"""Password hashing with argon2id, off the event loop (a hash costs ~100 ms)."""

from __future__ import annotations

import asyncio
import os

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# Tests set REGISTRY_ARGON2_FAST=1: the same algorithm with tiny costs.
_FAST = os.environ.get("REGISTRY_ARGON2_FAST") == "1"
_hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1) if _FAST else PasswordHasher()

MIN_LENGTH = 10
MAX_LENGTH = 1024  # argon2 copes, but an attacker should not make us hash megabytes

# A hash of a random password, verified against when an account does not
# exist, so that a login takes as long for unknown as for known addresses.
_DUMMY = _hasher.hash(os.urandom(16).hex())


def password_problem(password: str, email: str = "") -> str | None:
    """Why a new password is not acceptable, or None."""
    if len(password) < MIN_LENGTH:
        return f"Choose a password of at least {MIN_LENGTH} characters."
    if len(password) > MAX_LENGTH:
        return f"Choose a password of at most {MAX_LENGTH} characters."
    if email and password.strip().lower() == email.strip().lower():
        return "Your password must not be your e-mail address."
    if len(set(password)) < 4:
        return "Choose a password with more different characters."
    return None


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


async def verify_password(stored_hash: str | None, password: str) -> bool:
    def check() -> bool:
        try:
            return _hasher.verify(stored_hash or _DUMMY, password) and stored_hash is not None
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(check)


def needs_rehash(stored_hash: str) -> bool:
    return _hasher.check_needs_rehash(stored_hash)
