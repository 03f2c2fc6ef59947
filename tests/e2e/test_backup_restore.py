"""Backup, scheduled backup and restore on one deployment of their own.

The tests take turns on the deployment in file order: what the backup holds, bad input (it must change
nothing), then the round trip, the schedule and a restore across schema versions. Each prints how long its
playbooks took. Disaster recovery, which purges its namespace and rebuilds it, has a module and a deployment of
its own (test_backup_disaster_recovery.py), so the two run side by side on separate pytest-xdist workers.
"""
from __future__ import annotations

import base64
import gzip
import hashlib
import json
import re
import secrets
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from e2e_ansible import PlaybookRun, _tool, ansible_env, run_playbook
from e2e_api import call
from e2e_kube import Cluster, wait_until
from e2e_settings import REPO
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import ResourceNotFoundError

# A few users with known passwords: enough rows for the checks, few enough to stay quick (argon2 per POST).
USERS = 12


@dataclass
class Stack:
    namespace: str
    backup_dir: Path
    database: str
    passwords: dict[str, str]  # email -> the user's API password
    backup_name: str  # taken by backup.yml right after the users were written
    state_at_backup: str  # CHECKSUM TABLE and every row, at that moment

    @property
    def backup_path(self) -> Path:
        return self.backup_dir / self.backup_name


def timed(playbook: str, namespace: str, *extra: str, expect_success: bool = True):
    started = time.monotonic()
    run = run_playbook(playbook, namespace, *extra, expect_success=expect_success)
    print(f"{playbook} {' '.join(extra)}: {time.monotonic() - started:.0f} s")
    return run


def root_password(cluster: Cluster, namespace: str) -> str:
    return cluster.secret_values(namespace)["mysql-root-password"]


def sql(cluster: Cluster, namespace: str, statement: str) -> str:
    code, out, err = cluster.mysql(namespace, statement, "root", root_password(cluster, namespace))
    assert code == 0, f"SQL failed: {err.strip()}"
    return out


def table_state(cluster: Cluster, namespace: str, database: str) -> str:
    """CHECKSUM TABLE of the data tables and every row of users, as one comparable text."""
    return sql(cluster, namespace, f"CHECKSUM TABLE `{database}`.users EXTENDED; "
                                   f"SELECT * FROM `{database}`.users ORDER BY user_id")


def reported(run: PlaybookRun) -> str:
    """Every message the play printed, each on one line."""
    return "\n".join(run.messages)


def backup_name_of(run: PlaybookRun) -> str:
    found = re.search(r"Backup (\S+) taken in", reported(run))
    assert found, "backup.yml did not report a backup name"
    return found.group(1)


def last_failure(run: PlaybookRun) -> str:
    """The message of the failed task, on one line."""
    return run.messages[-1] if run.messages else run.tail(20)


def rewrite_sums(directory: Path) -> None:
    names = ["tables.sql.gz", "objects.sql.gz", "tables.tsv", "meta.json"]
    lines = [f"{hashlib.sha256((directory / name).read_bytes()).hexdigest()}  {name}" for name in names]
    (directory / "SHA256SUMS").write_text("\n".join(lines) + "\n")


def deploy_with_users(cluster: Cluster, namespace: str, backup_dir: Path, settings: dict) -> Stack:
    """site.yml, USERS users written through the API, then backup.yml: the starting point of these modules."""
    settings = json.dumps({"backup_dir": str(backup_dir), **settings})
    timed("site.yml", namespace, "-e", settings)
    url = cluster.api_url(namespace)
    passwords = {}
    for number in range(USERS):
        email = f"user{number}-{secrets.token_hex(3)}@example.com"
        passwords[email] = f"pw-{secrets.token_urlsafe(12)}"
        status, body = call(url, "POST", "/users", {"name": f"User {number}", "email": email,
                                                    "password": passwords[email]})
        assert status == 201, f"POST /users answered {status}: {body}"
    database = cluster.api_settings(namespace)["MYSQL_DATABASE"]
    state = table_state(cluster, namespace, database)
    run = timed("backup.yml", namespace, "-e", settings)
    return Stack(namespace, backup_dir, database, passwords, backup_name_of(run), state)


@pytest.fixture(scope="module")
def stack(cluster: Cluster, module_namespaces, tmp_path_factory) -> Stack:
    return deploy_with_users(cluster, module_namespaces.new("backup"), tmp_path_factory.mktemp("backups"),
                             {"backup_schedule": "17 3 * * *", "backup_keep": 2})


def test_backup_is_complete_checksummed_and_keeps_credentials_encrypted(cluster: Cluster, stack: Stack) -> None:
    meta = json.loads((stack.backup_path / "meta.json").read_text())
    assert meta["database"] == stack.database and meta["schema_version"] == 1
    assert meta["tables"]["users"]["rows"] == USERS, meta["tables"]
    assert meta["tables"]["schema_migrations"]["rows"] == 1, "the migrations table is not in the backup"
    live_checksum = sql(cluster, stack.namespace, f"CHECKSUM TABLE `{stack.database}`.users EXTENDED").split()[-1]
    assert str(meta["tables"]["users"]["checksum"]) == live_checksum
    for line in (stack.backup_path / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split()
        assert hashlib.sha256((stack.backup_path / name).read_bytes()).hexdigest() == digest, name
    dump = gzip.decompress((stack.backup_path / "tables.sql.gz").read_bytes()).decode()
    assert "CREATE TABLE `schema_migrations`" in dump and "-- Dump completed" in dump

    credentials = stack.backup_path / "credentials.vault.yml"
    secret = cluster.secret_values(stack.namespace)
    raw = credentials.read_text()
    assert raw.startswith("$ANSIBLE_VAULT;"), "the credentials are not vault-encrypted"
    for value in secret.values():
        assert value not in raw and base64.b64encode(value.encode()).decode() not in raw
    plain = subprocess.run([_tool("ansible-vault"), "view", str(credentials)], cwd=REPO, env=ansible_env(),
                           capture_output=True, text=True, check=True, timeout=120).stdout
    assert f"vault_mysql_root_password: {secret['mysql-root-password']}" in plain
    assert f"vault_mysql_app_password: {secret['mysql-password']}" in plain


def test_bad_input_fails_in_one_sentence_and_changes_nothing(cluster: Cluster, stack: Stack, tmp_path) -> None:
    ns = stack.namespace
    before = table_state(cluster, ns, stack.database)
    corrupt = tmp_path / "corrupt"
    shutil.copytree(stack.backup_path, corrupt)
    data = bytearray((corrupt / "tables.sql.gz").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (corrupt / "tables.sql.gz").write_bytes(bytes(data))
    other = tmp_path / "other-database"
    shutil.copytree(stack.backup_path, other)
    meta = json.loads((other / "meta.json").read_text())
    (other / "meta.json").write_text(json.dumps({**meta, "database": "inventory"}))
    rewrite_sums(other)

    cases = {
        "no backup named": ([], "No backup given"),
        "unknown name": (["-e", "backup=flaskapi-19990101-000000"], "There is no backup 'flaskapi-19990101-000000'"),
        "no confirm": (["-e", f"backup={stack.backup_name}"], "add -e confirm=yes to go ahead"),
        "corrupt file": (["-e", f"backup={corrupt}"], "does not match its checksum in SHA256SUMS"),
        "other database": (["-e", f"backup={other}"], "holds database 'inventory', not"),
    }
    for case, (extra, sentence) in cases.items():
        confirm = [] if case == "no confirm" else ["-e", "confirm=yes"]
        run = timed("restore.yml", ns, *extra, *confirm, expect_success=False)
        assert run.returncode != 0, f"{case}: restore.yml succeeded"
        message = last_failure(run)
        assert sentence in message, f"{case}: unexpected message: {message}"
        assert "Traceback" not in run.output, f"{case}: a traceback was printed"
        assert message.count(". ") == 0 and message.endswith("."), f"{case}: not one sentence: {message}"

    assert table_state(cluster, ns, stack.database) == before, "a refused restore changed the data"
    assert [d.metadata.name for d in cluster.apps.list_namespaced_deployment(ns).items
            if d.spec.replicas == 0] == [], "a refused restore left the API stopped"


def test_round_trip_restores_rows_and_table_checksums(cluster: Cluster, stack: Stack) -> None:
    ns, url = stack.namespace, cluster.api_url(stack.namespace)
    status, users = call(url, "GET", "/users")
    assert status == 200
    for user in users[: USERS // 3]:
        assert call(url, "DELETE", f"/users/{user['id']}")[0] == 204
    for user in users[USERS // 3: USERS // 2]:
        assert call(url, "PATCH", f"/users/{user['id']}", {"name": "Changed"})[0] == 200
    assert table_state(cluster, ns, stack.database) != stack.state_at_backup

    run = timed("restore.yml", ns, "-e", f"backup={stack.backup_name}", "-e", "confirm=yes",
                "-e", f"backup_dir={stack.backup_dir}")

    assert table_state(cluster, ns, stack.database) == stack.state_at_backup
    safety = re.search(r"Safety backup of the data before: (\S+)\.$", reported(run), re.MULTILINE)
    assert safety and (stack.backup_dir / safety.group(1) / "meta.json").is_file(), "no safety backup was kept"
    safety_meta = json.loads((stack.backup_dir / safety.group(1) / "meta.json").read_text())
    assert safety_meta["tables"]["users"]["rows"] == USERS - USERS // 3, "the safety backup missed the last writes"
    assert "Smoke test passed" in reported(run), "the API was not smoke-tested after the restore"


def run_cron_job(cluster: Cluster, namespace: str) -> str:
    """Create a Job from the CronJob's jobTemplate (as kubectl create job --from=cronjob does); return its log."""
    dynamic = DynamicClient(cluster.api_client)
    for api_version in ("batch/v1", "batch/v1beta1"):  # batch/v1 from Kubernetes 1.21, v1beta1 before
        try:
            cron_jobs = dynamic.resources.get(api_version=api_version, kind="CronJob")
            break
        except ResourceNotFoundError:
            continue
    template = cron_jobs.get(name="mysql-backup", namespace=namespace).to_dict()["spec"]["jobTemplate"]
    name = f"mysql-backup-manual-{secrets.token_hex(3)}"
    job = {"apiVersion": "batch/v1", "kind": "Job",
           "metadata": {"name": name, "namespace": namespace, "labels": template["metadata"]["labels"],
                        "annotations": {"cronjob.kubernetes.io/instantiate": "manual"}},
           "spec": template["spec"]}
    cluster.batch.create_namespaced_job(namespace, job)

    def finished():
        status = cluster.batch.read_namespaced_job(name, namespace).status
        return status.succeeded or status.failed

    wait_until(finished, 180, f"Job {name} to finish")
    pod = cluster.core.list_namespaced_pod(namespace, label_selector=f"job-name={name}").items[0]
    log = cluster.core.read_namespaced_pod_log(pod.metadata.name, namespace)
    assert cluster.batch.read_namespaced_job(name, namespace).status.succeeded, f"{name} failed:\n{log}"
    return log


def test_scheduled_backup_restores_and_keeps_the_newest(cluster: Cluster, stack: Stack) -> None:
    ns = stack.namespace
    state = table_state(cluster, ns, stack.database)
    logs = []
    for _ in range(3):
        logs.append(run_cron_job(cluster, ns))
        time.sleep(1)  # backup names carry the second they were taken
    names = [re.search(r"^backup: took (\S+):", log, re.MULTILINE).group(1) for log in logs]
    assert all(name.endswith("-cron") for name in names), names
    assert f"removed {names[0]} (retention: the newest 2 are kept)" in logs[2], logs[2]

    url = cluster.api_url(ns)
    status, users = call(url, "GET", "/users")
    assert call(url, "DELETE", f"/users/{users[0]['id']}")[0] == 204
    timed("restore.yml", ns, "-e", f"backup={names[-1]}", "-e", "confirm=yes", "-e", "restore_safety_backup=false")
    assert table_state(cluster, ns, stack.database) == state

    gone = timed("restore.yml", ns, "-e", f"backup={names[0]}", "-e", "confirm=yes", expect_success=False)
    assert f"There is no backup '{names[0]}'" in last_failure(gone), "retention kept the oldest backup"


def test_restore_of_an_older_schema_is_migrated_up(cluster: Cluster, stack: Stack, tmp_path) -> None:
    """A backup from before migration 0001 (schema version 0: an empty migrations table) comes back at version 1."""
    ns = stack.namespace
    older = tmp_path / "flaskapi-20200101-000000"
    older.mkdir()
    table = gzip.decompress((stack.backup_path / "tables.sql.gz").read_bytes()).decode()
    create = re.search(r"CREATE TABLE `schema_migrations` \(.*?\) ENGINE=[^;]*;", table, re.DOTALL)
    assert create, "no schema_migrations table in the backup to build an older one from"
    (older / "tables.sql.gz").write_bytes(gzip.compress(create.group(0).encode() + b"\n"))
    (older / "objects.sql.gz").write_bytes(gzip.compress(b""))
    (older / "tables.tsv").write_text("schema_migrations\t0\t0\n")
    meta = json.loads((stack.backup_path / "meta.json").read_text())
    (older / "meta.json").write_text(json.dumps({**meta, "name": older.name, "schema_version": 0,
                                                 "tables": {"schema_migrations": {"rows": 0, "checksum": 0}}}))
    rewrite_sums(older)

    run = timed("restore.yml", ns, "-e", f"backup={older}", "-e", "confirm=yes", "-e", "restore_safety_backup=false")

    assert "migrate: applied 0001_create_users" in run.output
    assert "schema now at version 1" in reported(run)
    assert sql(cluster, ns, f"SELECT MAX(version) FROM `{stack.database}`.schema_migrations").strip() == "1"
    assert sql(cluster, ns, f"SELECT COUNT(*) FROM `{stack.database}`.users").strip() == "0"
    assert call(cluster.api_url(ns), "GET", "/readyz")[0] == 200
