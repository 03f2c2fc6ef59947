"""Apply the schema migrations in app/migrations and ensure the runtime database user.

    python -m app.migrate

With MYSQL_ADMIN_USER and MYSQL_ADMIN_PASSWORD (or MYSQL_ADMIN_PASSWORD_FILE) it connects as that
identity, creates MYSQL_DATABASE if absent, applies pending migrations and makes sure MYSQL_USER@'%'
exists with MYSQL_PASSWORD and holds only SELECT, INSERT, UPDATE, DELETE on MYSQL_DATABASE.
With MIGRATE_ROTATION=retain a changed MYSQL_PASSWORD keeps the old one valid too (MySQL:
RETAIN CURRENT PASSWORD; MariaDB: a second mysql_native_password method with the old hash), so clients still
holding the old one are not refused while they are replaced. Once they are, MIGRATE_ROTATION=discard (with the
admin identity) discards it and does nothing else, printing whether there was one. Default: replace.
Without them it applies migrations as MYSQL_USER (which then needs DDL rights).
A database lock (GET_LOCK) serialises concurrent runs; applied versions are recorded in
schema_migrations, so a second run does nothing. Exit status 0 on success, 1 with one line on stderr
on failure.
"""
from __future__ import annotations

import hashlib
import os
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import pymysql

from app.config import ConfigError, DatabaseSettings, database_settings, int_setting, secret_setting, user_name
from app.db import connect_arguments
from app.migrations import Migration, MigrationError, available_migrations

RUNTIME_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE")
# "There is no such grant": MySQL's REVOKE ALL PRIVILEGES ON *.* also takes the database and table grants
# that MariaDB's leaves, so the REVOKEs listed before it ran may find nothing left to take.
_GRANT_ALREADY_GONE = {1141, 1147}
# Errors worth waiting out while the server starts: cannot connect, lost connection, server gone.
_RETRYABLE_CONNECT_ERRORS = {2002, 2003, 2006, 2013}


@dataclass(frozen=True)
class Plan:
    runtime: DatabaseSettings
    admin_user: str | None
    admin_password: str | None
    lock_timeout: int
    connect_wait: int
    retain_old_password: bool = False


def plan_from(env: Mapping[str, str]) -> Plan:
    runtime = database_settings(env)
    admin_user = admin_password = None
    if env.get("MYSQL_ADMIN_USER"):
        admin_user = user_name(env, "MYSQL_ADMIN_USER")
        admin_password = secret_setting(env, "MYSQL_ADMIN_PASSWORD")
        if admin_password is None:
            if "MYSQL_ADMIN_PASSWORD" not in env:
                raise ConfigError("MYSQL_ADMIN_PASSWORD (or MYSQL_ADMIN_PASSWORD_FILE) is required "
                                  "with MYSQL_ADMIN_USER")
            admin_password = ""  # set explicitly to empty: an admin without a password
        if admin_user == runtime.user:
            raise ConfigError("MYSQL_USER must differ from MYSQL_ADMIN_USER: the runtime user gets data rights only")
    return Plan(runtime, admin_user, admin_password,
                lock_timeout=int_setting(env, "MIGRATE_LOCK_TIMEOUT", 120, maximum=3600),
                connect_wait=int_setting(env, "MIGRATE_CONNECT_WAIT", 60, minimum=0, maximum=3600),
                retain_old_password=rotation_mode(env) == "retain")


def rotation_mode(env: Mapping[str, str]) -> str:
    """MIGRATE_ROTATION: replace (default), retain or discard (see the module doc)."""
    mode = (env.get("MIGRATE_ROTATION") or "replace").strip().lower()
    if mode not in ("replace", "retain", "discard"):
        raise ConfigError(f"MIGRATE_ROTATION must be replace, retain or discard, got {mode!r}")
    return mode


def quote_identifier(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def connect(plan: Plan) -> Any:
    """Connect as the admin (no default database) or the runtime user, waiting while the server starts."""
    if plan.admin_user is not None:
        settings = replace(plan.runtime, user=plan.admin_user, password=plan.admin_password or "")
        arguments = connect_arguments(settings, with_database=False)
    else:
        arguments = connect_arguments(plan.runtime)
    arguments["cursorclass"] = pymysql.cursors.Cursor
    deadline = time.monotonic() + plan.connect_wait
    while True:
        try:
            return pymysql.connect(**arguments)
        except pymysql.err.OperationalError as error:
            if error.args[0] not in _RETRYABLE_CONNECT_ERRORS or time.monotonic() >= deadline:
                raise
            time.sleep(1)


def acquire_lock(cur: Any, database: str, timeout: int) -> str:
    lock_name = f"app.migrate:{database}"[:64]  # MySQL 8 refuses lock names over 64 characters
    cur.execute("SELECT GET_LOCK(%s, %s)", (lock_name, timeout))
    if cur.fetchone()[0] != 1:
        raise MigrationError(f"another migration held the lock {lock_name!r} for more than {timeout} s")
    return lock_name


def applied_versions(cur: Any) -> dict[int, str]:
    cur.execute("SELECT COUNT(*) FROM information_schema.TABLES "
                "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'schema_migrations'")
    if cur.fetchone()[0]:  # checked first: CREATE ... IF NOT EXISTS needs the CREATE privilege anyway
        cur.execute("SELECT version, checksum FROM schema_migrations")
        return {int(version): checksum for version, checksum in cur.fetchall()}
    cur.execute(
        "CREATE TABLE schema_migrations ("
        " version INT UNSIGNED NOT NULL PRIMARY KEY,"
        " name VARCHAR(255) NOT NULL,"
        " checksum CHAR(64) NOT NULL,"
        " applied_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP"
        ") ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci")
    return {}


def apply_pending(cur: Any, migrations: list[Migration], out: Any) -> int:
    applied = applied_versions(cur)
    count = 0
    for migration in migrations:
        label = f"{migration.version:04d}_{migration.name}"
        if migration.version in applied:
            if applied[migration.version] != migration.checksum:
                raise MigrationError(f"migration {label} changed after it was applied; add a new migration instead")
            continue
        for statement in migration.statements():
            try:
                cur.execute(statement)
            except pymysql.err.MySQLError as error:
                raise MigrationError(f"migration {label} failed: {_describe(error)}") from None
        cur.execute("INSERT INTO schema_migrations (version, name, checksum) VALUES (%s, %s, %s)",
                    (migration.version, migration.name, migration.checksum))
        print(f"migrate: applied {label}", file=out)
        count += 1
    return count


def native_password_hash(password: str) -> str:
    """mysql_native_password's stored form of a password: '*' and SHA1(SHA1(password)) in upper-case hex."""
    return "*" + hashlib.sha1(hashlib.sha1(password.encode()).digest()).hexdigest().upper()  # noqa: S324 - the server's format


# Said by a run that leaves an old password of the runtime user valid (a retained rotation not yet discarded).
OLD_PASSWORD_KEPT = "an old password is still valid until discarded"


def set_runtime_password(cur: Any, user: str, password: str, retain_old: bool) -> None:
    """ALTER USER to this password; with retain_old a different old password keeps working until discarded."""
    if not retain_old:
        cur.execute("ALTER USER %s@'%%' IDENTIFIED BY %s", (user, password))
        return
    cur.execute("SELECT VERSION()")
    if "mariadb" not in str(cur.fetchone()[0]).lower():
        cur.execute("ALTER USER %s@'%%' IDENTIFIED BY %s RETAIN CURRENT PASSWORD", (user, password))
        return
    cur.execute("SELECT JSON_VALUE(Priv, '$.plugin'), JSON_VALUE(Priv, '$.authentication_string') "
                "FROM mysql.global_priv WHERE User = %s AND Host = '%%'", (user,))
    row = cur.fetchone()
    old_plugin, old_hash = (row or (None, None))
    if old_plugin != "mysql_native_password" or not old_hash or old_hash == native_password_hash(password):
        cur.execute("ALTER USER %s@'%%' IDENTIFIED BY %s", (user, password))
        return
    cur.execute("ALTER USER %s@'%%' IDENTIFIED VIA mysql_native_password USING PASSWORD(%s) "
                "OR mysql_native_password USING %s", (user, password, old_hash))


def _is_mariadb(cur: Any) -> bool:
    cur.execute("SELECT VERSION()")
    return "mariadb" in str(cur.fetchone()[0]).lower()


def _mariadb_methods(cur: Any, user: str) -> tuple[int, str, str] | None:
    """(number of authentication methods, the first one's plugin, its string) of '<user>'@'%' on MariaDB."""
    cur.execute("SELECT COALESCE(JSON_LENGTH(Priv, '$.auth_or'), 0), JSON_VALUE(Priv, '$.plugin'), "
                "JSON_VALUE(Priv, '$.authentication_string') FROM mysql.global_priv WHERE User = %s AND Host = '%%'",
                (user,))
    return cur.fetchone()


def has_old_password(cur: Any, user: str) -> bool:
    """'<user>'@'%' still accepts an old password beside its current one (a retained rotation not yet discarded)."""
    if not _is_mariadb(cur):
        cur.execute("SELECT JSON_CONTAINS_PATH(User_attributes, 'one', '$.additional_password') "
                    "FROM mysql.user WHERE User = %s AND Host = '%%'", (user,))
        row = cur.fetchone()
        return bool(row and row[0])
    row = _mariadb_methods(cur, user)
    return bool(row and row[0] >= 2)


def discard_old_password(cur: Any, user: str) -> bool:
    """Drop the old password a retained rotation left on '<user>'@'%'; True when there was one."""
    if not has_old_password(cur, user):
        return False
    if not _is_mariadb(cur):
        cur.execute("ALTER USER %s@'%%' DISCARD OLD PASSWORD", (user,))
        return True
    _, plugin, string = _mariadb_methods(cur, user)
    if not str(plugin).replace("_", "").isalnum():
        raise MigrationError(f"unexpected authentication plugin {plugin!r} on {user}@'%'")
    cur.execute("ALTER USER %s@'%%' IDENTIFIED VIA " + plugin + " USING %s", (user, string))
    return True


def runtime_password_works(plan: Plan) -> bool:
    """The runtime user logs in with MYSQL_PASSWORD already (then a retained rotation has nothing to change)."""
    try:
        pymysql.connect(**connect_arguments(plan.runtime)).close()
    except pymysql.err.MySQLError:  # refused (1045), no database yet, or no answer yet: the ALTER decides
        return False
    return True


def ensure_runtime_user(cur: Any, user: str, password: str, database: str, retain_old: bool = False,
                        password_current: bool = False) -> None:
    """User '<user>'@'%' with this password and exactly the data privileges on the database.

    retain_old: keep a different old password valid (see the module doc); password_current: the password
    already logs in, so a retained rotation leaves the user's passwords as they are (an ALTER would drop
    an old password still in use)."""
    cur.execute("SELECT COUNT(*) FROM mysql.user WHERE User = %s AND Host = '%%'", (user,))
    existed = cur.fetchone()[0] > 0
    cur.execute("CREATE USER IF NOT EXISTS %s@'%%' IDENTIFIED BY %s", (user, password))
    if existed and not (retain_old and password_current):  # a new user has the password and nothing to retain
        set_runtime_password(cur, user, password, retain_old)
    for statement in excess_privilege_revocations(cur, user, database):
        try:
            cur.execute(statement, (user,))
        except pymysql.err.OperationalError as error:
            if error.args[0] not in _GRANT_ALREADY_GONE:
                raise
    cur.execute(f"GRANT {', '.join(RUNTIME_PRIVILEGES)} ON {quote_identifier(database)}.* TO %s@'%%'", (user,))


def excess_privilege_revocations(cur: Any, user: str, database: str) -> list[str]:
    """REVOKE statements (user as the one parameter) for every privilege beyond the data rights."""
    grantee = f"'{user}'@'%'"
    statements: list[str] = []
    cur.execute("SELECT PRIVILEGE_TYPE, IS_GRANTABLE FROM information_schema.USER_PRIVILEGES WHERE GRANTEE = %s",
                (grantee,))
    rows = cur.fetchall()
    if any(privilege != "USAGE" for privilege, _ in rows):
        statements.append("REVOKE ALL PRIVILEGES ON *.* FROM %s@'%%'")
    if any(grantable == "YES" for _, grantable in rows):
        statements.append("REVOKE GRANT OPTION ON *.* FROM %s@'%%'")
    cur.execute("SELECT TABLE_SCHEMA, PRIVILEGE_TYPE, IS_GRANTABLE FROM information_schema.SCHEMA_PRIVILEGES "
                "WHERE GRANTEE = %s", (grantee,))
    for schema, privilege, grantable in cur.fetchall():
        target = f"{quote_identifier(schema)}.*"
        if schema != database or privilege not in RUNTIME_PRIVILEGES:
            statements.append(f"REVOKE {privilege} ON {target} FROM %s@'%%'")
        if grantable == "YES":
            statements.append(f"REVOKE GRANT OPTION ON {target} FROM %s@'%%'")
    cur.execute("SELECT TABLE_SCHEMA, TABLE_NAME, PRIVILEGE_TYPE, IS_GRANTABLE FROM "
                "information_schema.TABLE_PRIVILEGES WHERE GRANTEE = %s", (grantee,))
    for schema, table, privilege, grantable in cur.fetchall():
        target = f"{quote_identifier(schema)}.{quote_identifier(table)}"
        statements.append(f"REVOKE {privilege} ON {target} FROM %s@'%%'")
        if grantable == "YES":
            statements.append(f"REVOKE GRANT OPTION ON {target} FROM %s@'%%'")
    cur.execute("SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, PRIVILEGE_TYPE FROM "
                "information_schema.COLUMN_PRIVILEGES WHERE GRANTEE = %s", (grantee,))
    for schema, table, column, privilege in cur.fetchall():
        target = f"{quote_identifier(schema)}.{quote_identifier(table)}"
        statements.append(f"REVOKE {privilege} ({quote_identifier(column)}) ON {target} FROM %s@'%%'")
    return list(dict.fromkeys(statements))


def run(plan: Plan, out: Any = None) -> int:
    """Apply pending migrations (and ensure the runtime user as admin); returns how many were applied."""
    migrations = available_migrations()
    database = plan.runtime.database
    current = plan.admin_user is not None and plan.retain_old_password and runtime_password_works(plan)
    con = connect(plan)
    try:
        cur = con.cursor()
        if plan.admin_user is not None:
            cur.execute(f"CREATE DATABASE IF NOT EXISTS {quote_identifier(database)} "
                        "CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
            cur.execute(f"USE {quote_identifier(database)}")
        lock_name = acquire_lock(cur, database, plan.lock_timeout)
        try:
            count = apply_pending(cur, migrations, out)
            old_password = False
            if plan.admin_user is not None:
                ensure_runtime_user(cur, plan.runtime.user, plan.runtime.password, database,
                                    retain_old=plan.retain_old_password, password_current=current)
                old_password = plan.retain_old_password and has_old_password(cur, plan.runtime.user)
        finally:
            cur.execute("SELECT RELEASE_LOCK(%s)", (lock_name,))
    finally:
        con.close()
    version = migrations[-1].version if migrations else 0
    summary = f"migrate: schema at version {version}, {count} migration(s) applied"
    if plan.admin_user is not None:
        summary += f"; {plan.runtime.user}@'%' holds {', '.join(RUNTIME_PRIVILEGES)} on {database}"
    if old_password:  # the deployer discards it once no client uses it (roles/flask_api/tasks/old_password.yml)
        summary += f"; {OLD_PASSWORD_KEPT}"
    print(summary, file=out or sys.stdout)
    return count


def _describe(error: pymysql.err.MySQLError) -> str:
    if len(error.args) >= 2:
        return f"MySQL error {error.args[0]}: {error.args[1]}"
    return type(error).__name__


def discard(plan: Plan, out: Any = None) -> bool:
    """Discard the runtime user's old password (admin identity required); True when there was one."""
    if plan.admin_user is None:
        raise ConfigError("MIGRATE_ROTATION=discard needs MYSQL_ADMIN_USER and MYSQL_ADMIN_PASSWORD")
    con = connect(plan)
    try:
        discarded = discard_old_password(con.cursor(), plan.runtime.user)
    finally:
        con.close()
    print(f"migrate: old password of {plan.runtime.user}@'%' " + ("discarded" if discarded else "none"),
          file=out or sys.stdout)
    return discarded


def main(env: Mapping[str, str] | None = None) -> int:
    env = os.environ if env is None else env
    try:
        if rotation_mode(env) == "discard":
            discard(plan_from(env))
            return 0
        run(plan_from(env))
    except ConfigError as error:
        print(f"migrate: configuration error: {error}", file=sys.stderr)
        return 1
    except MigrationError as error:
        print(f"migrate: {error}", file=sys.stderr)
        return 1
    except pymysql.err.MySQLError as error:
        print(f"migrate: database error: {_describe(error)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
