"""External MySQL (mysql_mode: external), deployed as inventory/production.example deploys it (issue 14, item 5).

The server is a throwaway MariaDB on this machine (its own data directory and port, TLS from a CA made here with
openssl, `require_secure_transport=ON` so nothing can connect without TLS), listening on the node address
198.18.255.1, which the pods reach as they would reach a managed database.

- A CA that did not sign the server's certificate: site.yml fails in its preflight with one sentence, nothing
  deployed.
- No admin password and an existing app user lacking rights: the preflight names the missing grants in one
  sentence, nothing deployed.
- One deployment of a variant of inventory/production.example: every switch that inventory sets (external MySQL
  over TLS, token auth, autoscaler, PodDisruptionBudget, scrape annotations, no generated passwords), with only
  what ties it to a real cluster (context, image, resources) and the server's address, CA and admin taken from
  inventory/local and this test. Checked live: TLS verified and the users the API writes in the external server;
  auth (401 JSON with WWW-Authenticate without or with a wrong token, 200 with it, the open routes open, only the
  token's SHA-256 hash in the cluster, the token in no output); the pods' scrape annotations and request counters
  of /metrics growing across two pods; the autoscaler (autoscaling/v2beta2 on Kubernetes 1.20) and the
  PodDisruptionBudget live. The local cluster has no metrics-server, so nothing here scales on CPU.
- A re-run of that variant without the admin password, after the API was scaled by hand above the autoscaler's
  minimum (as the autoscaler would): it serves through the existing app user, runs no schema Job and leaves the
  replica count alone.
"""
from __future__ import annotations

import hashlib
import json
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pymysql
import pytest
import yaml
from e2e_ansible import PlaybookRun, run_playbook
from e2e_api import call, create_user
from e2e_kube import Cluster, is_ready, wait_until
from e2e_settings import API_SERVICE, NAMES, REPO
from kubernetes.dynamic import DynamicClient

sys.path.insert(0, str(REPO / "tests" / "app"))

from mariadb_server import MariaDBServer  # noqa: E402

NODE_ADDRESS = "198.18.255.1"  # the local cluster's node (local-cluster/README.md); pods reach the host there
ADMIN_USER = "e2e_admin"
DATABASE = "flaskapi_external"
PRODUCTION = REPO / "inventory/production.example/group_vars/all/main.yml"
# What production.example sets for a real cluster that cannot hold here: left to inventory/local (the inventory the
# tests run with), or set by the test (the namespace, the server's address, its admin).
LOCAL_ONLY = ("app_namespace", "kube_context", "kube_kubeconfig", "flask_api_build_image", "flask_api_image_builder",
              "flask_api_image", "flask_api_resources", "mysql_external_host", "mysql_external_port",
              "flask_api_mysql_admin_user")
# An existing app user with some of its rights, for the path without the admin's password.
PARTIAL_USER, PARTIAL_GRANTS, PARTIAL_MISSING = "e2e_partial", "SELECT, UPDATE", "INSERT, DELETE"
# Bounds on the playbook runs (seconds): a preflight failure takes about 30 s, the deploy 2 to 4 min under load.
PREFLIGHT_TIMEOUT, DEPLOY_TIMEOUT = 300, 900
OPEN_PATHS = ("/", "/healthz", "/readyz", "/metrics", "/openapi.json")
SENT = 60  # requests through the Service for the metrics check
COUNTER = re.compile(r'^http_requests_total\{([^}]*)\} ([0-9.e+]+)$', re.MULTILINE)


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
    admin_password: str

    def vars_file(self, name: str, **overrides) -> Path:
        path = self.directory / f"{name}.json"
        path.touch(mode=0o600)
        path.write_text(json.dumps({**self.settings, **overrides}))
        return path

    @property
    def where(self) -> str:
        return f"{NODE_ADDRESS}:{self.server.port}"


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
        yield External(server, directory, settings, password)
    finally:
        server.destroy()


def test_a_wrong_ca_fails_before_anything_is_deployed(cluster: Cluster, module_namespaces, external) -> None:
    namespace = module_namespaces.new("ext-ca")
    wrong = external.vars_file("wrong-ca", vault_mysql_external_ca=(external.directory / "other-ca.pem").read_text())

    started = time.monotonic()
    run = run_playbook("site.yml", namespace, "-e", f"@{wrong}", expect_success=False, timeout=PREFLIGHT_TIMEOUT)

    said = " ".join(run.messages)
    print(f"wrong CA: exit {run.returncode} after {time.monotonic() - started:.0f} s, changed={run.changed}")
    assert run.returncode != 0, f"site.yml accepted a CA that did not sign the server's certificate:\n{run.tail()}"
    assert (f"The certificate of MySQL at {external.where} does not verify against the CA in mysql_external_ca"
            in said), run.tail()
    assert "Traceback" not in run.output
    assert run.changed == 0 and not cluster.namespace_exists(namespace), "something was deployed before the failure"


def test_a_missing_grant_is_named_before_anything_is_deployed(cluster: Cluster, module_namespaces, external) -> None:
    """No admin password: the play migrates nothing and creates no user, so the existing app user must hold the
    API's rights; one that lacks some stops the run in the preflight, naming them."""
    namespace = module_namespaces.new("ext-grant")
    password = secrets.token_urlsafe(24)
    with external.server.admin_connection() as connection, connection.cursor() as cursor:
        cursor.execute("CREATE USER %s@'%%' IDENTIFIED BY %s", (PARTIAL_USER, password))
        cursor.execute(f"GRANT {PARTIAL_GRANTS} ON `{DATABASE}`.* TO %s@'%%'", (PARTIAL_USER,))
    no_admin = external.vars_file("no-admin", vault_mysql_root_password="", flask_api_mysql_user=PARTIAL_USER,
                                  vault_mysql_app_password=password)

    started = time.monotonic()
    run = run_playbook("site.yml", namespace, "-e", f"@{no_admin}", expect_success=False,
                       timeout=PREFLIGHT_TIMEOUT)

    said = run.messages[-1] if run.messages else ""
    print(f"missing grant: exit {run.returncode} after {time.monotonic() - started:.0f} s, changed={run.changed}: "
          f"{said}")
    assert run.returncode != 0, f"site.yml deployed with an app user lacking {PARTIAL_MISSING}:\n{run.tail()}"
    assert said.startswith(f"The app user '{PARTIAL_USER}'@'%' lacks {PARTIAL_MISSING} on {DATABASE}.* at "
                           f"MySQL at {external.where}: grant them"), run.tail()
    assert said.endswith(f"'{ADMIN_USER}' (flask_api_mysql_admin_user) in vault_mysql_root_password so the play "
                         "can."), said
    assert password not in run.output and "Traceback" not in run.output
    assert run.changed == 0 and not cluster.namespace_exists(namespace), "something was deployed before the failure"


def production_variant(external: External, token: str, app_password: str) -> dict:
    """inventory/production.example's settings, but for what ties them to a real cluster, plus its vault."""
    production = yaml.safe_load(PRODUCTION.read_text())
    return {**{key: value for key, value in production.items() if key not in LOCAL_ONLY}, **external.settings,
            "vault_mysql_app_password": app_password, "vault_flask_api_tokens": [token]}


@dataclass
class Production:
    namespace: str
    run: PlaybookRun
    settings: dict
    token: str
    url: str
    seconds: float


@pytest.fixture(scope="module")
def production(cluster: Cluster, module_namespaces, external: External) -> Production:
    namespace = module_namespaces.new("ext-prod")
    token = secrets.token_urlsafe(32)
    settings = production_variant(external, token, secrets.token_urlsafe(24))
    for switch in ("mysql_mode", "flask_api_auth", "flask_api_autoscaling", "flask_api_metrics_scrape_annotations"):
        assert switch in settings, f"inventory/production.example no longer sets {switch}"
    path = external.directory / "production.json"
    path.touch(mode=0o600)
    path.write_text(json.dumps(settings))
    started = time.monotonic()
    run = run_playbook("site.yml", namespace, "-e", f"@{path}", timeout=DEPLOY_TIMEOUT)
    seconds = time.monotonic() - started
    return Production(namespace, run, settings, token, cluster.api_url(namespace), seconds)


def test_the_production_variant_runs_on_the_external_server_over_verified_tls(cluster: Cluster, external,
                                                                              production: Production) -> None:
    namespace, said = production.namespace, production.run.messages
    assert f"MySQL at {external.where} answers over TLS verified against the given CA." in said, said
    assert any(message.startswith("Smoke test passed") for message in said), said
    assert production.token not in production.run.output
    assert not cluster.apps.list_namespaced_stateful_set(namespace).items, "the mysql role ran in external mode"
    assert not cluster.networking.list_namespaced_network_policy(namespace).items
    settings = cluster.api_settings(namespace)
    assert (settings["MYSQL_HOST"], settings["MYSQL_PORT"], settings["MYSQL_TLS"]) == (
        NODE_ADDRESS, str(external.server.port), "required")
    assert settings["MYSQL_TLS_CA"].endswith(NAMES["flask_api_mysql_ca_key"])  # verified against the given CA
    ca = cluster.secret_values(namespace, NAMES["flask_api_mysql_ca_secret_name"])[NAMES["flask_api_mysql_ca_key"]]
    assert ca.strip() == (external.directory / "ca.pem").read_text().strip()

    email = f"external-{secrets.token_hex(4)}@example.com"
    created = create_user(production.url, "External", email, token=production.token)

    with external.server.admin_connection() as connection, connection.cursor() as cursor:
        cursor.execute(f"SELECT user_id FROM `{DATABASE}`.users WHERE user_email = %s", (email,))
        assert cursor.fetchall() == ((created["id"],),), "the user the API created is not in the external server"
        cursor.execute("SELECT @@GLOBAL.require_secure_transport")
        assert cursor.fetchone()[0] == 1, "the server stopped requiring TLS"
        cursor.execute("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = %s",
                       (settings["MYSQL_USER"],))
        sessions = cursor.fetchone()[0]
    print(f"production variant: site.yml {production.seconds:.0f} s against MariaDB at {external.where} (TLS "
          f"required, verified against the given CA); user {created['id']} written through the API, {sessions} "
          "API sessions on the server")


def get(url: str, token: str | None = None) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body) of GET url, with `Authorization: Bearer token` when a token is given."""
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_auth_refuses_a_missing_or_wrong_token_and_serves_the_right_one(cluster: Cluster,
                                                                        production: Production) -> None:
    for label, token in (("no token", None), ("wrong token", secrets.token_urlsafe(32))):
        status, headers, body = get(f"{production.url}/users?limit=1", token)
        assert status == 401, f"{label}: GET /users answered {status}"
        assert headers.get("WWW-Authenticate", "").startswith("Bearer"), f"{label}: no WWW-Authenticate: {headers}"
        assert json.loads(body)["error"]["code"] == "unauthorized", f"{label}: {body!r}"
    status, _, body = get(f"{production.url}/users?limit=1", production.token)
    assert status == 200 and isinstance(json.loads(body), list), f"with the token: {status} {body[:200]!r}"
    for path in OPEN_PATHS:
        assert get(production.url + path)[0] == 200, f"GET {path} without a token was refused"
    description = json.loads(get(f"{production.url}/openapi.json")[2])
    assert description["components"]["securitySchemes"]["bearerToken"]["scheme"] == "bearer"
    # Only the token's hash reaches the cluster, and no object holds the token itself.
    hashes = cluster.secret_values(production.namespace, NAMES["flask_api_auth_secret_name"])
    assert hashes == {NAMES["flask_api_auth_hashes_key"]: hashlib.sha256(production.token.encode()).hexdigest()}
    deployment = cluster.apps.read_namespaced_deployment(NAMES["flask_api_name"], production.namespace)
    assert production.token not in json.dumps(cluster.api_client.sanitize_for_serialization(deployment))
    print("auth: no token 401, wrong token 401, right token 200; open routes open; only the token's hash stored")


def ready_api_pods(cluster: Cluster, namespace: str, count: int) -> list:
    pods = [pod for pod in cluster.pods_of_service(namespace, API_SERVICE) if is_ready(pod)]
    return pods if len(pods) >= count else []


def request_counts(pod) -> float:
    """Sum of http_requests_total over the routes of the pod's /metrics (all its gunicorn workers)."""
    status, _, body = get(f"http://{pod.status.pod_ip}:8080/metrics")
    assert status == 200, f"/metrics of pod {pod.metadata.name} answered {status}"
    return sum(float(value) for _, value in COUNTER.findall(body.decode()))


def test_request_counters_grow_across_the_pods_and_the_pods_are_annotated(cluster: Cluster,
                                                                         production: Production) -> None:
    minimum = production.settings["flask_api_autoscaling_min_replicas"]
    pods = wait_until(lambda: ready_api_pods(cluster, production.namespace, minimum), 120, "ready API pods")
    for pod in pods:
        annotations = pod.metadata.annotations or {}
        assert annotations.get("prometheus.io/scrape") == "true", f"{pod.metadata.name}: {annotations}"
        assert (annotations.get("prometheus.io/port"), annotations.get("prometheus.io/path")) == ("8080", "/metrics")
    before = {pod.metadata.name: request_counts(pod) for pod in pods}

    for _ in range(SENT):  # a new connection each time, so kube-proxy spreads them over the pods
        assert call(production.url, "GET", "/users?limit=1", token=production.token)[0] == 200

    after = {pod.metadata.name: request_counts(pod) for pod in pods}
    grown = {name: after[name] - before[name] for name in before}
    print(f"metrics: {SENT} requests through the Service, counters grew by {grown}")
    # Each pod's count also includes its probes and the two /metrics reads of this test.
    assert sum(grown.values()) >= SENT, f"the counters grew by {grown}, less than the {SENT} requests sent"
    assert sum(1 for value in grown.values() if value >= 5) >= 2, f"the requests did not reach two pods: {grown}"
    status, _, body = get(f"{production.url}/metrics")  # no token: open
    text = body.decode()
    assert status == 200 and 'route="/users"' in text, "/metrics through the Service lacks /users"
    assert "http_request_duration_seconds_bucket" in text and "# TYPE http_requests_total counter" in text


def test_the_autoscaler_and_the_disruption_budget_are_live(cluster: Cluster, production: Production) -> None:
    resources = DynamicClient(cluster.api_client).resources
    minor = int(re.sub(r"\D", "", cluster.version.get_code().minor))
    hpa_version = "autoscaling/v2" if minor >= 23 else "autoscaling/v2beta2"
    pdb_version = "policy/v1" if minor >= 21 else "policy/v1beta1"
    name = NAMES["flask_api_name"]
    autoscaler = resources.get(api_version=hpa_version, kind="HorizontalPodAutoscaler").get(
        name=name, namespace=production.namespace)
    expected = (production.settings["flask_api_autoscaling_min_replicas"],
                production.settings["flask_api_autoscaling_max_replicas"])
    assert (autoscaler.spec.minReplicas, autoscaler.spec.maxReplicas) == expected
    budget = resources.get(api_version=pdb_version, kind="PodDisruptionBudget").get(
        name=name, namespace=production.namespace)
    assert budget.spec.maxUnavailable == 1
    assert dict(budget.spec.selector.matchLabels) == NAMES["flask_api_selector_labels"]
    started = time.monotonic()

    def healthy_budget():
        ready = ready_api_pods(cluster, production.namespace, expected[0])
        live = resources.get(api_version=pdb_version, kind="PodDisruptionBudget").get(
            name=name, namespace=production.namespace)
        return (ready, live) if ready and (live.status.disruptionsAllowed or 0) >= 1 else None

    ready, budget = wait_until(healthy_budget, 90, f"{expected[0]} ready API pods (the autoscaler's minimum) and "
                                                   "a budget allowing a disruption")
    print(f"autoscaler {hpa_version} {expected[0]}..{expected[1]} pods: {len(ready)} ready "
          f"{time.monotonic() - started:.0f} s after the checks began; {pdb_version} budget: "
          f"{budget.status.currentHealthy} healthy, {budget.status.disruptionsAllowed} disruption(s) allowed")


def test_without_the_admin_password_a_rerun_serves_through_the_existing_app_user(cluster: Cluster, external,
                                                                                 production: Production) -> None:
    """The path without admin credentials when nothing is missing: the app user the first run created holds its
    rights and the schema is current, so the preflight passes and the play deploys without a schema Job. The API
    was scaled by hand above the autoscaler's minimum first, as the autoscaler would: the re-run leaves it so."""
    name = NAMES["flask_api_name"]
    by_hand = production.settings["flask_api_autoscaling_min_replicas"] + 1
    cluster.apps.patch_namespaced_deployment_scale(name, production.namespace, {"spec": {"replicas": by_hand}})
    wait_until(lambda: ready_api_pods(cluster, production.namespace, by_hand), 180, f"{by_hand} ready API pods")
    path = external.directory / "production-no-admin.json"
    path.touch(mode=0o600)
    path.write_text(json.dumps({**production.settings, "vault_mysql_root_password": ""}))
    jobs_before = {job.metadata.name for job in cluster.jobs(production.namespace)}
    started = time.monotonic()

    run = run_playbook("site.yml", production.namespace, "-e", f"@{path}", timeout=DEPLOY_TIMEOUT)

    took = time.monotonic() - started
    user = cluster.api_settings(production.namespace)["MYSQL_USER"]
    jobs_after = {job.metadata.name for job in cluster.jobs(production.namespace)}
    replicas = cluster.apps.read_namespaced_deployment(name, production.namespace).spec.replicas
    print(f"no admin password: re-run {took:.0f} s, changed={run.changed}, schema Jobs {len(jobs_before)} before "
          f"and {len(jobs_after)} after; replicas {replicas} (scaled by hand to {by_hand})")
    assert replicas == by_hand, f"the re-run set replicas to {replicas}, fighting the autoscaler"
    assert production.token not in run.output
    assert any(message.startswith(f"MySQL at {external.where} answers over TLS verified against the given CA, and "
                                  f"the app user '{user}' holds SELECT, INSERT, UPDATE, DELETE on {DATABASE}.*")
               for message in run.messages), run.messages
    assert jobs_after <= jobs_before, f"a schema Job ran without the admin's password: {jobs_after - jobs_before}"
    assert external.admin_password not in cluster.secret_values(production.namespace).values()
    status, body = call(production.url, "GET", "/users?limit=1", token=production.token)
    assert status == 200 and isinstance(body, list), f"the API does not serve after the re-run: {status} {body}"
