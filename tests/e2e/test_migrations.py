"""Schema changes as a developer makes them: a new file in app/migrations, then site.yml.

Each test deploys from a copy of the sources (flask_api_source_dir) holding one extra migration, so the
image is rebuilt from it and the schema Job is named after it, exactly as for a real change. They run last
on the shared deployment: its schema then runs ahead of the repository's.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from e2e_ansible import run_playbook
from e2e_api import call, ready
from e2e_kube import NAMES, Cluster
from e2e_settings import REPO


def sources_with_migration(tmp_path: Path, file_name: str, sql: str) -> Path:
    copy = tmp_path / "sources"
    copy.mkdir()
    for name in ("Dockerfile", ".dockerignore", "pyproject.toml"):
        shutil.copy2(REPO / name, copy / name)
    shutil.copytree(REPO / "app", copy / "app", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    (copy / "local-cluster").symlink_to(REPO / "local-cluster")
    (copy / "app" / "migrations" / file_name).write_text(sql, encoding="utf-8")
    return copy


def job_conditions(cluster: Cluster, namespace: str) -> dict[str, set[str]]:
    return {job.metadata.name: {c.type for c in job.status.conditions or [] if c.status == "True"}
            for job in cluster.jobs(namespace)}


def test_failing_migration_fails_job_and_play_with_its_log(cluster: Cluster, deployment, tmp_path) -> None:
    ns = deployment.namespace
    sources = sources_with_migration(tmp_path, "0002_broken.sql", "ALTER TABLE no_such_table ADD COLUMN x INT;\n")
    jobs_before = job_conditions(cluster, ns)
    pods_before = {pod.metadata.name for pod in cluster.pods_of_service(ns, NAMES["flask_api_service_name"])}

    run = run_playbook("site.yml", ns, "-e", f"flask_api_source_dir={sources}", expect_success=False)

    assert run.returncode != 0, "site.yml succeeded with a broken migration"
    assert "did not complete" in run.output and "Its log: migrate: migration 0002_broken failed" in run.output, \
        f"the failure does not carry the Job's log:\n{run.tail()}"
    new_jobs = {name: states for name, states in job_conditions(cluster, ns).items() if name not in jobs_before}
    assert [states for states in new_jobs.values()] == [{"Failed"}], f"expected one failed Job, found {new_jobs}"
    url = cluster.api_url(ns)
    assert ready(url), "the API stopped serving after a failed migration"
    assert {pod.metadata.name for pod in cluster.pods_of_service(ns, NAMES["flask_api_service_name"])} == pods_before, \
        "the API rolled to the image whose migration failed"


def test_changed_migration_runs_new_job_and_unchanged_runs_none(cluster: Cluster, deployment, tmp_path) -> None:
    ns = deployment.namespace
    sources = sources_with_migration(tmp_path, "0002_add_nickname.sql",
                                     "ALTER TABLE users ADD COLUMN nickname VARCHAR(64) NULL;\n")
    jobs_before = job_conditions(cluster, ns)

    run_playbook("site.yml", ns, "-e", f"flask_api_source_dir={sources}")

    new_jobs = {name: states for name, states in job_conditions(cluster, ns).items() if name not in jobs_before}
    assert [states for states in new_jobs.values()] == [{"Complete"}], f"expected one complete Job, found {new_jobs}"
    settings = cluster.api_settings(ns)
    code, out, err = cluster.mysql(ns, f"SHOW COLUMNS FROM `{settings['MYSQL_DATABASE']}`.users LIKE 'nickname'",
                                   "root", cluster.secret_values(ns)[NAMES["secrets_root_password_key"]])
    assert code == 0 and out.startswith("nickname"), f"the new column is missing: {out!r} {err.strip()}"
    assert call(cluster.api_url(ns), "GET", "/readyz")[0] == 200

    jobs_after_change = set(job_conditions(cluster, ns))
    rerun = run_playbook("site.yml", ns, "-e", f"flask_api_source_dir={sources}")

    assert rerun.changed == 0, f"the unchanged re-run changed something:\n{rerun.tail()}"
    assert set(job_conditions(cluster, ns)) == jobs_after_change, "an unchanged migration created a Job"
