"""Availability under a steady client load: routine changes are invisible, a database restart is short and clean.

One deployment of site.yml on a namespace of its own (module scope). A load from e2e_load (keep-alive connections
to the API Service's ClusterIP, bounded in time) runs while each disruption happens:
  (a) `kubectl rollout restart` of the API            -> 0 failed requests
  (b) one API pod deleted                             -> 0 failed requests
  (c) the MySQL pod deleted, under writes             -> 0 acknowledged writes lost; errors only the API's JSON 503
                                                         with Retry-After (no refused, reset or hung connection),
                                                         each within FAILURE_ANSWER_LIMIT; the error window
                                                         (deletion to last failure) within MYSQL_WINDOW_TARGET;
                                                         the API whole within RECOVERY_TARGET of MySQL Ready
Each case prints one line `availability <case>: ...` with its figures (also recorded as test properties); the
figures measured on the local cluster are in docs/operations.md ("Availability").

All three run in `make test`. The MySQL case also prints the restart's timeline (old pod gone, new pod, mysqld
ready, probes): most of the window is Kubernetes removing the old pod after mysqld stopped (the kubelet of 1.20 takes
1-10 s, now and then a minute), which no setting of the deployment shortens. So the window's target applies when
the old pod was gone within KUBELET_REMOVAL_ALLOWANCE; when it took longer, the test holds the part the deployment
controls (new pod, mysqld start, probes, the API's reconnect) to RESTART_TARGET instead, and says so.
"""
from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest
import yaml
from e2e_ansible import run_playbook
from e2e_api import create_user
from e2e_kube import NAMES, Cluster, is_ready, wait_until
from e2e_load import Load, LoadResult
from e2e_settings import REPO


API = NAMES["flask_api_name"]
API_SERVICE = NAMES["flask_api_service_name"]
MYSQL = NAMES["mysql_name"]
# Seconds from the MySQL pod's deletion to the last failed request (the target) ...
MYSQL_WINDOW_TARGET = 20.0
# ... when Kubernetes removed the old pod within this many seconds of its deletion (mysqld stops in about 3 s).
KUBELET_REMOVAL_ALLOWANCE = 10.0
# Seconds from the old pod's removal to the last failed request: a new pod, mysqld's start, its probes, the
# endpoints and the API's reconnect (measured 3 to 12 s on this 2-core machine with other tests beside it).
RESTART_TARGET = 14.0
# After the MySQL pod is Ready again, the API must answer within this many seconds (it retries once a second).
RECOVERY_TARGET = 5.0
# Longest a failed request may take: the API answers 503 at once while MySQL is known down; only its one retry per
# second waits for a connect (MYSQL_CONNECT_TIMEOUT, 5 s; measured 5.8 s at most on a loaded node).
FAILURE_ANSWER_LIMIT = 7.5
# Each load stops by itself after this long, whatever happens to the test.
LOAD_LIMIT = 150.0


# MySQL with the role's own resources (roles/mysql/defaults/main.yml): inventory/local requests a twentieth of a
# core so that many test stacks fit on two cores, which leaves a restarting server a tiny CPU share beside them.
MYSQL_RESOURCES = yaml.safe_load((REPO / "roles/mysql/defaults/main.yml").read_text())["mysql_resources"]


@pytest.fixture(scope="module")
def stack(cluster: Cluster, module_namespaces) -> tuple[str, str, list[int]]:
    """(namespace, API URL, ids of users to read) of a deployment of its own: the MySQL case disrupts it."""
    namespace = module_namespaces.new("avail")
    run_playbook("site.yml", namespace, "-e", json.dumps({"mysql_resources": MYSQL_RESOURCES}))
    url = cluster.api_url(namespace)
    ids = [create_user(url, f"reader {n}", f"reader-{n}@example.com")["id"] for n in range(6)]
    return namespace, url, ids


def report(record_property, case: str, result: LoadResult, **figures: float | int | str) -> str:
    """One line with every figure of the case, printed and kept as test properties."""
    line = (f"availability {case}: failed {result.failed}/{result.total}"
            + "".join(f", {key.replace('_', ' ')} {value}" for key, value in figures.items())
            + f" | {result.summary()}")
    print(line)
    record_property("failed", result.failed)
    record_property("total", result.total)
    for key, value in figures.items():
        record_property(key, value)
    return line


def warmed(load: Load, requests: int = 100, timeout: float = 60) -> None:
    """Until the load has `requests` answers and no failure: the disruption starts from a clean steady state."""
    wait_until(lambda: load.snapshot()[0] >= requests, timeout, f"{requests} answers before the disruption",
               interval=0.2)
    ok, failed = load.snapshot()
    assert failed == 0, f"the load failed before any disruption: {load.result.summary()}"


def api_pods(cluster: Cluster, namespace: str) -> list:
    """Every pod of the API, terminating ones included."""
    selector = ",".join(f"{key}={value}" for key, value in NAMES["flask_api_selector_labels"].items())
    return cluster.core.list_namespaced_pod(namespace, label_selector=selector).items


def settled(cluster: Cluster, namespace: str, gone: set[str]) -> bool:
    """The Deployment has all its replicas updated and available, and the pods in `gone` have stopped."""
    deployment = cluster.apps.read_namespaced_deployment(API, namespace)
    status, wanted = deployment.status, deployment.spec.replicas
    pods = api_pods(cluster, namespace)
    return (status.observed_generation >= deployment.metadata.generation
            and (status.updated_replicas or 0) == wanted and (status.available_replicas or 0) == wanted
            and (status.replicas or 0) == wanted
            and not gone & {pod.metadata.name for pod in pods}
            and sum(1 for pod in pods if is_ready(pod) and pod.metadata.deletion_timestamp is None) == wanted)


def test_a_rollout_restart_under_load_fails_no_request(cluster: Cluster, stack, record_property) -> None:
    namespace, url, ids = stack
    before = {pod.metadata.name for pod in api_pods(cluster, namespace)}
    load = Load.reads(url, ids, connections=8, max_seconds=LOAD_LIMIT)
    with load:
        warmed(load)
        started = time.monotonic()
        # What `kubectl rollout restart deployment/flask-api` does.
        cluster.apps.patch_namespaced_deployment(API, namespace, {"spec": {"template": {"metadata": {"annotations": {
            "kubectl.kubernetes.io/restartedAt": datetime.now(UTC).isoformat()}}}}})
        wait_until(lambda: settled(cluster, namespace, before), 240, "the rollout to finish and the old pods to stop",
                   interval=1)
        took = time.monotonic() - started
    result = load.result
    line = report(record_property, "rollout restart", result, rollout_seconds=round(took, 1))
    assert result.failed == 0, line


def test_deleting_an_api_pod_under_load_fails_no_request(cluster: Cluster, stack, record_property) -> None:
    namespace, url, ids = stack
    victim = cluster.pods_of_service(namespace, API_SERVICE)[0].metadata.name
    load = Load.reads(url, ids, connections=8, max_seconds=LOAD_LIMIT)
    with load:
        warmed(load)
        started = time.monotonic()
        cluster.core.delete_namespaced_pod(victim, namespace)
        wait_until(lambda: settled(cluster, namespace, {victim}), 180, f"{victim} to stop and its replacement to be Ready",
                   interval=1)
        took = time.monotonic() - started
    result = load.result
    line = report(record_property, "API pod delete", result, replaced_seconds=round(took, 1))
    assert result.failed == 0, line


def mysql_pod(cluster: Cluster, namespace: str):
    pods = cluster.core.list_namespaced_pod(namespace, label_selector=",".join(
        f"{key}={value}" for key, value in NAMES["mysql_selector_labels"].items())).items
    return pods[0] if len(pods) == 1 else None


class MysqlRestart:
    """Where a MySQL pod's replacement spends its time: each step's first sighting, in seconds since the deletion.

    old pod gone (mysqld shut down, the kubelet cleaned up), new pod created (the StatefulSet controller), its
    container running, mysqld ready for connections (its own log line), startup probe passed, pod Ready (the
    readiness probe; the Service's endpoints follow).
    """

    def __init__(self, cluster: Cluster, namespace: str, old) -> None:
        self.cluster, self.namespace, self.old = cluster, namespace, old
        self.deleted = time.monotonic()
        self.deleted_wall = datetime.now(UTC)
        self.steps: dict[str, float] = {}
        self.new = None

    def _seen(self, step: str) -> None:
        self.steps.setdefault(step, round(time.monotonic() - self.deleted, 1))

    def observe(self) -> float | None:
        """Record what is new; the monotonic time at which the new pod was first seen Ready, else None."""
        pods = self.cluster.core.list_namespaced_pod(self.namespace, label_selector=",".join(
            f"{key}={value}" for key, value in NAMES["mysql_selector_labels"].items())).items
        if all(pod.metadata.uid != self.old.metadata.uid for pod in pods):
            self._seen("old pod gone")
        fresh = [pod for pod in pods if pod.metadata.uid != self.old.metadata.uid]
        if not fresh:
            return None
        self.new = pod = fresh[0]
        self._seen("new pod created")
        status = (pod.status.container_statuses or [None])[0]
        if status is not None and status.state.running is not None:
            self._seen("container running")
        if status is not None and status.started:
            self._seen("startup probe passed")
        if is_ready(pod):
            self._seen("pod Ready")
            return time.monotonic()
        return None

    def mysqld_log_steps(self) -> None:
        """From the new server's log: when mysqld started and when it was ready for connections."""
        if self.new is None:
            return
        log = self.cluster.core.read_namespaced_pod_log(self.new.metadata.name, self.namespace)
        for line in log.splitlines():
            for marker, step in (("starting as process", "mysqld starting"),
                                 ("ready for connections", "mysqld ready for connections")):
                if marker in line and "Temporary" not in line and step not in self.steps:
                    try:
                        stamp = datetime.fromisoformat(line.split()[0].replace("Z", "+00:00"))
                    except ValueError:
                        continue
                    self.steps[step] = round((stamp - self.deleted_wall).total_seconds(), 1)

    def summary(self) -> str:
        return ", ".join(f"{step} {at}" for step, at in sorted(self.steps.items(), key=lambda item: item[1]))


def test_deleting_the_mysql_pod_under_writes_loses_nothing_and_errors_briefly(cluster: Cluster, stack,
                                                                               record_property) -> None:
    namespace, url, _ = stack
    old = mysql_pod(cluster, namespace)
    assert old is not None and is_ready(old)
    load = Load.writes(url, threads=4, max_seconds=LOAD_LIMIT, pause=0.02)
    with load:
        warmed(load, requests=40)
        restart = MysqlRestart(cluster, namespace, old)
        deleted = restart.deleted
        cluster.core.delete_namespaced_pod(old.metadata.name, namespace)

        def quiet() -> bool:
            last = load.result.last_failure
            return last is None or time.monotonic() - last > 5

        ready_at = wait_until(restart.observe, 180, "a new MySQL pod to be Ready", interval=0.25)
        wait_until(quiet, 60, "5 s without a failed request after MySQL is back", interval=0.25)
    result = load.result
    window = result.window_since(deleted)
    removed = restart.steps["old pod gone"]
    recovery = 0.0 if result.last_failure is None else max(0.0, result.last_failure - ready_at)
    slowest_failure = max((took for _, took, _ in result.failure_log), default=0.0)
    restart.mysqld_log_steps()
    print(f"availability MySQL pod delete: timeline (s after deletion): {restart.summary()}")

    # The table qualified by its database: root's session has none selected.
    database = cluster.api_settings(namespace)["MYSQL_DATABASE"]
    stored = cluster.root_sql(namespace, f"SELECT user_id, user_email FROM `{database}`.users "
                                         "WHERE user_email LIKE 'load-%'").split("\n")
    kept = {(int(row.split("\t")[0]), row.split("\t")[1]) for row in stored if row.strip()}
    lost = [write for write in result.acknowledged if write not in kept]
    unclean = {kind: count for kind, count in result.failures.items() if kind != "5xx_json"}
    codes = dict(result.error_codes)
    line = report(record_property, "MySQL pod delete", result, error_window_s=round(window, 1),
                  old_pod_removed_after_s=removed, mysql_ready_after_s=round(ready_at - deleted, 1),
                  api_recovered_after_ready_s=round(recovery, 1), slowest_failed_answer_s=round(slowest_failure, 2),
                  writes_acknowledged=len(result.acknowledged), writes_lost=len(lost),
                  error_codes=json.dumps(codes, sort_keys=True))
    assert not lost, f"{len(lost)} acknowledged writes are gone, e.g. {lost[:3]}: {line}"
    assert not unclean, f"clients saw failures other than the API's JSON 503: {unclean}: {line}"
    assert set(codes) <= {"503 database_unavailable"}, line
    assert result.without_retry_after == 0, line
    assert slowest_failure <= FAILURE_ANSWER_LIMIT, f"a 503 took {slowest_failure:.1f} s (a hang): {line}"
    assert recovery <= RECOVERY_TARGET, f"the API still failed {recovery:.1f} s after MySQL was Ready: {line}"
    if removed <= KUBELET_REMOVAL_ALLOWANCE:
        assert window <= MYSQL_WINDOW_TARGET, line
    else:
        print(f"availability MySQL pod delete: the {MYSQL_WINDOW_TARGET:.0f} s window target does not apply: "
              f"Kubernetes took {removed} s to remove the old pod (allowance {KUBELET_REMOVAL_ALLOWANCE:.0f} s)")
    assert window - removed <= RESTART_TARGET, (
        f"{window - removed:.1f} s of errors after the old pod was removed (target {RESTART_TARGET:.0f} s): {line}")
