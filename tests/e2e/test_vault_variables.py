"""A missing, placeholder or short vault variable fails site.yml before any object exists, naming it."""
from __future__ import annotations

import json

import pytest
from e2e_ansible import run_playbook
from e2e_kube import Cluster

CASES = {
    "placeholder root password": ({"vault_mysql_root_password": "changeme-changeme-42"}, "vault_mysql_root_password"),
    "placeholder app password": ({"vault_mysql_app_password": "replace-me-with-a-real-one"}, "vault_mysql_app_password"),
    "short app password": ({"vault_mysql_app_password": "Zk3-q"}, "vault_mysql_app_password"),
    "missing app password, generation off": (
        {"vault_mysql_app_password": "", "secrets_generate_missing": False}, "vault_mysql_app_password"),
}


@pytest.mark.parametrize("extra_vars, variable", CASES.values(), ids=CASES.keys())
def test_bad_vault_variable_fails_before_any_object(cluster: Cluster, namespaces, extra_vars, variable) -> None:
    namespace = namespaces.new("vault")

    run = run_playbook("site.yml", namespace, "-e", json.dumps(extra_vars), expect_success=False)

    assert run.returncode != 0, f"site.yml accepted {extra_vars}:\n{run.tail()}"
    assert variable in run.output, f"the failure does not name {variable}:\n{run.tail()}"
    assert run.changed == 0, f"site.yml changed something before failing:\n{run.tail()}"
    assert not cluster.namespace_exists(namespace), "site.yml created the namespace before failing"
