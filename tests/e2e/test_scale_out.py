"""Outgrowing one pod (issue 14): token authentication, metrics and autoscaling, deployed once on the local cluster.

One site.yml run (inventory/local, with flask_api_auth=token, a token from a vault-style variables file and
flask_api_autoscaling on) on a namespace of its own, then:
- auth: without or with a wrong token a route answers 401 JSON with WWW-Authenticate, with the token 200; the
  open routes stay open; the token is in no playbook output, only its SHA-256 hash is in the cluster;
- metrics: the pods carry the scrape annotations, /metrics answers through the Service, and the request counters
  of the pods add up to the requests sent through the Service, spread over more than one pod;
- autoscaling: the HorizontalPodAutoscaler (autoscaling/v2beta2 on Kubernetes 1.20) is accepted and raises the
  Deployment to its minimum; scaled by hand to 4 (as the autoscaler would), a re-run of site.yml keeps 4 and
  reports changed=0. The local cluster has no metrics-server, so nothing here scales on CPU.
"""
from __future__ import annotations

import hashlib
import json
import re
import secrets
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest
from e2e_ansible import PlaybookRun, run_playbook
from e2e_api import call
from e2e_kube import Cluster, is_ready, wait_until
from e2e_settings import API_SERVICE, NAMES
from kubernetes.dynamic import DynamicClient

TOKEN = secrets.token_urlsafe(32)
MIN_REPLICAS, MAX_REPLICAS, BY_HAND = 2, 5, 4
SETTINGS = {
    "flask_api_auth": "token",
    "vault_flask_api_tokens": [TOKEN],
    "flask_api_autoscaling": True,
    "flask_api_autoscaling_min_replicas": MIN_REPLICAS,
    "flask_api_autoscaling_max_replicas": MAX_REPLICAS,
}
OPEN_PATHS = ("/", "/healthz", "/readyz", "/metrics", "/openapi.json")
SENT = 60
COUNTER = re.compile(r'^http_requests_total\{([^}]*)\} ([0-9.e+]+)$', re.MULTILINE)


@dataclass
class ScaledOut:
    namespace: str
    url: str  # the API Service, http://ClusterIP:port
    vars_file: Path
    runs: list[PlaybookRun]


@pytest.fixture(scope="module")
def scaled(cluster: Cluster, module_namespaces, tmp_path_factory) -> ScaledOut:
    namespace = module_namespaces.new("scale")
    vars_file = tmp_path_factory.mktemp("scale-out") / "vault-like.json"
    vars_file.touch(mode=0o600)
    vars_file.write_text(json.dumps(SETTINGS))
    started = time.monotonic()
    first = run_playbook("site.yml", namespace, "-v", "--diff", "-e", f"@{vars_file}")
    print(f"deploy: site.yml -v --diff with auth and the autoscaler took {time.monotonic() - started:.0f} s")
    return ScaledOut(namespace, cluster.api_url(namespace), vars_file, [first])


def get(url: str, token: str | None = None) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body) of GET url, with `Authorization: Bearer token` when a token is given."""
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_a_missing_or_wrong_token_gets_401_json_and_the_right_one_200(scaled: ScaledOut) -> None:
    for label, token in (("no token", None), ("wrong token", secrets.token_urlsafe(32))):
        status, headers, body = get(f"{scaled.url}/users", token)
        assert status == 401, f"{label}: GET /users answered {status}"
        assert headers.get("WWW-Authenticate", "").startswith("Bearer"), f"{label}: no WWW-Authenticate: {headers}"
        assert json.loads(body)["error"]["code"] == "unauthorized", f"{label}: {body!r}"
    status, _, body = get(f"{scaled.url}/users", TOKEN)
    assert status == 200 and isinstance(json.loads(body), list), f"with the token: {status} {body[:200]!r}"
    print(f"auth: no token 401, wrong token 401, right token 200 on {scaled.namespace}")


def test_the_open_routes_need_no_token_and_openapi_describes_the_scheme(scaled: ScaledOut) -> None:
    for path in OPEN_PATHS:
        status, _, _ = get(scaled.url + path)
        assert status == 200, f"GET {path} without a token answered {status}"
    description = json.loads(get(f"{scaled.url}/openapi.json")[2])
    assert description["components"]["securitySchemes"]["bearerToken"]["scheme"] == "bearer"


def test_the_smoke_test_passed_with_the_token_and_no_output_shows_it(cluster: Cluster, scaled: ScaledOut) -> None:
    first = scaled.runs[0]
    assert "Smoke test passed" in first.output, f"the smoke test did not pass with auth on:\n{first.tail()}"
    assert TOKEN not in first.output, "the token appears in the output of site.yml -v --diff"
    hashes = cluster.secret_values(scaled.namespace, NAMES["flask_api_auth_secret_name"])
    assert hashes == {NAMES["flask_api_auth_hashes_key"]: hashlib.sha256(TOKEN.encode()).hexdigest()}
    deployment = cluster.apps.read_namespaced_deployment(NAMES["flask_api_name"], scaled.namespace)
    assert TOKEN not in json.dumps(cluster.api_client.sanitize_for_serialization(deployment))


def ready_api_pods(cluster: Cluster, namespace: str, count: int) -> list:
    pods = [pod for pod in cluster.pods_of_service(namespace, API_SERVICE) if is_ready(pod)]
    return pods if len(pods) >= count else []


def request_counts(pod) -> float:
    """Sum of http_requests_total over the routes of the pod's /metrics (all its gunicorn workers)."""
    status, _, body = get(f"http://{pod.status.pod_ip}:8080/metrics")
    assert status == 200, f"/metrics of pod {pod.metadata.name} answered {status}"
    return sum(float(value) for _, value in COUNTER.findall(body.decode()))


def test_the_autoscaler_is_accepted_and_raises_the_deployment_to_its_minimum(cluster: Cluster, scaled) -> None:
    minor = int(re.sub(r"\D", "", cluster.version.get_code().minor))
    api_version = "autoscaling/v2" if minor >= 23 else "autoscaling/v2beta2"
    resources = DynamicClient(cluster.api_client).resources
    autoscaler = resources.get(api_version=api_version, kind="HorizontalPodAutoscaler").get(
        name=NAMES["flask_api_name"], namespace=scaled.namespace)
    assert (autoscaler.spec.minReplicas, autoscaler.spec.maxReplicas) == (MIN_REPLICAS, MAX_REPLICAS)
    applied_as = re.findall(r"apiVersion: (autoscaling/\S+)\s+kind: HorizontalPodAutoscaler", scaled.runs[0].output)
    assert applied_as and set(applied_as) == {api_version}, f"the play applied the autoscaler as {applied_as}"
    started = time.monotonic()
    wait_until(lambda: ready_api_pods(cluster, scaled.namespace, MIN_REPLICAS), 120,
               f"the autoscaler to raise the API to {MIN_REPLICAS} ready pods")
    print(f"autoscaler: {MIN_REPLICAS} ready API pods {time.monotonic() - started:.0f} s after the deploy")


def test_request_counters_grow_across_the_pods(cluster: Cluster, scaled: ScaledOut) -> None:
    pods = wait_until(lambda: ready_api_pods(cluster, scaled.namespace, MIN_REPLICAS), 120, "ready API pods")
    for pod in pods:
        annotations = pod.metadata.annotations or {}
        assert annotations.get("prometheus.io/scrape") == "true", f"{pod.metadata.name}: {annotations}"
        assert (annotations.get("prometheus.io/port"), annotations.get("prometheus.io/path")) == ("8080", "/metrics")
    before = {pod.metadata.name: request_counts(pod) for pod in pods}

    for _ in range(SENT):  # a new connection each time, so kube-proxy spreads them over the pods
        assert call(scaled.url, "GET", "/users?limit=1", token=TOKEN)[0] == 200

    after = {pod.metadata.name: request_counts(pod) for pod in pods}
    grown = {name: after[name] - before[name] for name in before}
    print(f"metrics: {SENT} requests through the Service, counters grew by {grown}")
    # Each pod's count also includes its probes and the two /metrics reads of this test.
    assert sum(grown.values()) >= SENT, f"the counters grew by {grown}, less than the {SENT} requests sent"
    assert sum(1 for value in grown.values() if value >= 5) >= 2, f"the requests did not reach two pods: {grown}"
    status, _, body = get(f"{scaled.url}/metrics")
    assert status == 200 and 'route="/users"' in body.decode(), "/metrics through the Service lacks /users"


def test_a_rerun_leaves_the_replica_count_to_the_autoscaler(cluster: Cluster, scaled: ScaledOut) -> None:
    name = NAMES["flask_api_name"]
    cluster.apps.patch_namespaced_deployment_scale(name, scaled.namespace, {"spec": {"replicas": BY_HAND}})
    wait_until(lambda: ready_api_pods(cluster, scaled.namespace, BY_HAND), 180, f"{BY_HAND} ready API pods")
    started = time.monotonic()

    rerun = run_playbook("site.yml", scaled.namespace, "-e", f"@{scaled.vars_file}")
    scaled.runs.append(rerun)

    took = time.monotonic() - started
    replicas = cluster.apps.read_namespaced_deployment(name, scaled.namespace).spec.replicas
    print(f"re-run with {BY_HAND} replicas set by hand: changed={rerun.changed}, replicas={replicas}, {took:.0f} s")
    assert rerun.changed == 0, f"the re-run changed something:\n{rerun.tail()}"
    assert replicas == BY_HAND, f"the re-run set replicas to {replicas}"
    assert TOKEN not in rerun.output
