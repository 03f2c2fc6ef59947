"""Drift: the live objects follow the templates, also when a field is removed; an immutable change stops the run first.

Both tests use the shared deployment. The drift test leaves it as the templates describe it (the extra variable is
gone again at its end); the immutable test changes nothing.
"""
from __future__ import annotations

import json

from e2e_ansible import run_playbook
from e2e_kube import Cluster

MARKER = "E2E_DRIFT_MARKER"


def api_env_names(cluster: Cluster, namespace: str) -> set[str]:
    deployment = cluster.apps.read_namespaced_deployment("flask-api", namespace)
    return {env.name for env in deployment.spec.template.spec.containers[0].env or []}


def test_env_var_removed_from_the_template_is_removed_from_the_live_deployment(cluster: Cluster, deployment) -> None:
    ns = deployment.namespace
    run_playbook("site.yml", ns, "-e", json.dumps({"flask_api_extra_env": {MARKER: "present"}}))
    assert MARKER in api_env_names(cluster, ns), "the extra env var never reached the Deployment"

    run = run_playbook("site.yml", ns)

    assert run.changed > 0, f"removing an env var from the template reported no change:\n{run.tail()}"
    assert MARKER not in api_env_names(cluster, ns), "the env var removed from the template is still on the Deployment"
    pods = cluster.pods_of_service(ns, "flask-service")
    assert pods and all(MARKER not in {env.name for env in pod.spec.containers[0].env or []} for pod in pods), \
        "API pods still run with the removed env var"


def test_changed_storage_size_fails_before_any_change_naming_the_variable(cluster: Cluster, deployment) -> None:
    ns = deployment.namespace
    live = cluster.apps.read_namespaced_stateful_set("mysql", ns)
    size = live.spec.volume_claim_templates[0].spec.resources.requests["storage"]
    versions = {kind: read(name, ns).metadata.resource_version for kind, read, name in [
        ("StatefulSet", cluster.apps.read_namespaced_stateful_set, "mysql"),
        ("Deployment", cluster.apps.read_namespaced_deployment, "flask-api"),
        ("Secret", cluster.core.read_namespaced_secret, "mysql-credentials")]}

    run = run_playbook("site.yml", ns, "-e", "mysql_storage_size=3Gi", expect_success=False)

    assert run.returncode != 0, "a new volume claim size was accepted on an existing StatefulSet"
    assert f"mysql_storage_size is 3Gi but StatefulSet {ns}/mysql was created with {size}" in " ".join(run.output.split())
    assert "Traceback" not in run.output and "422" not in run.output
    after = {kind: read(name, ns).metadata.resource_version for kind, read, name in [
        ("StatefulSet", cluster.apps.read_namespaced_stateful_set, "mysql"),
        ("Deployment", cluster.apps.read_namespaced_deployment, "flask-api"),
        ("Secret", cluster.core.read_namespaced_secret, "mysql-credentials")]}
    assert after == versions, "objects were changed before the run failed"
