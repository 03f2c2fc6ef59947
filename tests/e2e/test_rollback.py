"""Releases on one deployment: release A, then B, rollback.yml returns A and it serves; a rollback to a release
that needs a newer schema than the database has is refused, as is a MySQL downgrade, both before any change.

Release B is the same sources built under another tag (flask_api_image_tag=<A's tag>-b), so it is a real,
different image the cluster runs; the module's fixture deploys A, then B. The tests take turns on that
deployment in file order (the refusal holds whichever release is the previous one).
"""
from __future__ import annotations

import json
import os
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from e2e_ansible import PlaybookRun, run_playbook
from e2e_api import call, create_user
from e2e_kube import NAMES, Cluster, wait_until
from e2e_settings import KEEP_NAMESPACES, NAMESPACE_PREFIX


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


@pytest.fixture(scope="module")
def release(cluster: Cluster) -> Iterator[Release]:
    namespace = f"{NAMESPACE_PREFIX}rollback-{secrets.token_hex(3)}"
    try:
        run_playbook("site.yml", namespace)
        image_a = api_image(cluster, namespace)
        tag_b = image_a.rsplit(":", 1)[1] + "-b"
        _, took_b = timed("site.yml", namespace, "-e", f"flask_api_image_tag={tag_b}")
        image_b = api_image(cluster, namespace)
        assert image_b != image_a and image_b.endswith(f":{tag_b}"), f"release B not deployed: {image_b}"
        yield Release(namespace, cluster.api_url(namespace), image_a, image_b, took_b)
    finally:
        if not KEEP_NAMESPACES:
            cluster.delete_namespace(namespace)


@pytest.mark.skipif(os.environ.get("E2E_ROLLBACK") != "1",
                    reason="the rollout half of rollback.yml is not yet verified on the local cluster: E2E_ROLLBACK=1 runs it")
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


@pytest.mark.skipif(os.environ.get("E2E_ROLLBACK") != "1",
                    reason="written for the MariaDB stand-in (10.11 -> 10.6, MariaDB -> MySQL), while the local default "
                           "is now MySQL 9.7: E2E_ROLLBACK=1 runs it")
@pytest.mark.parametrize("image, words", [
    ("localhost/mariadb-standin:10.6", "is older than"),
    ("localhost/mysql:9.7", "cannot open the other's data files"),
], ids=["older minor release", "other server"])
def test_mysql_downgrade_is_refused_before_any_change(cluster: Cluster, release: Release, image: str,
                                                      words: str) -> None:
    ns = release.namespace
    running = mysql_image(cluster, ns)

    run, took = timed("site.yml", ns, "-e", json.dumps({"mysql_image": image}), expect_success=False)

    print(f"\nrefused mysql_image {image} (running {running}): {took:.1f} s")
    assert run.returncode != 0, f"site.yml accepted {image} over {running}:\n{run.tail()}"
    said = " ".join(run.output.split())
    assert words in said and "nothing was changed" in said, run.tail()
    assert run.changed == 0 and mysql_image(cluster, ns) == running, "the refused downgrade changed MySQL"
