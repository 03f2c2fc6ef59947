"""What the secrets role guarantees, checked on a namespace molecule converged (molecule/shared/verify.yml runs
this with E2E_VERIFY_NAMESPACE): the credentials Secret holds both keys, strong and distinct passwords, and a
re-run keeps them, even with no password given and generation off."""
from __future__ import annotations

import json

from e2e_ansible import run_playbook
from e2e_kube import Cluster
from e2e_settings import APP_PASSWORD_KEY, CREDENTIALS_SECRET, ROOT_PASSWORD_KEY

MIN_LENGTH, MIN_DISTINCT = 16, 6  # secrets_min_length, secrets_min_distinct_chars


def test_secret_holds_the_root_and_app_passwords(cluster: Cluster, verified_namespace: str) -> None:
    secret = cluster.core.read_namespaced_secret(CREDENTIALS_SECRET, verified_namespace)

    assert secret.type == "Opaque"
    assert sorted(secret.data or {}) == sorted([ROOT_PASSWORD_KEY, APP_PASSWORD_KEY])
    assert (secret.metadata.labels or {}).get("app.kubernetes.io/managed-by") == "ansible"


def test_passwords_are_strong_and_distinct(cluster: Cluster, verified_namespace: str) -> None:
    values = cluster.secret_values(verified_namespace)

    weak = [key for key, value in values.items() if len(value) < MIN_LENGTH or len(set(value)) < MIN_DISTINCT]
    assert not weak, f"weak passwords in {CREDENTIALS_SECRET}: {weak}"
    assert values[ROOT_PASSWORD_KEY] != values[APP_PASSWORD_KEY], "root and app share one password"


def test_rerun_without_given_passwords_keeps_them(cluster: Cluster, verified_namespace: str) -> None:
    before = cluster.secret_values(verified_namespace)
    unset = {"e2e_roles": ["secrets"], "vault_mysql_root_password": "", "vault_mysql_app_password": "",
             "secrets_generate_missing": False}

    run = run_playbook("molecule/shared/converge_roles.yml", verified_namespace, "-e", json.dumps(unset))

    assert run.changed == 0, f"the secrets role changed something on a re-run:\n{run.tail()}"
    assert cluster.secret_values(verified_namespace) == before, "a re-run changed the passwords"
