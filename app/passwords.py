"""Password hashing: argon2id with the OWASP-recommended minimum cost (19 MiB, 2 passes, 1 lane).

About 30 ms of CPU per hash on a current core: slow enough to make guessing expensive, cheap enough
that creating users is not a denial-of-service lever. The encoded hash carries its salt and
parameters, so they can be raised later without invalidating stored hashes.
"""
from __future__ import annotations

from argon2 import PasswordHasher

_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1, hash_len=32, salt_len=16)


def hash_password(password: str) -> str:
    return _hasher.hash(password)
