"""Logging in as each server really does it, on MariaDB and on real MySQL (`db_server`): MySQL's default
caching_sha2_password must let the app in without TLS even when the server has no cached entry for the user
(after FLUSH PRIVILEGES or a restart), which takes the RSA key exchange the app's driver does with
`cryptography`."""
from __future__ import annotations

import pymysql
import pytest

from app import create_app, migrate

# The plugin each server gives a user created with IDENTIFIED BY and no plugin named (their defaults).
DEFAULT_PLUGIN = {"mariadb": "mysql_native_password", "mysql": "caching_sha2_password"}


def flavour(server) -> str:
    with server.admin_connection() as con, con.cursor() as cur:
        cur.execute("SELECT VERSION()")
        return "mariadb" if "MariaDB" in cur.fetchone()[0] else "mysql"


def runtime_env(env: dict[str, str]) -> dict[str, str]:
    return {key: value for key, value in env.items() if not key.startswith("MYSQL_ADMIN")} | {"MYSQL_TLS": "disabled"}


def test_app_logs_in_without_tls_after_the_auth_cache_is_flushed(db_server, fresh_env):
    assert migrate.main(fresh_env) == 0
    with db_server.admin_connection() as con, con.cursor() as cur:
        cur.execute("SELECT plugin FROM mysql.user WHERE user = %s AND host = '%%'", (fresh_env["MYSQL_USER"],))
        assert cur.fetchone()[0] == DEFAULT_PLUGIN[flavour(db_server)]
        cur.execute("FLUSH PRIVILEGES")
    app = create_app(runtime_env(fresh_env))
    try:
        client = app.test_client()
        assert client.get("/readyz").status_code == 200
        created = client.post("/users", json={"name": "Ada", "email": "ada@example.com", "password": "correct horse"})
        assert created.status_code == 201
        assert client.get(f"/users/{created.get_json()['id']}").get_json()["email"] == "ada@example.com"
    finally:
        app.extensions["users_db"].close()
    with pymysql.connect(host=fresh_env["MYSQL_HOST"], port=int(fresh_env["MYSQL_PORT"]),
                         user=fresh_env["MYSQL_USER"], password=fresh_env["MYSQL_PASSWORD"],
                         ssl_disabled=True) as con, con.cursor() as cur:
        cur.execute("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
        assert cur.fetchone()[1] == ""


def test_app_logs_in_after_a_server_restart_with_a_changed_password(db_server, fresh_env):
    if not db_server.can_restart:
        pytest.skip("the server given by TEST_MYSQL_HOST cannot be restarted by the tests")
    assert migrate.main(fresh_env) == 0
    rotated = {**fresh_env, "MYSQL_PASSWORD": "rotated-" + fresh_env["MYSQL_PASSWORD"]}
    assert migrate.main(rotated) == 0
    db_server.stop()
    db_server.start_again()
    app = create_app(runtime_env(rotated))
    try:
        assert app.test_client().get("/readyz").status_code == 200
    finally:
        app.extensions["users_db"].close()
    old = create_app(runtime_env(fresh_env))
    try:
        assert old.test_client().get("/readyz").status_code == 503
    finally:
        old.extensions["users_db"].close()


def test_without_a_mysql_tree_the_mysql_half_says_why_in_one_line(monkeypatch, tmp_path):
    from mysql_server import MySQLServer
    monkeypatch.setenv("TEST_MYSQL_ROOTFS", str(tmp_path))
    reason = MySQLServer.unavailable_reason()
    assert reason is not None and "\n" not in reason
    assert str(tmp_path) in reason and "local-cluster/mysql-rootfs" in reason


def logs_in(env: dict[str, str], password: str) -> bool:
    try:
        pymysql.connect(host=env["MYSQL_HOST"], port=int(env["MYSQL_PORT"]), user=env["MYSQL_USER"],
                        password=password, database=env["MYSQL_DATABASE"], ssl_disabled=True).close()
    except pymysql.err.OperationalError as error:
        assert error.args[0] == 1045, error
        return False
    return True


def test_a_retained_rotation_lets_both_passwords_in_until_the_old_one_is_discarded(db_server, fresh_env, capsys):
    # The first run creates the user in retain mode (as the deployer always runs it): no old password to keep.
    assert migrate.main({**fresh_env, "MIGRATE_ROTATION": "retain"}) == 0
    assert migrate.OLD_PASSWORD_KEPT not in capsys.readouterr().out, "a new user reported an old password"
    old_password = fresh_env["MYSQL_PASSWORD"]
    rotated = {**fresh_env, "MYSQL_PASSWORD": "rotated-" + old_password, "MIGRATE_ROTATION": "retain"}

    assert migrate.main(rotated) == 0
    assert migrate.OLD_PASSWORD_KEPT in capsys.readouterr().out, "the rotation did not say it kept the old password"
    assert logs_in(rotated, old_password), "the old password was refused right after the rotation"
    assert logs_in(rotated, rotated["MYSQL_PASSWORD"]), "the new password does not log in"
    assert migrate.main(rotated) == 0  # a second run (same password) keeps both working, and says so
    assert migrate.OLD_PASSWORD_KEPT in capsys.readouterr().out
    assert logs_in(rotated, old_password) and logs_in(rotated, rotated["MYSQL_PASSWORD"])

    discard = {**rotated, "MIGRATE_ROTATION": "discard"}
    capsys.readouterr()
    assert migrate.main(discard) == 0
    assert "discarded" in capsys.readouterr().out
    assert not logs_in(rotated, old_password), "the old password still logs in after the discard"
    assert logs_in(rotated, rotated["MYSQL_PASSWORD"]), "the discard locked the new password out"
    assert migrate.main(discard) == 0
    assert capsys.readouterr().out.strip().endswith("none"), "a second discard found an old password"
    assert migrate.main(rotated) == 0
    assert migrate.OLD_PASSWORD_KEPT not in capsys.readouterr().out, "an old password reported after the discard"
