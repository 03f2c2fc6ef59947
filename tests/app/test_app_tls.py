"""MYSQL_TLS is honoured: required verifies the server against a CA, disabled never encrypts."""
from __future__ import annotations

import datetime
import ipaddress
import secrets
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from app import create_app, migrate
from mariadb_server import MariaDBServer


def write_pem(path: Path, data: bytes) -> str:
    path.write_bytes(data)
    return str(path)


def make_ca(name: str):
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    return key, cert


def make_server_cert(ca_key, ca_cert):
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_cert.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    return key, cert


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory) -> dict[str, str]:
    directory = tmp_path_factory.mktemp("tls")
    ca_key, ca_cert = make_ca("test CA")
    server_key, server_cert = make_server_cert(ca_key, ca_cert)
    _, other_ca = make_ca("some other CA")
    pem = serialization.Encoding.PEM
    return {
        "ca": write_pem(directory / "ca.pem", ca_cert.public_bytes(pem)),
        "other_ca": write_pem(directory / "other-ca.pem", other_ca.public_bytes(pem)),
        "cert": write_pem(directory / "server.pem", server_cert.public_bytes(pem)),
        "key": write_pem(directory / "server-key.pem", server_key.private_bytes(
            pem, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption())),
    }


@pytest.fixture(scope="module")
def tls_env(tls_files):
    server = MariaDBServer.start(extra_options=(f"--ssl-ca={tls_files['ca']}", f"--ssl-cert={tls_files['cert']}",
                                                f"--ssl-key={tls_files['key']}"))
    env = {"MYSQL_HOST": "127.0.0.1", "MYSQL_PORT": str(server.port), "MYSQL_DATABASE": "tls_users",
           "MYSQL_USER": "tls_app", "MYSQL_PASSWORD": "pw-" + secrets.token_hex(8), "MYSQL_TLS": "required",
           "MYSQL_TLS_CA": tls_files["ca"], "MYSQL_CONNECT_TIMEOUT": "2"}
    try:
        admin = {**env, "MYSQL_ADMIN_USER": server.admin_user, "MYSQL_ADMIN_PASSWORD": server.admin_password,
                 "MIGRATE_CONNECT_WAIT": "0"}
        assert migrate.main(admin) == 0  # the migration itself over verified TLS
        yield env
    finally:
        server.destroy()


def session_cipher(env: dict[str, str]) -> tuple[int, str]:
    """(/readyz status, the cipher of the app's own database session or '')."""
    application = create_app(env)
    try:
        status = application.test_client().get("/readyz").status_code
        if status != 200:
            return status, ""
        with application.extensions["users_db"].cursor() as cur:
            cur.execute("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
            return status, cur.fetchone()["Value"]
    finally:
        application.extensions["users_db"].close()


def test_required_with_the_right_ca_encrypts(tls_env):
    status, cipher = session_cipher(tls_env)
    assert status == 200 and cipher != ""


def test_required_with_another_ca_refuses_the_server(tls_env):
    status, _ = session_cipher({**tls_env, "MYSQL_TLS_CA": tls_env["MYSQL_TLS_CA"].replace("ca.pem", "other-ca.pem")})
    assert status == 503


def test_required_against_a_server_without_tls_is_503(app_env, migrated):
    assert session_cipher({**app_env, "MYSQL_TLS": "required"})[0] == 503


def test_preferred_uses_tls_when_offered(tls_env):
    status, cipher = session_cipher({**tls_env, "MYSQL_TLS": "preferred"})
    assert status == 200 and cipher != ""


def test_disabled_never_encrypts(tls_env):
    assert session_cipher({**tls_env, "MYSQL_TLS": "disabled"}) == (200, "")
