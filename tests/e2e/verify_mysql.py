"""What the mysql role guarantees, checked on a namespace molecule converged (molecule/shared/verify.yml runs this
with E2E_VERIFY_NAMESPACE): the StatefulSet is Ready, MySQL is reachable only through its Service, and a
committed row survives the loss of the MySQL pod."""
from __future__ import annotations

import secrets

from e2e_kube import Cluster, is_ready, wait_until
from e2e_settings import CREDENTIALS_SECRET, MYSQL_SERVICE, ROOT_PASSWORD_KEY
from kubernetes import client


def mysql_pods(cluster: Cluster, namespace: str) -> list[client.V1Pod]:
    return cluster.pods_of_service(namespace, MYSQL_SERVICE)


def test_statefulset_is_ready(cluster: Cluster, verified_namespace: str) -> None:
    def all_ready() -> bool:
        sets = cluster.apps.list_namespaced_stateful_set(verified_namespace).items
        return bool(sets) and all((s.status.ready_replicas or 0) == s.spec.replicas for s in sets)

    wait_until(all_ready, 120, "every StatefulSet to have all its replicas ready")
    pods = mysql_pods(cluster, verified_namespace)
    assert pods and all(is_ready(pod) for pod in pods), f"Service {MYSQL_SERVICE} selects no Ready pod"


def test_reachable_only_through_its_service(cluster: Cluster, verified_namespace: str) -> None:
    ns = verified_namespace
    service = cluster.core.read_namespaced_service(MYSQL_SERVICE, ns)
    pod = mysql_pods(cluster, ns)[0]

    assert service.spec.type == "ClusterIP" and not service.spec.external_ips, "MySQL's Service is exposed"
    assert [(port.port, port.node_port) for port in service.spec.ports] == [(3306, None)]
    assert not pod.spec.host_network and not [port.host_port for c in pod.spec.containers
                                             for port in c.ports or [] if port.host_port], "MySQL binds a node port"
    others = [other.metadata.name for other in cluster.core.list_namespaced_service(ns).items
              if other.metadata.name != MYSQL_SERVICE and other.spec.selector
              and all(pod.metadata.labels.get(key) == value for key, value in other.spec.selector.items())]
    assert not others, f"Services other than {MYSQL_SERVICE} select the MySQL pod: {others}"
    policies = [policy for policy in cluster.networking.list_namespaced_network_policy(ns).items
                if all(pod.metadata.labels.get(k) == v for k, v in policy.spec.pod_selector.match_labels.items())]
    assert len(policies) == 1 and policies[0].spec.policy_types == ["Ingress"], "no NetworkPolicy guards MySQL"
    rules = policies[0].spec.ingress
    assert rules and all([port.port for port in rule.ports or []] == [3306] and rule.var_from
                         and all(peer.pod_selector and peer.pod_selector.match_labels and not peer.ip_block
                                 and not peer.namespace_selector for peer in rule.var_from) for rule in rules), \
        "MySQL's NetworkPolicy admits more than labelled pods of its namespace on 3306"
    client_labels = rules[0].var_from[0].pod_selector.match_labels

    # A client pod the policy admits, as the API's pods are, logs in through the Service's DNS name.
    code, log = run_client_pod(cluster, ns, pod.spec.containers[0].image, client_labels,
                               f"mysql --protocol=TCP -h {MYSQL_SERVICE} -u root -N -B -e 'SELECT 1'")
    assert (code, log.strip()) == (0, "1"), f"no answer from MySQL through Service {MYSQL_SERVICE}: {log}"


def run_client_pod(cluster: Cluster, namespace: str, image: str, labels: dict[str, str],
                   script: str) -> tuple[int, str]:
    """Run script (sh) in a throwaway pod with the root password in MYSQL_PWD; return (exit code, log)."""
    name = f"e2e-mysql-client-{secrets.token_hex(3)}"
    password = client.V1EnvVarSource(secret_key_ref=client.V1SecretKeySelector(
        name=CREDENTIALS_SECRET, key=ROOT_PASSWORD_KEY))
    cluster.core.create_namespaced_pod(namespace, client.V1Pod(
        metadata=client.V1ObjectMeta(name=name, labels={**labels, "e2e-client": "true"}),
        spec=client.V1PodSpec(restart_policy="Never", containers=[client.V1Container(
            name="client", image=image, image_pull_policy="IfNotPresent", command=["sh", "-c", script],
            env=[client.V1EnvVar(name="MYSQL_PWD", value_from=password)],
            resources=client.V1ResourceRequirements(requests={"cpu": "10m", "memory": "32Mi"}))])))
    try:
        phase = wait_until(lambda: (p := cluster.core.read_namespaced_pod(name, namespace).status.phase)
                           in ("Succeeded", "Failed") and p, 120, f"client pod {name} to finish")
        return (0 if phase == "Succeeded" else 1), cluster.core.read_namespaced_pod_log(name, namespace)
    finally:
        cluster.core.delete_namespaced_pod(name, namespace, grace_period_seconds=0)


def test_committed_row_survives_the_loss_of_the_pod(cluster: Cluster, verified_namespace: str) -> None:
    ns = verified_namespace
    token = secrets.token_hex(8)
    cluster.root_sql(ns, "CREATE DATABASE IF NOT EXISTS e2e_probe; CREATE TABLE IF NOT EXISTS e2e_probe.kept "
                         f"(token CHAR(16) PRIMARY KEY); INSERT INTO e2e_probe.kept VALUES ('{token}')")
    old_pod = mysql_pods(cluster, ns)[0]

    cluster.core.delete_namespaced_pod(old_pod.metadata.name, ns)

    wait_until(lambda: any(is_ready(pod) and pod.metadata.uid != old_pod.metadata.uid
                           for pod in mysql_pods(cluster, ns)), 300, "a new MySQL pod to be Ready")
    found = cluster.root_sql(ns, f"SELECT token FROM e2e_probe.kept WHERE token = '{token}'")
    cluster.root_sql(ns, "DROP DATABASE e2e_probe")
    assert found.strip() == token, "the committed row is gone after the MySQL pod was replaced"
