"""Credentials lifecycle on one deployment: the app password and root's password rotated under a steady write
load, each followed by a changed=0 re-run, then a Secret lost while the volume is kept, caught before anything
changes. Figures (failed requests, run times) are printed (-s) and recorded as properties.

The tests take turns on the module's deployment in file order: each rotation starts from the passwords the one
before left (kept in PASSWORDS), and the Secret is deleted last.
"""
from __future__ import annotations

import json
import os
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from e2e_ansible import run_playbook
from e2e_kube import NAMES, Cluster, wait_until
from e2e_load import Load
from e2e_settings import APP_PASSWORD_KEY, CREDENTIALS_SECRET, ROOT_PASSWORD_KEY

# What the vault says now (extra vars override the inventory's vault for the rest of the module).
PASSWORDS: dict[str, str] = {}


@dataclass
class Deployment:
    namespace: str
    url: str  # the API Service, http://ClusterIP:port


@pytest.fixture(scope="module")
def deployed(cluster: Cluster, module_namespaces) -> Iterator[Deployment]:
    """site.yml once, on a namespace of this module's own (deleted after its last test)."""
    namespace = module_namespaces.new("creds")
    started = time.monotonic()
    run_playbook("site.yml", namespace)
    print(f"\nfirst deployment: {time.monotonic() - started:.1f} s")
    yield Deployment(namespace, cluster.api_url(namespace))


def site(namespace: str, *extra: str, expect_success: bool = True):
    started = time.monotonic()
    run = run_playbook("site.yml", namespace, "-e", json.dumps(PASSWORDS), *extra, expect_success=expect_success)
    return run, time.monotonic() - started


@dataclass(frozen=True)
class Rotation:
    vault_var: str
    secret_key: str
    # (cluster, namespace, password) -> (exit code, error message) of a login with that password
    login: Callable[[Cluster, str, str], tuple[int, str]]


def app_login(cluster: Cluster, namespace: str, password: str) -> tuple[int, str]:
    return cluster.app_login(namespace, cluster.api_settings(namespace), password)


def root_login(cluster: Cluster, namespace: str, password: str) -> tuple[int, str]:
    code, _, err = cluster.mysql(namespace, "SELECT 1", "root", password)
    return code, err.strip()


ROTATIONS = {
    "app": Rotation("vault_mysql_app_password", APP_PASSWORD_KEY, app_login),
    "root": Rotation("vault_mysql_root_password", ROOT_PASSWORD_KEY, root_login),
}


# App: dual passwords (RETAIN CURRENT PASSWORD, roll the API, DISCARD OLD PASSWORD), so no login is ever refused.
# Root: ALTER USER as the current root, then the Secret; the API never uses root, so it serves throughout.
@pytest.mark.parametrize("what", list(ROTATIONS))
def test_password_rotation_under_writes_fails_no_request_and_a_rerun_changes_nothing(
        cluster: Cluster, deployed: Deployment, what: str, record_property) -> None:
    ns, rotation = deployed.namespace, ROTATIONS[what]
    old_password = cluster.secret_values(ns)[rotation.secret_key]
    new_password = f"rotated-{what}-" + secrets.token_urlsafe(18)

    # Two writers, each pausing 50 ms between requests: a steady load that leaves the 2-core node room for the
    # roll; bounded in time whatever happens.
    load = Load.writes(deployed.url, threads=2, pause=0.05, max_seconds=420)
    with load:
        wait_until(lambda: load.snapshot()[0] >= 20, 60, "the write load to run", interval=0.5)
        PASSWORDS[rotation.vault_var] = new_password
        run, took = site(ns)
        time.sleep(2)  # requests in flight when the play ended
    result = load.result
    print(f"\n{what} rotation: site.yml {took:.1f} s, changed={run.changed}; load: {result.summary()}")
    record_property(f"{what}_rotation_failed_requests", result.failed)
    record_property(f"{what}_rotation_seconds", round(took, 1))
    assert run.changed > 0, f"the {what} rotation changed nothing:\n{run.tail()}"
    assert result.failed == 0, f"requests failed during the {what} password rotation: {result.summary()}"

    assert cluster.secret_values(ns)[rotation.secret_key] == new_password, "the Secret kept the old password"
    assert rotation.login(cluster, ns, new_password) == (0, ""), "the new password does not log in"
    code, message = rotation.login(cluster, ns, old_password)
    assert code != 0 and "Access denied" in message, f"the old {what} password still logs in after the rotation"
    mysql_pod = cluster.pods_of_service(ns, NAMES["mysql_name"])[0]
    assert mysql_pod.status.container_statuses[0].ready, f"MySQL turned unready after the {what} rotation"

    rerun, took = site(ns)
    print(f"{what} rotation re-run: {took:.1f} s, changed={rerun.changed}")
    assert rerun.changed == 0, f"the re-run after the {what} rotation changed something:\n{rerun.tail()}"


@pytest.mark.parametrize("case", ["wrong vault password", "generated password"])
def test_lost_secret_against_the_kept_volume_fails_fast_and_changes_nothing(
        cluster: Cluster, deployed: Deployment, case: str, record_property) -> None:
    ns = deployed.namespace
    try:
        cluster.core.delete_namespaced_secret(CREDENTIALS_SECRET, ns)
    except Exception:  # noqa: BLE001 - already deleted by the first case
        pass
    root = "not-the-root-" + secrets.token_urlsafe(12) if case == "wrong vault password" else ""

    run, took = site(ns, "-e", json.dumps({"vault_mysql_root_password": root}), expect_success=False)

    load = os.getloadavg()[0]
    print(f"\nlost Secret, {case}: site.yml failed after {took:.1f} s (load average {load:.1f})")
    record_property(f"mismatch_{case.replace(' ', '_')}_seconds", round(took, 1))
    assert run.returncode != 0, f"site.yml went on with a root password that cannot open the data:\n{run.tail()}"
    waited = [line for line in run.output.splitlines() if line.startswith("TASK [") and "Wait" in line]
    assert not waited, f"site.yml waited before reporting the mismatch: {waited}"
    # 60 s on a machine with a core per runnable process; on an oversubscribed one (the e2e modules, molecule and
    # other builds side by side) every task slows down with it, so the bound grows with the load per core.
    bound = 60 * max(1.0, load / (os.cpu_count() or 1))
    assert took < bound, f"the mismatch took {took:.0f} s to be reported (bound {bound:.0f} s at load {load:.1f})"
    said = " ".join(run.output.split())  # the YAML callback wraps long messages
    assert "restore the saved credentials from a backup" in said and "nothing was changed" in said, \
        f"the failure does not name the cause and the fix:\n{run.tail()}"
    assert run.changed == 0, f"site.yml changed something before failing:\n{run.tail()}"
    assert CREDENTIALS_SECRET not in [secret.metadata.name for secret in cluster.core.list_namespaced_secret(ns).items], \
        "site.yml wrote a Secret that cannot open the data"
