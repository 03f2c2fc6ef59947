"""Checks, from the Ansible host, that an external MySQL server answers, that its certificate verifies, and (when
the play does not create the app user itself) that the app user can log in and holds the rights the API needs.

    python3 mysql_tls_check.py HOST PORT < request.json

request.json: {"ca": PEM, "app": null | {"user", "password", "database", "privileges": [...],
"schema_version": N, "admin_hint": "..."}}; it holds a password, so it comes on standard input, never argv.

The TLS check connects as the API does with MYSQL_TLS=required (PyMySQL, TLS verified against the CA, host name
checked) but with a user that does not exist: TLS is negotiated before the login, so the server's "access denied"
proves that the path and the certificate are good, without any password. The app check then logs in as the app
user over the same verified TLS, reads its own grants from information_schema and the schema version the
database is at. Prints one JSON line {"ok": bool, "message": str} (one sentence on failure) and exits 1 on
failure.
"""
from __future__ import annotations

import json
import socket
import ssl
import sys
from typing import Any

PROBE_USER = "flaskapi_preflight_probe"
# The login refused: the server answered over verified TLS. 1045 access denied, 1044 database, 1251 client cannot
# do the auth method, 1698 unix-socket-only user. (1130, host not allowed, comes before TLS: no proof.)
LOGIN_REFUSED = {1044, 1045, 1251, 1698}
HOST_NOT_ALLOWED = 1130
TIMEOUT = 5


def tls_context(ca_pem: str) -> ssl.SSLContext:
    return ssl.create_default_context(cadata=ca_pem)


def check(host: str, port: int, ca_pem: str) -> tuple[bool, str]:
    where = f"MySQL at {host}:{port}"
    try:
        with socket.create_connection((host, port), timeout=TIMEOUT):
            pass
    except OSError as error:
        reason = error.strerror or type(error).__name__
        return False, (f"{where} cannot be reached from the Ansible host ({reason}): check mysql_external_host "
                       "and mysql_external_port, and that the server listens there and no firewall is in the way.")
    try:
        import pymysql  # noqa: PLC0415 - only needed here, and the message below says what to do without it
    except ImportError:
        return False, "PyMySQL is not installed next to Ansible: run `make venv` (or pip install PyMySQL)."
    try:
        context = tls_context(ca_pem)
    except (OSError, ssl.SSLError, ValueError) as error:
        return False, f"The CA in mysql_external_ca is not a valid PEM certificate ({error}): give the CA's PEM."
    try:
        pymysql.connect(host=host, port=port, user=PROBE_USER, password="", ssl=context,
                        connect_timeout=TIMEOUT).close()
    except pymysql.err.OperationalError as error:
        code = error.args[0] if error.args else 0
        cause = getattr(error, "original_exception", None) or error.__cause__ or error.__context__
        if isinstance(cause, ssl.SSLCertVerificationError):
            return False, (f"The certificate of {where} does not verify against the CA in mysql_external_ca "
                           f"({cause.verify_message or cause.reason}): give the CA that signed the server's "
                           "certificate, and a mysql_external_host that the certificate names.")
        if code in LOGIN_REFUSED:
            return True, f"{where} answers over TLS verified against the given CA."
        if code == HOST_NOT_ALLOWED:
            return False, (f"{where} refuses every connection from the Ansible host before TLS starts (no account "
                           "for this host), so its certificate could not be checked: let this host connect, or "
                           "check the server from a host it accepts.")
        message = str(error.args[1] if len(error.args) > 1 else error)
        if isinstance(cause, (ssl.SSLError, OSError)) or "SSL" in message:
            return False, (f"{where} offers no usable TLS ({message}): enable TLS on the server; the API "
                           "connects to an external server over verified TLS only.")
        return False, f"{where} refused the connection ({code}: {message}): check the server and its settings."
    except ssl.SSLError as error:
        return False, f"{where} failed the TLS handshake ({error.reason}): check the server's TLS settings."
    return True, f"{where} answers over TLS verified against the given CA."


def quote_account(current_user: str) -> str:
    """CURRENT_USER() ('app@%') as information_schema's GRANTEE ("'app'@'%'")."""
    user, _, host = current_user.rpartition("@")
    return f"'{user}'@'{host}'"


def missing_privileges(cursor: Any, database: str, privileges: list[str]) -> tuple[str, list[str]]:
    """(the account, the privileges it lacks on database.*), from the grants information_schema shows it.

    A privilege counts when granted globally (*.*) or on a database pattern that matches the database; grants
    on single tables do not count, since the API also needs them on tables a later migration adds."""
    cursor.execute("SELECT CURRENT_USER()")
    account = quote_account(cursor.fetchone()[0])
    cursor.execute("SELECT PRIVILEGE_TYPE FROM information_schema.USER_PRIVILEGES WHERE GRANTEE = %s", (account,))
    held = {row[0] for row in cursor.fetchall()}
    cursor.execute("SELECT PRIVILEGE_TYPE FROM information_schema.SCHEMA_PRIVILEGES "
                   "WHERE GRANTEE = %s AND %s LIKE TABLE_SCHEMA", (account, database))
    held |= {row[0] for row in cursor.fetchall()}
    if "ALL PRIVILEGES" in held:
        return account, []
    return account, [privilege for privilege in privileges if privilege not in held]


def schema_version(cursor: Any, database: str) -> int:
    """The newest migration applied to the database (0 when it has no schema_migrations table)."""
    quoted = "`" + database.replace("`", "``") + "`"
    cursor.execute("SELECT COUNT(*) FROM information_schema.TABLES "
                   "WHERE TABLE_SCHEMA = %s AND TABLE_NAME = 'schema_migrations'", (database,))
    if not cursor.fetchone()[0]:
        return 0
    cursor.execute(f"SELECT COALESCE(MAX(version), 0) FROM {quoted}.schema_migrations")
    return int(cursor.fetchone()[0])


def app_user_problem(connect: Any, where: str, app: dict) -> str | None:
    """One sentence on what keeps the existing app user from serving the API, or None when nothing does.

    connect(user, password) opens a connection to the server (no default database)."""
    import pymysql  # noqa: PLC0415

    user, database, hint = app["user"], app["database"], app["admin_hint"]
    try:
        connection = connect(app["user"], app["password"])
    except pymysql.err.OperationalError as error:
        code = error.args[0] if error.args else 0
        message = str(error.args[1] if len(error.args) > 1 else error)
        return (f"The app user '{user}' cannot log in to {where} ({code}: {message}): create it with the password "
                f"in vault_mysql_app_password and grant it {', '.join(app['privileges'])} on {database}.*, or "
                f"{hint}.")
    try:
        with connection.cursor() as cursor:
            account, missing = missing_privileges(cursor, database, app["privileges"])
            if missing:
                return (f"The app user {account} lacks {', '.join(missing)} on {database}.* at {where}: grant "
                        f"them (GRANT {', '.join(missing)} ON `{database}`.* TO {account}), or {hint}.")
            version = schema_version(cursor, database)
    finally:
        connection.close()
    if version < app["schema_version"]:
        return (f"Database {database} at {where} is at schema version {version} and this API needs version "
                f"{app['schema_version']}: apply the migrations (python -m app.migrate, as a user with DDL rights "
                f"on {database}), or {hint}.")
    return None


def check_app_user(host: str, port: int, ca_pem: str, app: dict) -> tuple[bool, str]:
    import pymysql  # noqa: PLC0415

    def connect(user: str, password: str) -> Any:
        return pymysql.connect(host=host, port=port, user=user, password=password, ssl=tls_context(ca_pem),
                               connect_timeout=TIMEOUT)

    where = f"MySQL at {host}:{port}"
    problem = app_user_problem(connect, where, app)
    if problem:
        return False, problem
    return True, (f"{where} answers over TLS verified against the given CA, and the app user '{app['user']}' "
                  f"holds {', '.join(app['privileges'])} on {app['database']}.* at schema version "
                  f"{app['schema_version']} or later.")


def main(argv: list[str]) -> int:
    request = json.loads(sys.stdin.read())
    host, port = argv[1], int(argv[2])
    ok, message = check(host, port, request["ca"])
    if ok and request.get("app"):
        ok, message = check_app_user(host, port, request["ca"], request["app"])
    print(json.dumps({"ok": ok, "message": message}))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
