"""What the flask_api role guarantees, checked on a namespace molecule converged (molecule/shared/verify.yml runs
this with E2E_VERIFY_NAMESPACE): the schema Job completed and the schema is current, the rollout finished, the
tutorial's calls work through the Service from inside the cluster (the smoke test's client), the API logs in as a
data-rights-only user through the mysql Service, and no password sits anywhere but in the Secret."""
from __future__ import annotations

import base64
import json
import re

from e2e_kube import Cluster, is_ready, wait_until
from e2e_settings import API_SERVICE, APP_PASSWORD_KEY, MYSQL_SERVICE, REPO, ROOT_PASSWORD_KEY
from kubernetes.dynamic import DynamicClient

SCHEMA_COMPONENT = "app.kubernetes.io/component=schema-migration"


def test_schema_job_completed_and_every_migration_is_applied(cluster: Cluster, verified_namespace: str) -> None:
    ns = verified_namespace
    jobs = cluster.batch.list_namespaced_job(ns, label_selector=SCHEMA_COMPONENT).items
    failed = [job.metadata.name for job in jobs
              if any(c.type == "Failed" and c.status == "True" for c in job.status.conditions or [])]
    assert not failed, f"schema Jobs failed: {failed}"
    states = cluster.core.list_namespaced_config_map(ns, label_selector=SCHEMA_COMPONENT).items
    assert len(states) == 1 and states[0].data["job"].endswith(states[0].data["hash"]), "no schema state recorded"
    # Finished Jobs are deleted after their TTL; while the recorded one is there, it must have completed.
    recorded = [job for job in jobs if job.metadata.name == states[0].data["job"]]
    assert all(any(c.type == "Complete" and c.status == "True" for c in job.status.conditions or [])
               for job in recorded), f"schema Job {states[0].data['job']} did not complete"

    database = cluster.api_settings(ns)["MYSQL_DATABASE"]
    applied = [int(line) for line in cluster.root_sql(
        ns, f"SELECT version FROM `{database}`.schema_migrations ORDER BY version").split()]
    expected = sorted(int(path.name[:4]) for path in (REPO / "app" / "migrations").glob("[0-9][0-9][0-9][0-9]_*.sql"))
    assert applied == expected, f"applied migrations {applied}, the repository has {expected}"


def test_rollout_finished_and_every_api_pod_is_ready(cluster: Cluster, verified_namespace: str) -> None:
    def rolled_out() -> bool:
        deployments = cluster.apps.list_namespaced_deployment(verified_namespace).items
        return bool(deployments) and all(
            (d.status.observed_generation or 0) >= d.metadata.generation
            and d.status.updated_replicas == d.status.available_replicas == d.status.ready_replicas
            == d.status.replicas == d.spec.replicas for d in deployments)

    wait_until(rolled_out, 120, "every Deployment to finish its rollout")
    pods = cluster.core.list_namespaced_pod(verified_namespace, label_selector="!job-name").items
    not_ready = [pod.metadata.name for pod in pods if not is_ready(pod)]
    assert not not_ready, f"pods not Ready: {not_ready}"


def test_api_reaches_mysql_by_its_service_name_and_not_as_root(cluster: Cluster, verified_namespace: str) -> None:
    settings = cluster.api_settings(verified_namespace)

    assert settings.get("MYSQL_HOST") in [MYSQL_SERVICE, f"{MYSQL_SERVICE}.{verified_namespace}",
                                          f"{MYSQL_SERVICE}.{verified_namespace}.svc",
                                          f"{MYSQL_SERVICE}.{verified_namespace}.svc.cluster.local"]
    assert settings.get("MYSQL_USER") not in (None, "", "root")


def test_tutorial_calls_through_the_service_from_an_api_pod(cluster: Cluster, verified_namespace: str) -> None:
    ns = verified_namespace
    port = cluster.core.read_namespaced_service(API_SERVICE, ns).spec.ports[0].port
    pod = cluster.pods_of_service(ns, API_SERVICE)[0].metadata.name
    source = (REPO / "roles" / "flask_api" / "files" / "api_client.py").read_text(encoding="utf-8")

    code, out, err = cluster.exec(ns, pod, ["python3", "-c", source, f"http://{API_SERVICE}:{port}"])

    assert code == 0, f"the smoke test's calls failed from {pod}: {out.strip()} {err.strip()}"
    steps = json.loads(out)["steps"]
    assert [name for name, _ in steps] == ["GET /readyz", "POST /users", "GET /users", "GET /users/<id>",
                                           "PUT /users/<id>", "DELETE /users/<id>", "GET /users/<id> after delete"]


def test_app_user_holds_data_rights_only(cluster: Cluster, verified_namespace: str) -> None:
    settings = cluster.api_settings(verified_namespace)
    user, database = settings["MYSQL_USER"], settings["MYSQL_DATABASE"]
    # MariaDB prints the password hash in the USAGE line: cut it before anything can show it.
    grants = [re.sub(r" IDENTIFIED BY PASSWORD .*$", "", line)
              for line in cluster.root_sql(verified_namespace, f"SHOW GRANTS FOR '{user}'@'%'").splitlines()]

    usage = [line for line in grants if " ON *.* " in line]
    data = [line for line in grants if f" ON `{database}`.* " in line]
    assert len(grants) == 2 and len(usage) == 1 and usage[0].startswith("GRANT USAGE ON"), grants
    assert len(data) == 1 and sorted(data[0].removeprefix("GRANT ").split(" ON ")[0].split(", ")) \
        == ["DELETE", "INSERT", "SELECT", "UPDATE"], grants
    assert not [line for line in grants if "GRANT OPTION" in line], grants


def test_no_password_outside_the_secret(cluster: Cluster, verified_namespace: str) -> None:
    ns = verified_namespace
    values = cluster.secret_values(ns)
    passwords = [values[ROOT_PASSWORD_KEY], values[APP_PASSWORD_KEY]]
    # Plain, JSON-escaped (as in an env value) and base64 (as in a Secret's data).
    forms = passwords + [json.dumps(p)[1:-1] for p in passwords] + [base64.b64encode(p.encode()).decode()
                                                                    for p in passwords]
    kinds = ["Deployment", "ReplicaSet", "StatefulSet", "Job", "CronJob", "ConfigMap", "Pod", "Service"]
    resources = DynamicClient(cluster.api_client).resources  # CronJob is batch/v1beta1 on Kubernetes 1.20
    scanned, leaks = 0, []
    for kind in kinds:
        for item in resources.get(kind=kind).get(namespace=ns).items:
            scanned += 1
            if any(form in json.dumps(item.to_dict()) for form in forms):
                leaks.append(f"{kind}/{item.metadata.name}")

    assert scanned >= 4, f"only {scanned} objects to search in {ns}"
    assert not leaks, f"a password appears in plain text in: {', '.join(leaks)}"
