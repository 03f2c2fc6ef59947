"""The external-MySQL preflight's check of an existing app user (roles/flask_api/files/mysql_tls_check.py), used
when the play has no admin password and so neither migrates nor creates the user: its login, the rights it lacks
(named, in one sentence) and the schema version it finds. On the throwaway MariaDB, without TLS (the TLS half
of the check is covered end to end by tests/e2e/test_external_mysql.py)."""
from __future__ import annotations

import importlib.util
import secrets
from collections.abc import Iterator
from pathlib import Path

import pymysql
import pytest

from app import migrate
from app.migrations import available_migrations
from mariadb_server import MariaDBServer

CHECK = Path(__file__).resolve().parents[2] / "roles/flask_api/files/mysql_tls_check.py"
_spec = importlib.util.spec_from_file_location("mysql_tls_check", CHECK)
mysql_tls_check = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mysql_tls_check)

HINT = "give the admin's password so the play can"
WHERE = "MySQL at test"


@pytest.fixture()
def account(mariadb: MariaDBServer) -> Iterator[dict]:
    suffix = secrets.token_hex(4)
    app = {"user": f"pre_app_{suffix}", "password": "pw-" + secrets.token_hex(8), "database": f"pre_{suffix}",
           "privileges": list(migrate.RUNTIME_PRIVILEGES), "schema_version": available_migrations()[-1].version,
           "admin_hint": HINT}
    with mariadb.admin_connection() as con, con.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{app['database']}`")
        cur.execute("CREATE USER %s@'%%' IDENTIFIED BY %s", (app["user"], app["password"]))
    yield app
    with mariadb.admin_connection() as con, con.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS `{app['database']}`")
        cur.execute("DROP USER IF EXISTS %s@'%%'", (app["user"],))


def problem(mariadb: MariaDBServer, app: dict) -> str | None:
    def connect(user: str, password: str):
        return pymysql.connect(host=mariadb.host, port=mariadb.port, user=user, password=password,
                               ssl_disabled=True, connect_timeout=5)
    return mysql_tls_check.app_user_problem(connect, WHERE, app)


def grant(mariadb: MariaDBServer, app: dict, privileges: str, on: str | None = None) -> None:
    with mariadb.admin_connection() as con, con.cursor() as cur:
        target = (on or f"`{app['database']}`.*").replace("%", "%%")  # % is PyMySQL's placeholder sign
        cur.execute(f"GRANT {privileges} ON {target} TO %s@'%%'", (app["user"],))


def test_the_missing_rights_are_named_in_one_sentence(mariadb: MariaDBServer, account: dict) -> None:
    grant(mariadb, account, "SELECT, UPDATE")
    assert problem(mariadb, account) == (
        f"The app user '{account['user']}'@'%' lacks INSERT, DELETE on {account['database']}.* at {WHERE}: grant "
        f"them (GRANT INSERT, DELETE ON `{account['database']}`.* TO '{account['user']}'@'%'), or {HINT}.")


def test_a_user_without_any_right_lacks_them_all(mariadb: MariaDBServer, account: dict) -> None:
    assert f"lacks SELECT, INSERT, UPDATE, DELETE on {account['database']}.*" in problem(mariadb, account)


def test_rights_from_a_database_pattern_or_global_grant_count(mariadb: MariaDBServer, account: dict) -> None:
    pattern = account["database"].replace("_", "\\_")[:-2] + "%"
    grant(mariadb, account, "SELECT, INSERT", on=f"`{pattern}`.*")
    grant(mariadb, account, "UPDATE, DELETE", on="*.*")
    assert "schema version 0" in problem(mariadb, account)


def test_a_current_schema_passes_and_an_old_one_is_named(mariadb: MariaDBServer, account: dict) -> None:
    grant(mariadb, account, "SELECT, INSERT, UPDATE, DELETE")
    assert problem(mariadb, account) == (
        f"Database {account['database']} at {WHERE} is at schema version 0 and this API needs version "
        f"{account['schema_version']}: apply the migrations (python -m app.migrate, as a user with DDL rights on "
        f"{account['database']}), or {HINT}.")
    env = {"MYSQL_HOST": mariadb.host, "MYSQL_PORT": str(mariadb.port), "MYSQL_DATABASE": account["database"],
           "MYSQL_USER": account["user"], "MYSQL_PASSWORD": account["password"],
           "MYSQL_ADMIN_USER": mariadb.admin_user, "MYSQL_ADMIN_PASSWORD": mariadb.admin_password,
           "MIGRATE_CONNECT_WAIT": "0"}
    assert migrate.main(env) == 0
    assert problem(mariadb, account) is None


def test_a_refused_login_says_so(mariadb: MariaDBServer, account: dict) -> None:
    said = problem(mariadb, {**account, "password": "not-" + account["password"]})
    assert said.startswith(f"The app user '{account['user']}' cannot log in to {WHERE} (1045: Access denied")
    assert said.endswith(f"or {HINT}.") and account["password"] not in said
