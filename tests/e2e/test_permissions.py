"""An identity that may not do what site.yml does is told, in one sentence, which permissions it lacks, before
anything is applied; one that may not list storage classes (a cluster-wide read) is not stopped by that."""
from __future__ import annotations

import base64
from pathlib import Path

import yaml
from e2e_ansible import run_playbook
from e2e_kube import Cluster, wait_until
from e2e_settings import CONTEXT, CREDENTIALS_SECRET, KUBECONFIG
from kubernetes import client

ACCOUNT = "limited"
# What the Role grants: reading and patching some kinds, not creating pods/exec nor patching deployments,
# nor deleting jobs, nor patching network policies (all of which site.yml does).
GRANTED = [client.V1PolicyRule(api_groups=[""], resources=["secrets", "services", "configmaps"],
                               verbs=["get", "list", "patch"]),
           client.V1PolicyRule(api_groups=["apps"], resources=["statefulsets"], verbs=["get", "list", "patch"])]
MISSING = "create pods/exec, patch deployments, delete jobs, patch networkpolicies"


def limited_kubeconfig(cluster: Cluster, namespace: str, path: Path) -> str:
    """A copy of the test kubeconfig whose context uses the token of a ServiceAccount bound to GRANTED only."""
    cluster.core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace)))
    cluster.core.create_namespaced_service_account(namespace, client.V1ServiceAccount(
        metadata=client.V1ObjectMeta(name=ACCOUNT)))
    rbac = client.RbacAuthorizationV1Api(cluster.api_client)
    rbac.create_namespaced_role(namespace, client.V1Role(metadata=client.V1ObjectMeta(name=ACCOUNT), rules=GRANTED))
    rbac.create_namespaced_role_binding(namespace, client.V1RoleBinding(
        metadata=client.V1ObjectMeta(name=ACCOUNT),
        role_ref=client.V1RoleRef(api_group="rbac.authorization.k8s.io", kind="Role", name=ACCOUNT),
        subjects=[client.RbacV1Subject(kind="ServiceAccount", name=ACCOUNT, namespace=namespace)]))
    # Kubernetes 1.20 makes the account's token Secret itself.
    secret_name = wait_until(lambda: (cluster.core.read_namespaced_service_account(ACCOUNT, namespace).secrets
                                      or [None])[0], 60, "the ServiceAccount's token Secret").name
    token = base64.b64decode(cluster.core.read_namespaced_secret(secret_name, namespace).data["token"]).decode()

    config = yaml.safe_load(Path(KUBECONFIG).read_text())
    context = next(entry for entry in config["contexts"] if entry["name"] == CONTEXT)
    context["context"]["user"] = ACCOUNT
    config["users"] = [{"name": ACCOUNT, "user": {"token": token}}]
    path.write_text(yaml.safe_dump(config))
    path.chmod(0o600)
    return str(path)


def test_missing_permissions_are_named_in_one_sentence_before_any_change(cluster: Cluster, namespaces,
                                                                          tmp_path) -> None:
    namespace = namespaces.new("permissions")
    kubeconfig = limited_kubeconfig(cluster, namespace, tmp_path / "kubeconfig")

    run = run_playbook("site.yml", namespace, "-e", f"kube_kubeconfig={kubeconfig}", expect_success=False)

    assert run.returncode != 0, f"site.yml went ahead without the permissions it needs:\n{run.tail()}"
    message = run.messages[-1] if run.messages else run.tail()
    assert f"may not {MISSING} in namespace {namespace}" in message, message
    assert "ask your cluster administrator" in message, message
    assert not [line for line in run.messages if "does not answer" in line], "the 403 on storage classes was taken for a dead API"
    assert run.changed == 0, f"site.yml changed something before failing:\n{run.tail()}"
    secrets = [secret.metadata.name for secret in cluster.core.list_namespaced_secret(namespace).items]
    assert CREDENTIALS_SECRET not in secrets, "the credentials Secret was written anyway"
    assert cluster.apps.list_namespaced_stateful_set(namespace).items == [], "MySQL was created anyway"
