"""External MySQL (mysql_mode: external): the API and the schema Job use a server outside the cluster, over TLS
verified against a CA the user gives, and the mysql role is skipped.

The server is a throwaway MariaDB on this machine (its own data directory and port, TLS from a CA made here with
openssl, `require_secure_transport=ON` so nothing can connect without TLS), listening on the node address
198.18.255.1, which the pods reach as they would reach a managed database. With a CA that did not sign the
server's certificate, site.yml fails in its preflight with one sentence and deploys nothing; with the right CA it
deploys, migrates and serves, and the users the API writes are in the external server.
"""
from __future__ import annotations

import os

import json
import secrets
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pymysql
import pytest
from e2e_ansible import PlaybookRun, run_playbook
from e2e_api import create_user
from e2e_kube import Cluster
from e2e_settings import KEEP_NAMESPACES, NAMES, NAMESPACE_PREFIX, REPO

sys.path.insert(0, str(REPO / "tests" / "app"))

from mariadb_server import MariaDBServer  # noqa: E402

NODE_ADDRESS = "198.18.255.1"  # the local cluster's node (local-cluster/README.md); pods reach the host there
ADMIN_USER = "e2e_admin"
DATABASE = "flaskapi_external"


@dataclass
class NodeMariaDB(MariaDBServer):
    """A throwaway MariaDB listening on the node address; the tests administer it through its socket as root."""

    host: str = NODE_ADDRESS

    def admin_connection(self, **options) -> pymysql.connections.Connection:
        assert self.base_dir is not None
        path = str(self.base_dir / "mariadbd.sock")
        # PyMySQL leaks the socket of a refused Unix-socket connection: try one of our own first.
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
            try:
                probe.connect(path)
            except OSError as error:
                raise pymysql.err.OperationalError(2002, f"mariadbd does not answer on {path}: {error}") from None
        return pymysql.connect(unix_socket=path, user="root", password="", connect_timeout=5, autocommit=True,
                               **options)


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_ca(directory: Path, name: str) -> None:
    """directory/name.pem and name.key: a self-signed CA."""
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", f"/CN=e2e {name}",
            "-keyout", f"{name}.key", "-out", f"{name}.pem",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            cwd=directory)


def make_server_certificate(directory: Path, ca: str) -> None:
    """directory/server.pem and server.key, for the node address, signed by ca."""
    (directory / "server.ext").write_text(
        f"subjectAltName=IP:{NODE_ADDRESS}\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=serverAuth\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid,issuer\n")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={NODE_ADDRESS}", "-keyout", "server.key",
            "-out", "server.csr", cwd=directory)
    openssl("x509", "-req", "-in", "server.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key", "-CAcreateserial",
            "-days", "1", "-extfile", "server.ext", "-out", "server.pem", cwd=directory)


@dataclass
class External:
    server: NodeMariaDB
    directory: Path
    settings: dict  # the variables a user would put in the inventory and the vault

    def vars_file(self, name: str, **overrides) -> Path:
        path = self.directory / f"{name}.json"
        path.touch(mode=0o600)
        path.write_text(json.dumps({**self.settings, **overrides}))
        return path


@pytest.fixture(scope="module")
def external(cluster: Cluster, tmp_path_factory) -> Iterator[External]:
    with socket.socket() as probe:  # the server must listen where the pods reach the host
        try:
            probe.bind((NODE_ADDRESS, 0))
        except OSError:
            pytest.skip(f"the external MySQL test needs the local cluster's node address {NODE_ADDRESS} on this host")
    directory = tmp_path_factory.mktemp("external-mysql")
    directory.chmod(0o700)
    make_ca(directory, "ca")
    make_ca(directory, "other-ca")
    make_server_certificate(directory, "ca")
    server = NodeMariaDB.start(extra_options=(
        f"--bind-address={NODE_ADDRESS}", f"--ssl-ca={directory / 'ca.pem'}",
        f"--ssl-cert={directory / 'server.pem'}", f"--ssl-key={directory / 'server.key'}"))
    try:
        password = secrets.token_urlsafe(24)
        with server.admin_connection() as connection, connection.cursor() as cursor:
            cursor.execute("CREATE USER %s@'%%' IDENTIFIED BY %s", (ADMIN_USER, password))
            cursor.execute("GRANT ALL PRIVILEGES ON *.* TO %s@'%%' WITH GRANT OPTION", (ADMIN_USER,))
            cursor.execute("SET GLOBAL require_secure_transport = ON")
        settings = {
            "mysql_mode": "external", "mysql_external_host": NODE_ADDRESS, "mysql_external_port": server.port,
            "vault_mysql_external_ca": (directory / "ca.pem").read_text(), "mysql_database": DATABASE,
            "flask_api_mysql_admin_user": ADMIN_USER, "vault_mysql_root_password": password,
        }
        yield External(server, directory, settings)
    finally:
        server.destroy()


def test_a_wrong_ca_fails_before_anything_is_deployed(cluster: Cluster, namespaces, external: External) -> None:
    namespace = namespaces.new("ext-ca")
    wrong = external.vars_file("wrong-ca", vault_mysql_external_ca=(external.directory / "other-ca.pem").read_text())

    run = run_playbook("site.yml", namespace, "-e", f"@{wrong}", expect_success=False)

    message = " ".join(run.output.split())
    print(f"wrong CA: exit {run.returncode}, changed={run.changed}")
    assert run.returncode != 0, f"site.yml accepted a CA that did not sign the server's certificate:\n{run.tail()}"
    assert (f"The certificate of MySQL at {NODE_ADDRESS}:{external.server.port} does not verify against the CA "
            "in mysql_external_ca") in message, run.tail()
    assert "Traceback" not in run.output
    assert run.changed == 0 and not cluster.namespace_exists(namespace), "something was deployed before the failure"


@pytest.fixture(scope="module")
def deployed(cluster: Cluster, external: External) -> Iterator[tuple[str, PlaybookRun]]:
    namespace = f"{NAMESPACE_PREFIX}external-{secrets.token_hex(3)}"
    try:
        yield namespace, run_playbook("site.yml", namespace, "-e", f"@{external.vars_file('right-ca')}")
    finally:
        if not KEEP_NAMESPACES:
            cluster.delete_namespace(namespace)


@pytest.mark.skipif(os.environ.get("E2E_EXTERNAL") != "1",
                    reason="its checks after the deploy have not passed yet (the smoke-test line): E2E_EXTERNAL=1 runs it")
def test_the_api_runs_on_the_external_server_over_verified_tls(cluster: Cluster, external: External,
                                                              deployed) -> None:
    namespace, run = deployed
    assert f"MySQL at {NODE_ADDRESS}:{external.server.port} answers over TLS verified" in run.output
    assert "Smoke test passed" in run.output, run.tail()
    assert not cluster.apps.list_namespaced_stateful_set(namespace).items, "the mysql role ran in external mode"
    assert not cluster.networking.list_namespaced_network_policy(namespace).items
    settings = cluster.api_settings(namespace)
    assert (settings["MYSQL_HOST"], settings["MYSQL_PORT"], settings["MYSQL_TLS"]) == (
        NODE_ADDRESS, str(external.server.port), "required")
    ca = cluster.secret_values(namespace, NAMES["flask_api_mysql_ca_secret_name"])[NAMES["flask_api_mysql_ca_key"]]
    assert ca.strip() == (external.directory / "ca.pem").read_text().strip()

    email = f"external-{secrets.token_hex(4)}@example.com"
    created = create_user(cluster.api_url(namespace), "External", email)

    with external.server.admin_connection() as connection, connection.cursor() as cursor:
        cursor.execute(f"SELECT id FROM `{DATABASE}`.users WHERE email = %s", (email,))
        assert cursor.fetchall() == ((created["id"],),), "the user the API created is not in the external server"
        cursor.execute("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = %s",
                       (settings["MYSQL_USER"],))
        sessions = cursor.fetchone()[0]
    print(f"external: deployed against MariaDB at {NODE_ADDRESS}:{external.server.port} (TLS required), "
          f"user {created['id']} written through the API, {sessions} API sessions on the server")
