"""Checks, from the Ansible host, that an external MySQL server answers and that its certificate verifies.

    python3 mysql_tls_check.py HOST PORT < ca.pem

Connects as the API does with MYSQL_TLS=required (PyMySQL, TLS verified against the CA read from standard input,
host name checked) but
with a user that does not exist: TLS is negotiated before the login, so the server's "access denied" proves that
the path and the certificate are good, without any password. Prints one JSON line {"ok": bool, "message": str}
(one sentence on failure) and exits 1 on failure.
"""
from __future__ import annotations

import json
import socket
import ssl
import sys

PROBE_USER = "flaskapi_preflight_probe"
# The login refused: the server answered over verified TLS. 1045 access denied, 1044 database, 1251 client cannot
# do the auth method, 1698 unix-socket-only user. (1130, host not allowed, comes before TLS: no proof.)
LOGIN_REFUSED = {1044, 1045, 1251, 1698}
HOST_NOT_ALLOWED = 1130
TIMEOUT = 5


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
        context = ssl.create_default_context(cadata=ca_pem)
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


def main(argv: list[str]) -> int:
    ok, message = check(argv[1], int(argv[2]), sys.stdin.read())
    print(json.dumps({"ok": ok, "message": message}))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
