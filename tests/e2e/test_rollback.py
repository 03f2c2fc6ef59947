"""Releases on one deployment: release A, then B, rollback.yml returns A and it serves; a rollback to a release
that needs a newer schema than the database has is refused; MySQL is upgraded to a newer release (backup first,
data kept, API serving after), and a downgrade or a switch of server is then refused before any change.

Release B is the same sources built under another tag (flask_api_image_tag=<A's tag>-b), so it is a real,
different image the cluster runs; the module's fixture deploys A, then B. The tests take turns on that
deployment in file order (the refusal holds whichever release is the previous one; the downgrade is refused
from whichever MySQL release runs).

The newer MySQL release: E2E_MYSQL_UPGRADE_IMAGE when set (on your own cluster, an image of a newer release of
the server inventory's mysql_image names). On the local cluster, which holds one build per server, the test tags
that build in the node's containerd under the next minor release (localhost/mysql:9.7 -> localhost/mysql:9.8):
the same binaries, so mysqld has no data dictionary to upgrade, but the play's whole upgrade path runs (the
version check, the backup, the StatefulSet roll, the wait, the smoke test).
"""
from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from e2e_ansible import PlaybookRun, run_playbook
from e2e_api import call, create_user, ready
from e2e_kube import NAMES, Cluster, is_ready, wait_until
from e2e_settings import KUBECONFIG, local_mysql_image

# The local cluster's containerd (local-cluster/lib/common.sh, LK_CTR_SOCK), where the newer tag is made.
LOCAL_KUBECONFIG = "/var/lib/local-k8s/kubeconfig"
LOCAL_CONTAINERD = "/var/lib/local-k8s/run/containerd/containerd.sock"
# The other server of the local cluster (inventory/local, local_mysql_images), for the refused switch.
OTHER_SERVER = {"mysql": "localhost/mariadb-standin:10.11", "mariadb": "localhost/mysql:9.7"}


@dataclass
class Release:
    namespace: str
    url: str
    image_a: str
    image_b: str
    seconds_b: float  # site.yml deploying release B


def api_image(cluster: Cluster, namespace: str) -> str:
    deployment = cluster.apps.read_namespaced_deployment(NAMES["flask_api_name"], namespace)
    return next(c.image for c in deployment.spec.template.spec.containers if c.name == "api")


def mysql_image(cluster: Cluster, namespace: str) -> str:
    return cluster.apps.read_namespaced_stateful_set(NAMES["mysql_name"], namespace).spec.template.spec.containers[0].image


def timed(playbook: str, namespace: str, *extra: str, expect_success: bool = True) -> tuple[PlaybookRun, float]:
    started = time.monotonic()
    run = run_playbook(playbook, namespace, *extra, expect_success=expect_success)
    return run, time.monotonic() - started


def release_of(image: str) -> tuple[str, list[int]]:
    """(repository, release numbers of the tag): "localhost/mysql:9.7" -> ("localhost/mysql", [9, 7])."""
    repository, _, tag = image.rpartition(":")
    found = re.match(r"^v?(\d+(?:\.\d+)*)", tag) if "/" not in tag else None
    return repository, [int(part) for part in found.group(1).split(".")] if found else []


def flavor(image: str) -> str:
    return "mariadb" if "mariadb" in image.rpartition(":")[0] else "mysql"


@pytest.fixture(scope="module")
def release(cluster: Cluster, module_namespaces) -> Iterator[Release]:
    namespace = module_namespaces.new("rollback")
    run_playbook("site.yml", namespace)
    image_a = api_image(cluster, namespace)
    tag_b = image_a.rsplit(":", 1)[1] + "-b"
    _, took_b = timed("site.yml", namespace, "-e", f"flask_api_image_tag={tag_b}")
    image_b = api_image(cluster, namespace)
    assert image_b != image_a and image_b.endswith(f":{tag_b}"), f"release B not deployed: {image_b}"
    yield Release(namespace, cluster.api_url(namespace), image_a, image_b, took_b)


def test_rollback_returns_the_previous_release_and_it_serves(cluster: Cluster, release: Release,
                                                             record_property) -> None:
    ns = release.namespace
    image_b, took_b = release.image_b, release.seconds_b

    run, took = timed("rollback.yml", ns)

    print(f"\nrelease B deployed in {took_b:.1f} s; rollback.yml to A in {took:.1f} s")
    record_property("rollback_seconds", round(took, 1))
    assert api_image(cluster, ns) == release.image_a, "the Deployment does not run release A again"
    said = " ".join(run.output.split())  # the YAML callback wraps long messages
    assert "Smoke test passed" in said and f"rolled back from {image_b} to {release.image_a}" in said, \
        run.tail()
    pods = wait_until(lambda: [p for p in cluster.pods_of_service(ns, NAMES["flask_api_service_name"])
                               if p.spec.containers[0].image == release.image_a] or None, 60, "release A pods")
    assert all(p.spec.containers[0].image == release.image_a
               for p in cluster.pods_of_service(ns, NAMES["flask_api_service_name"])), "a release B pod still serves"
    assert pods
    user = create_user(release.url, "Grace", f"grace-{secrets.token_hex(4)}@example.com")
    assert call(release.url, "GET", f"/users/{user['id']}")[0] == 200


def test_rollback_to_a_release_needing_a_newer_schema_is_refused(cluster: Cluster, release: Release) -> None:
    ns = release.namespace
    database = cluster.api_settings(ns)["MYSQL_DATABASE"]
    # The database as if restored from a backup older than the previous release's schema (B after the rollback
    # test, else A): every release here needs version 1.
    table = f"`{database}`.schema_migrations"
    cluster.root_sql(ns, f"CREATE TABLE `{database}`.kept_migrations AS SELECT * FROM {table}; DELETE FROM {table}")
    before = api_image(cluster, ns)
    try:
        run, took = timed("rollback.yml", ns, expect_success=False)
    finally:
        cluster.root_sql(ns, f"INSERT INTO {table} SELECT * FROM `{database}`.kept_migrations; "
                             f"DROP TABLE `{database}`.kept_migrations")

    print(f"\nrefused rollback: {took:.1f} s")
    assert run.returncode != 0, f"rollback.yml went ahead without the schema it needs:\n{run.tail()}"
    said = " ".join(run.output.split())
    assert "needs schema version" in said and "nothing was changed" in said, run.tail()
    assert run.changed == 0 and api_image(cluster, ns) == before, "the refused rollback changed the Deployment"


def newer_mysql_image() -> str:
    """An image of a newer release of inventory/local's MySQL server (see the module doc), or a skip saying why."""
    if os.environ.get("E2E_MYSQL_UPGRADE_IMAGE"):
        return os.environ["E2E_MYSQL_UPGRADE_IMAGE"]
    current = local_mysql_image()
    repository, numbers = release_of(current)
    if KUBECONFIG != LOCAL_KUBECONFIG or not Path(LOCAL_CONTAINERD).is_socket() or not shutil.which("ctr"):
        pytest.skip(f"no newer MySQL image: set E2E_MYSQL_UPGRADE_IMAGE to an image of a newer release than "
                    f"{current} (on the local cluster the test tags one in its containerd, which needs root and ctr)")
    if len(numbers) < 2:
        pytest.skip(f"{current} has no release in its tag to go beyond: set E2E_MYSQL_UPGRADE_IMAGE")
    newer = f"{repository}:{numbers[0]}.{numbers[1] + 1}"
    tagged = subprocess.run(["ctr", "--address", LOCAL_CONTAINERD, "-n", "k8s.io", "images", "tag", "--force",
                             current, newer], capture_output=True, text=True, timeout=60, check=False)
    assert tagged.returncode == 0, f"tagging {current} as {newer} in the node's containerd failed: {tagged.stderr}"
    return newer


def test_mysql_upgrade_takes_a_backup_rolls_and_keeps_the_data(cluster: Cluster, release: Release,
                                                               tmp_path: Path, record_property) -> None:
    ns = release.namespace
    running = mysql_image(cluster, ns)
    newer = newer_mysql_image()
    # The refused rollback emptied the schema table for a moment, so every API pod reported not ready (its readiness
    # includes the schema version) and the Service had no endpoint: wait until they are back.
    wait_until(lambda: ready(release.url), 120, "the API to serve again after the refused rollback")
    kept = create_user(release.url, "Edsger", f"edsger-{secrets.token_hex(4)}@example.com")

    run, took = timed("site.yml", ns, "-e", json.dumps({"mysql_image": newer, "backup_dir": str(tmp_path)}))

    print(f"\nMySQL upgrade {running} -> {newer}: site.yml {took:.1f} s, changed={run.changed}")
    record_property("mysql_upgrade_seconds", round(took, 1))
    said = " ".join(run.output.split())
    assert mysql_image(cluster, ns) == newer, "the StatefulSet does not run the newer image"
    pod = cluster.pods_of_service(ns, NAMES["mysql_name"])[0]
    assert pod.spec.containers[0].image == newer and is_ready(pod), "MySQL is not Ready on the newer image"
    backups = [path.name for path in tmp_path.iterdir() if path.name.endswith("-before-upgrade")]
    assert backups, f"no -before-upgrade backup was taken (in {tmp_path}: {[p.name for p in tmp_path.iterdir()]})"
    assert "Smoke test passed" in said, f"the upgraded stack was not smoke-tested:\n{run.tail()}"
    status, body = call(release.url, "GET", f"/users/{kept['id']}")
    assert status == 200 and body["email"] == kept["email"], f"a user written before the upgrade is gone: {status}"


@pytest.mark.parametrize("change", ["older minor release", "other server"])
def test_mysql_downgrade_is_refused_before_any_change(cluster: Cluster, release: Release, change: str) -> None:
    ns = release.namespace
    running = mysql_image(cluster, ns)
    repository, numbers = release_of(running)
    if change == "older minor release":
        if len(numbers) < 2 or numbers[1] == 0:
            pytest.skip(f"{running} has no minor release below it to refuse")
        # Refused before the image is pulled, so it need not exist (after the upgrade test: the inventory's own).
        image, words = f"{repository}:{numbers[0]}.{numbers[1] - 1}", "is older than"
    else:
        image, words = OTHER_SERVER[flavor(running)], "cannot open the other's data files"

    run, took = timed("site.yml", ns, "-e", json.dumps({"mysql_image": image}), expect_success=False)

    print(f"\nrefused mysql_image {image} (running {running}): {took:.1f} s")
    assert run.returncode != 0, f"site.yml accepted {image} over {running}:\n{run.tail()}"
    said = " ".join(run.output.split())
    assert words in said and "nothing was changed" in said, run.tail()
    assert run.changed == 0 and mysql_image(cluster, ns) == running, "the refused downgrade changed MySQL"
