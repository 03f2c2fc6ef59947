"""What playbooks/teardown.yml guarantees, checked on a namespace molecule converged and then tore down
(molecule/default/side_effect.yml runs each check after the matching teardown): without purge the workloads go
and the data volume and the credentials Secret stay, so a later site.yml finds the data and the passwords that
open it (test_lifecycle.py checks that part); with purge those go too."""
from __future__ import annotations

from e2e_kube import Cluster, wait_until
from e2e_settings import CREDENTIALS_SECRET


def assert_teardown_kept_the_data(cluster: Cluster, namespace: str) -> None:
    """No workload, Service, Job or pod left; the MySQL claim still Bound and the credentials Secret still there."""
    listers = {"Deployment": cluster.apps.list_namespaced_deployment,
               "StatefulSet": cluster.apps.list_namespaced_stateful_set,
               "Service": cluster.core.list_namespaced_service,
               "Job": cluster.batch.list_namespaced_job,
               "Pod": cluster.core.list_namespaced_pod}

    def left() -> list[str]:
        return [f"{kind}/{item.metadata.name}" for kind, list_objects in listers.items()
                for item in list_objects(namespace).items]

    wait_until(lambda: not left(), 90, f"teardown to remove every workload, Service, Job and pod ({left()})")
    claims = cluster.core.list_namespaced_persistent_volume_claim(namespace).items
    assert [claim.status.phase for claim in claims] == ["Bound"], "teardown without purge lost the MySQL claim"
    secrets = [secret.metadata.name for secret in cluster.core.list_namespaced_secret(namespace).items]
    assert CREDENTIALS_SECRET in secrets, f"teardown without purge deleted Secret {CREDENTIALS_SECRET}"


def test_teardown_kept_the_volume_and_the_secret(cluster: Cluster, verified_namespace: str) -> None:
    assert_teardown_kept_the_data(cluster, verified_namespace)


def test_purge_removed_the_volume_and_the_secret(cluster: Cluster, verified_namespace: str) -> None:
    ns = verified_namespace
    wait_until(lambda: not cluster.core.list_namespaced_persistent_volume_claim(ns).items, 60,
               "teardown -e purge=true to remove the volume claims")
    secrets = [secret.metadata.name for secret in cluster.core.list_namespaced_secret(ns).items]
    assert CREDENTIALS_SECRET not in secrets, f"teardown -e purge=true left Secret {CREDENTIALS_SECRET}"
