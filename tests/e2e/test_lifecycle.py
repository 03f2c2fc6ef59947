"""Lifecycle of one shared deployment: a re-run, a teardown and reinstall, a new password.

A lost MySQL pod is the mysql role's check (verify_mysql.py, run by molecule), and what teardown removes and keeps
is verify_teardown.py's, which the reinstall test reuses.

The tests take turns on the deployment in file order; each creates the rows it checks, so none relies on
another's data. The password change comes last because it rolls every API pod.
"""
from __future__ import annotations

import base64
import datetime
import json
import secrets

from e2e_ansible import run_playbook, vault_values
from e2e_api import call, create_user
from e2e_kube import NAMES, Cluster
from verify_teardown import assert_teardown_kept_the_data


def unique_email(tag: str) -> str:
    return f"{tag}-{secrets.token_hex(4)}@example.com"


def test_rerun_changes_nothing_creates_no_job_and_prints_no_secret(cluster: Cluster, deployment) -> None:
    started = datetime.datetime.now(datetime.UTC).replace(microsecond=0)

    run = run_playbook("site.yml", deployment.namespace, "-v", "--diff")

    assert run.changed == 0, f"the second run changed something:\n{run.tail()}"
    new_jobs = [job.metadata.name for job in cluster.jobs(deployment.namespace)
                if job.metadata.creation_timestamp >= started]
    assert not new_jobs, f"unchanged migrations created Jobs {new_jobs}"
    for name, value in vault_values().items():
        assert value not in run.output and base64.b64encode(value.encode()).decode() not in run.output, \
            f"{name} printed by the second run"


def test_teardown_then_site_finds_old_data_and_old_passwords(cluster: Cluster, deployment) -> None:
    ns = deployment.namespace
    user = create_user(deployment.url, "Edsger", unique_email("edsger"))
    passwords_before = cluster.secret_values(ns)

    run_playbook("teardown.yml", ns)
    assert_teardown_kept_the_data(cluster, ns)
    run_playbook("site.yml", ns)

    same_passwords = cluster.secret_values(ns) == passwords_before  # compared apart: a diff would print them
    assert same_passwords, "the reinstall changed the passwords"
    url = cluster.api_url(ns)
    status, body = call(url, "GET", f"/users/{user['id']}")
    assert (status, body["email"] if status == 200 else body) == (200, user["email"]), "the old row is gone"
    settings = cluster.api_settings(ns)
    code, out, err = cluster.mysql(ns, f"SELECT COUNT(*) FROM `{settings['MYSQL_DATABASE']}`.users", "root",
                                   passwords_before[NAMES["secrets_root_password_key"]])
    assert code == 0 and int(out.strip()) >= 1, f"the old root password no longer opens the data: {err.strip()}"


def test_changed_app_password_rolls_api_pods_and_they_work(cluster: Cluster, deployment) -> None:
    ns = deployment.namespace
    old_password = cluster.secret_values(ns)[NAMES["secrets_app_password_key"]]
    old_pods = {pod.metadata.name for pod in cluster.pods_of_service(ns, NAMES["flask_api_service_name"])}
    new_password = "rotated-" + secrets.token_urlsafe(18)

    run = run_playbook("site.yml", ns, "-e", json.dumps({"vault_mysql_app_password": new_password}))

    assert run.changed > 0
    assert cluster.secret_values(ns)[NAMES["secrets_app_password_key"]] == new_password, "the Secret kept the old password"
    new_pods = {pod.metadata.name for pod in cluster.pods_of_service(ns, NAMES["flask_api_service_name"])}
    assert new_pods and not new_pods & old_pods, f"API pods not rolled: {sorted(new_pods & old_pods)} remain"
    url = cluster.api_url(ns)
    user = create_user(url, "Barbara", unique_email("barbara"))
    assert call(url, "GET", f"/users/{user['id']}")[0] == 200
    settings = cluster.api_settings(ns)
    assert cluster.app_login(ns, settings, new_password) == (0, ""), "the new password does not log in"
    code, message = cluster.app_login(ns, settings, old_password)
    assert code != 0 and "Access denied" in message, "the old password still logs in"
