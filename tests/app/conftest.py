"""Fixtures: a throwaway MariaDB (or TEST_MYSQL_* given), the migrated schema, the app and its client.

Migrations run as the server's admin; the app runs as a runtime user holding data rights only.
Tests where the server's behaviour matters (logins, migrations, grants) take `db_server` instead: once on
MariaDB and once on real MySQL (mysql_server.py), whose half is skipped, saying why in one line, where it
cannot run.
"""
from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest

from app import create_app, migrate
from mariadb_server import MariaDBServer
from mysql_server import MySQLServer


@pytest.fixture(scope="session")
def mariadb() -> Iterator[MariaDBServer]:
    server = MariaDBServer.external()
    if server is not None:
        yield server
        return
    server = MariaDBServer.start()
    try:
        yield server
    finally:
        server.destroy()


@pytest.fixture(scope="session")
def mysql_server() -> Iterator[MySQLServer]:
    reason = MySQLServer.unavailable_reason()
    if reason is not None:
        pytest.skip(f"real MySQL half skipped: {reason}")
    server = MySQLServer.start()
    try:
        yield server
    finally:
        server.destroy()


@pytest.fixture(scope="session", params=["mariadb", "mysql"])
def db_server(request: pytest.FixtureRequest) -> MariaDBServer:
    """Each server the app must work on: MariaDB (the rest of the tier's server) and real MySQL."""
    return request.getfixturevalue("mariadb" if request.param == "mariadb" else "mysql_server")


@pytest.fixture()
def fresh_env(db_server: MariaDBServer) -> Iterator[dict[str, str]]:
    """Admin environment (for `python -m app.migrate`) for a database and runtime user that do not exist yet."""
    suffix = secrets.token_hex(4)
    env = {"MYSQL_HOST": db_server.host, "MYSQL_PORT": str(db_server.port), "MYSQL_DATABASE": f"migrate_{suffix}",
           "MYSQL_USER": f"migrate_app_{suffix}", "MYSQL_PASSWORD": "pw-" + secrets.token_hex(8),
           "MYSQL_ADMIN_USER": db_server.admin_user, "MYSQL_ADMIN_PASSWORD": db_server.admin_password,
           "MIGRATE_CONNECT_WAIT": "0"}
    yield env
    with db_server.admin_connection() as con, con.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS `{env['MYSQL_DATABASE']}`")
        cur.execute("DROP USER IF EXISTS %s@'%%'", (env["MYSQL_USER"],))


@pytest.fixture(scope="session")
def app_env(mariadb: MariaDBServer) -> Iterator[dict[str, str]]:
    """Environment for the app: a fresh database and runtime user on the server."""
    suffix = secrets.token_hex(4)
    env = {
        "MYSQL_HOST": mariadb.host,
        "MYSQL_PORT": str(mariadb.port),
        "MYSQL_DATABASE": f"users_test_{suffix}",
        "MYSQL_USER": f"users_app_{suffix}",
        "MYSQL_PASSWORD": "runtime-" + secrets.token_urlsafe(12),
        "MYSQL_TLS": "disabled",
        "MYSQL_CONNECT_TIMEOUT": "2",
        "LOG_LEVEL": "INFO",
    }
    yield env
    with mariadb.admin_connection() as con, con.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS `{env['MYSQL_DATABASE']}`")
        cur.execute("DROP USER IF EXISTS %s@'%%'", (env["MYSQL_USER"],))


@pytest.fixture(scope="session")
def admin_env(mariadb: MariaDBServer, app_env: dict[str, str]) -> dict[str, str]:
    """Environment for `python -m app.migrate` as the server's admin."""
    return {**app_env, "MYSQL_ADMIN_USER": mariadb.admin_user, "MYSQL_ADMIN_PASSWORD": mariadb.admin_password,
            "MIGRATE_CONNECT_WAIT": "5"}


@pytest.fixture(scope="session")
def migrated(admin_env: dict[str, str]) -> dict[str, str]:
    assert migrate.main(admin_env) == 0
    return admin_env


@pytest.fixture()
def clean_users(mariadb: MariaDBServer, migrated: dict[str, str]) -> None:
    with mariadb.admin_connection(database=migrated["MYSQL_DATABASE"]) as con, con.cursor() as cur:
        cur.execute("DELETE FROM users")


@pytest.fixture()
def app(app_env: dict[str, str], migrated: dict[str, str], clean_users: None):
    application = create_app(app_env)
    yield application
    application.extensions["users_db"].close()


@pytest.fixture()
def client(app):
    return app.test_client()
