"""Disaster recovery from nothing, on a deployment of its own: deploy, write users, back up to this machine,
purge the namespace, then site.yml and restore.yml from that copy alone (issue 9, "Disaster recovery").

Its own module, so that pytest-xdist (one module per worker) runs it beside test_backup_restore.py instead of
after it; it shares that module's helpers. It prints how long each playbook took.
"""
from __future__ import annotations

import json

import pytest
from e2e_kube import Cluster
from test_backup_restore import Stack, deploy_with_users, sql, table_state, timed


@pytest.fixture(scope="module")
def stack(cluster: Cluster, module_namespaces, tmp_path_factory) -> Stack:
    return deploy_with_users(cluster, module_namespaces.new("backup-dr"), tmp_path_factory.mktemp("backups"), {})


def test_disaster_recovery_from_nothing(cluster: Cluster, stack: Stack) -> None:
    """Purge the namespace, then site.yml and restore.yml from the copy on this machine: every row is back."""
    ns = stack.namespace
    old_secret = cluster.secret_values(ns)
    timed("teardown.yml", ns, "-e", "purge=true")
    assert not cluster.namespace_exists(ns)

    credentials = f"@{stack.backup_path / 'credentials.vault.yml'}"
    timed("site.yml", ns, "-e", credentials)
    timed("restore.yml", ns, "-e", f"backup={stack.backup_path}", "-e", "confirm=yes",
          "-e", f"backup_dir={stack.backup_dir}")

    assert table_state(cluster, ns, stack.database) == stack.state_at_backup, "not every row came back"
    assert cluster.secret_values(ns) == old_secret, "the rebuilt Secret differs from the saved credentials"
    code, err = cluster.app_login(ns, cluster.api_settings(ns), old_secret["mysql-password"])
    assert code == 0, f"the old app password no longer logs in: {err}"
    # The API has no login route: a user "logs in" when the password verifies against the stored argon2 hash,
    # which is what the API's own hasher does here, inside an API pod.
    rows = sql(cluster, ns, f"SELECT user_email, user_password FROM `{stack.database}`.users").splitlines()
    hashes = dict(line.split("\t") for line in rows)
    assert set(hashes) == set(stack.passwords)
    pod = cluster.pods_of_service(ns, "flask-service")[0].metadata.name
    check = ("import json, sys\nfrom app.passwords import _hasher\n"
             "for email, (stored, password) in json.loads(sys.argv[1]).items():\n"
             "    _hasher.verify(stored, password)\nprint('all verified')\n")
    pairs = json.dumps({email: [hashes[email], password] for email, password in stack.passwords.items()})
    code, out, err = cluster.exec(ns, pod, ["python3", "-c", check, pairs])
    assert code == 0 and "all verified" in out, f"an old user password does not verify: {err.strip()[-300:]}"
