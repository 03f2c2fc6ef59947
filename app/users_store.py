"""SQL for the users table. Every statement is parameterised; passwords are stored as salted argon2id hashes."""
from __future__ import annotations

from typing import Any

import pymysql

from app.db import ER_DUP_ENTRY, Database
from app.passwords import hash_password

_COLUMNS = "user_id, user_name, user_email, created_at, updated_at"


class DuplicateEmail(Exception):
    """Another user already has this email address."""


def _is_duplicate(error: pymysql.err.IntegrityError) -> bool:
    return bool(error.args) and error.args[0] == ER_DUP_ENTRY


def create(db: Database, name: str, email: str, password: str) -> int:
    hashed = hash_password(password)
    with db.cursor() as cur:
        try:
            cur.execute(
                "INSERT INTO users (user_name, user_email, user_password) VALUES (%s, %s, %s)",
                (name, email, hashed),
            )
        except pymysql.err.IntegrityError as error:
            if _is_duplicate(error):
                raise DuplicateEmail() from None
            raise
        return int(cur.lastrowid)


def get(db: Database, user_id: int) -> dict[str, Any] | None:
    with db.cursor() as cur:
        cur.execute(f"SELECT {_COLUMNS} FROM users WHERE user_id = %s", (user_id,))
        return cur.fetchone()


def page(db: Database, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
    """One page ordered by id, and the total number of users."""
    with db.cursor() as cur:
        cur.execute(f"SELECT {_COLUMNS} FROM users ORDER BY user_id LIMIT %s OFFSET %s", (limit, offset))
        rows = list(cur.fetchall())
        cur.execute("SELECT COUNT(*) AS total FROM users")
        total = int(cur.fetchone()["total"])
    return rows, total


def update(db: Database, user_id: int, name: str | None = None, email: str | None = None,
           password: str | None = None) -> bool:
    """Set the given fields; False when no such user exists."""
    assignments: list[str] = []
    values: list[Any] = []
    for column, value in (("user_name", name), ("user_email", email)):
        if value is not None:
            assignments.append(f"{column} = %s")
            values.append(value)
    if password is not None:
        assignments.append("user_password = %s")
        values.append(hash_password(password))
    with db.cursor() as cur:
        try:
            cur.execute(f"UPDATE users SET {', '.join(assignments)} WHERE user_id = %s", (*values, user_id))
        except pymysql.err.IntegrityError as error:
            if _is_duplicate(error):
                raise DuplicateEmail() from None
            raise
        if cur.rowcount:
            return True
        # rowcount is 0 both for "no such user" and "values unchanged"
        cur.execute("SELECT 1 FROM users WHERE user_id = %s", (user_id,))
        return cur.fetchone() is not None


def delete(db: Database, user_id: int) -> bool:
    with db.cursor() as cur:
        cur.execute("DELETE FROM users WHERE user_id = %s", (user_id,))
        return cur.rowcount > 0
