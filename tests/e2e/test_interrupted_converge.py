"""A converge killed mid-run (a lost terminal, a cancelled CI job) is completed by the next one."""
from __future__ import annotations

import signal
import time

from e2e_ansible import kill_playbook, run_playbook, start_playbook
from e2e_api import call, create_user
from e2e_kube import Cluster, wait_until


def test_second_converge_completes_after_first_is_killed_mid_run(cluster: Cluster, namespaces, tmp_path) -> None:
    namespace = namespaces.new("interrupted")
    first = start_playbook("site.yml", namespace, tmp_path / "first-converge.log")

    def first_ended_or_mysql_being_created() -> bool:
        if first.poll() is not None:
            return True
        return cluster.namespace_exists(namespace) and bool(cluster.apps.list_namespaced_stateful_set(namespace).items)

    try:
        # Kill it once MySQL is being created: the Secret exists, the schema Job and the API do not yet.
        wait_until(first_ended_or_mysql_being_created, 600, "the first converge to create MySQL", interval=1)
        time.sleep(2)
    finally:
        if first.poll() is None:
            kill_playbook(first)
    assert first.returncode == -signal.SIGKILL, \
        f"the first converge ended before it could be interrupted:\n{(tmp_path / 'first-converge.log').read_text()[-3000:]}"

    run_playbook("site.yml", namespace)

    url = cluster.api_url(namespace)
    user = create_user(url, "Alan", "alan@example.com")
    assert call(url, "GET", f"/users/{user['id']}")[0] == 200
