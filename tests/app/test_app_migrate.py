"""python -m app.migrate: idempotent, safe when run concurrently, data rights only for the runtime user.

Every test runs on MariaDB and on real MySQL (the `db_server` fixture).
"""
from __future__ import annotations

import os
import secrets
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pymysql
import pytest

from app import migrate

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run_migrate(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "app.migrate"], env={"PATH": os.environ["PATH"], **env},
                          cwd=REPO, capture_output=True, text=True, timeout=120)


@pytest.fixture()
def offline_env():
    """Settings checked before any connection (or refused by a port nothing listens on): no server needed."""
    from mariadb_server import free_port
    return {"MYSQL_HOST": "127.0.0.1", "MYSQL_PORT": str(free_port()), "MYSQL_DATABASE": "migrate_offline",
            "MYSQL_USER": "migrate_app", "MYSQL_PASSWORD": "pw-" + secrets.token_hex(8),
            "MYSQL_ADMIN_USER": "root", "MYSQL_ADMIN_PASSWORD": "admin-" + secrets.token_hex(8),
            "MIGRATE_CONNECT_WAIT": "0"}


def runtime_connection(env, password=None):
    return pymysql.connect(host=env["MYSQL_HOST"], port=int(env["MYSQL_PORT"]), user=env["MYSQL_USER"],
                           password=password or env["MYSQL_PASSWORD"], database=env["MYSQL_DATABASE"],
                           ssl_disabled=True, autocommit=True)


def grants_of(db_server, user) -> list[str]:
    with db_server.admin_connection() as con, con.cursor() as cur:
        cur.execute("SHOW GRANTS FOR %s@'%%'", (user,))
        return sorted(row[0] for row in cur.fetchall())


def applied(db_server, database) -> list[tuple]:
    with db_server.admin_connection(database=database) as con, con.cursor() as cur:
        cur.execute("SELECT version, name FROM schema_migrations ORDER BY version")
        return list(cur.fetchall())


def test_creates_database_schema_and_runtime_user_then_does_nothing(db_server, fresh_env):
    first = run_migrate(fresh_env)
    assert first.returncode == 0, first.stderr
    assert "applied 0001_create_users" in first.stdout
    assert fresh_env["MYSQL_PASSWORD"] not in first.stdout + first.stderr
    second = run_migrate(fresh_env)
    assert second.returncode == 0, second.stderr
    assert "applied 0001" not in second.stdout and "0 migration(s) applied" in second.stdout
    assert applied(db_server, fresh_env["MYSQL_DATABASE"]) == [(1, "create_users")]


def test_runtime_user_has_data_rights_only(db_server, fresh_env):
    assert run_migrate(fresh_env).returncode == 0
    database, user = fresh_env["MYSQL_DATABASE"], fresh_env["MYSQL_USER"]
    assert f"GRANT SELECT, INSERT, UPDATE, DELETE ON `{database}`.* TO `{user}`@`%`" in grants_of(db_server, user)
    with runtime_connection(fresh_env) as con, con.cursor() as cur:
        cur.execute("INSERT INTO users (user_name, user_email, user_password) VALUES ('a', 'a@b.c', 'h')")
        cur.execute("DELETE FROM users")
        for ddl in ("DROP TABLE users", "CREATE TABLE t (i INT)", "ALTER TABLE users ADD COLUMN x INT",
                    "SELECT * FROM mysql.user", "GRANT SELECT ON users TO root@localhost"):
            with pytest.raises(pymysql.err.OperationalError):
                cur.execute(ddl)


def test_broader_grants_are_revoked(db_server, fresh_env):
    assert run_migrate(fresh_env).returncode == 0
    database, user = fresh_env["MYSQL_DATABASE"], fresh_env["MYSQL_USER"]
    with db_server.admin_connection() as con, con.cursor() as cur:
        cur.execute("GRANT PROCESS, CREATE ON *.* TO %s@'%%' WITH GRANT OPTION", (user,))
        cur.execute(f"GRANT ALL PRIVILEGES ON `{database}`.* TO %s@'%%'", (user,))
        cur.execute("GRANT SELECT ON mysql.user TO %s@'%%'", (user,))
        cur.execute("GRANT SELECT (Host) ON mysql.db TO %s@'%%'", (user,))
    assert len(grants_of(db_server, user)) > 2
    result = run_migrate(fresh_env)
    assert result.returncode == 0, result.stderr
    data, usage = grants_of(db_server, user)  # sorted: "GRANT SELECT" < "GRANT USAGE"
    # MariaDB shows the password hash on the USAGE line, MySQL does not.
    assert usage.split(" IDENTIFIED BY PASSWORD ")[0] == f"GRANT USAGE ON *.* TO `{user}`@`%`"
    assert data == f"GRANT SELECT, INSERT, UPDATE, DELETE ON `{database}`.* TO `{user}`@`%`"


def test_password_is_set_again_on_every_run(db_server, fresh_env):
    assert run_migrate(fresh_env).returncode == 0
    rotated = {**fresh_env, "MYSQL_PASSWORD": "rotated-" + secrets.token_hex(8)}
    assert run_migrate(rotated).returncode == 0
    runtime_connection(rotated).close()
    with pytest.raises(pymysql.err.OperationalError):
        runtime_connection(fresh_env)


def test_concurrent_runs_apply_each_migration_once(db_server, fresh_env):
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(run_migrate, [fresh_env] * 4))
    assert [result.returncode for result in results] == [0, 0, 0, 0], [result.stderr for result in results]
    assert sum("applied 0001_create_users" in result.stdout for result in results) == 1
    assert applied(db_server, fresh_env["MYSQL_DATABASE"]) == [(1, "create_users")]


def test_password_file_is_read(db_server, fresh_env, tmp_path):
    secret = tmp_path / "password"
    secret.write_text(fresh_env["MYSQL_PASSWORD"] + "\n")
    env = {key: value for key, value in fresh_env.items() if key != "MYSQL_PASSWORD"}
    assert run_migrate({**env, "MYSQL_PASSWORD_FILE": str(secret)}).returncode == 0
    runtime_connection(fresh_env).close()


def test_wrong_admin_password_fails_with_one_clear_line(fresh_env):
    result = run_migrate({**fresh_env, "MYSQL_ADMIN_PASSWORD": "wrong-admin-password"})
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("migrate: database error: MySQL error 1045")
    assert "wrong-admin-password" not in result.stderr


def test_unreachable_server_fails_after_waiting(offline_env):
    result = run_migrate({**offline_env, "MIGRATE_CONNECT_WAIT": "1"})
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert "2003" in result.stderr


@pytest.mark.parametrize("missing", ["MYSQL_DATABASE", "MYSQL_USER", "MYSQL_PASSWORD", "MYSQL_HOST"])
def test_missing_setting_fails_naming_it(offline_env, missing):
    env = {key: value for key, value in offline_env.items() if key != missing}
    result = run_migrate(env)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and missing in result.stderr


def test_admin_and_runtime_user_must_differ(offline_env):
    result = run_migrate({**offline_env, "MYSQL_USER": offline_env["MYSQL_ADMIN_USER"]})
    assert result.returncode == 1 and "must differ" in result.stderr


def test_failing_migration_is_reported_and_not_recorded(db_server, fresh_env, monkeypatch, capsys):
    broken = migrate.Migration(2, "broken", "CREATE TABLE broken (id NO_SUCH_TYPE);\n")
    monkeypatch.setattr(migrate, "available_migrations", lambda: [broken])
    assert migrate.main(fresh_env) == 1
    assert "migration 0002_broken failed: MySQL error" in capsys.readouterr().err
    assert applied(db_server, fresh_env["MYSQL_DATABASE"]) == []


def test_changed_applied_migration_is_refused(db_server, fresh_env, monkeypatch, capsys):
    assert migrate.main(fresh_env) == 0
    original = migrate.available_migrations()[0]
    changed = migrate.Migration(original.version, original.name, original.sql + "\n-- edited\n")
    monkeypatch.setattr(migrate, "available_migrations", lambda: [changed])
    assert migrate.main(fresh_env) == 1
    assert "changed after it was applied" in capsys.readouterr().err


def test_without_admin_an_up_to_date_schema_needs_no_ddl_rights(db_server, fresh_env):
    assert run_migrate(fresh_env).returncode == 0
    env = {key: value for key, value in fresh_env.items() if not key.startswith("MYSQL_ADMIN")}
    result = run_migrate(env)
    assert result.returncode == 0, result.stderr
    assert "holds" not in result.stdout and "0 migration(s) applied" in result.stdout


def test_without_admin_pending_migrations_need_ddl_rights(db_server, fresh_env):
    assert run_migrate(fresh_env).returncode == 0
    with db_server.admin_connection(database=fresh_env["MYSQL_DATABASE"]) as con, con.cursor() as cur:
        cur.execute("DROP TABLE users")
        cur.execute("DELETE FROM schema_migrations")
    env = {key: value for key, value in fresh_env.items() if not key.startswith("MYSQL_ADMIN")}
    result = run_migrate(env)
    assert result.returncode == 1
    assert result.stderr.startswith("migrate: migration 0001_create_users failed: MySQL error 1142")


def test_statement_splitting():
    migration = migrate.Migration(9, "two", "-- comment; not a statement\nCREATE TABLE a (i INT);\n"
                                            "INSERT INTO a VALUES (1);\nSELECT 1")
    assert migration.statements() == ["CREATE TABLE a (i INT)", "INSERT INTO a VALUES (1)", "SELECT 1"]
