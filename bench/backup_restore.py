#!/usr/bin/env python3
"""Time a backup and a restore of 10,000 users on the local cluster (or E2E_KUBECONFIG/E2E_CONTEXT).

    .venv/bin/python bench/backup_restore.py [--users 10000] [--keep] [--namespace NS]

Deploys site.yml into a namespace of its own (bench-backup-<hex>), inserts the users with one SQL statement
(unique names and emails, each with a real argon2 hash made by the API's hasher: the API's hashing cost is not
what is measured), then times playbooks/backup.yml (Job, copy to this machine, credentials) and
playbooks/restore.yml of that backup (checks, safety backup, restore Job, migrations, checks, API back, smoke
test), checks that every row came back, and prints the figures. The namespace is deleted afterwards unless
--keep. A benchmark, not a test.
"""
from __future__ import annotations

import argparse
import json
import re
import secrets
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "e2e"))
sys.path.insert(0, str(REPO))

from app.passwords import hash_password  # noqa: E402
from e2e_ansible import run_playbook  # noqa: E402
from e2e_kube import Cluster  # noqa: E402


def timed(label: str, playbook: str, namespace: str, *extra: str) -> tuple[float, str]:
    started = time.monotonic()
    run = run_playbook(playbook, namespace, *extra)
    seconds = time.monotonic() - started
    print(f"{label}: {seconds:.1f} s", flush=True)
    return seconds, run.output


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--keep", action="store_true", help="keep the namespace afterwards")
    parser.add_argument("--namespace", help="use this deployed namespace instead of a new one (no bench users in it yet)")
    args = parser.parse_args()
    if not 1 <= args.users <= 99_999:
        parser.error("--users must be between 1 and 99999")

    cluster = Cluster()
    if not cluster.answers():
        print("bench: no cluster answers: start it with local-cluster/cluster up", file=sys.stderr)
        return 1
    namespace = args.namespace or f"bench-backup-{secrets.token_hex(3)}"
    backup_dir = Path(tempfile.mkdtemp(prefix="bench-backups-"))
    settings = json.dumps({"backup_dir": str(backup_dir)})
    try:
        if not args.namespace:
            timed("site.yml (deploy)", "site.yml", namespace, "-e", settings)
        root = cluster.secret_values(namespace)["mysql-root-password"]
        database = cluster.api_settings(namespace)["MYSQL_DATABASE"]
        digit = " UNION ALL ".join(f"SELECT {n} AS n" for n in range(10))
        hashes = [hash_password(f"bench-password-{n}") for n in range(8)]
        started = time.monotonic()
        code, _, err = cluster.mysql(namespace, (
            f"INSERT INTO `{database}`.users (user_name, user_email, user_password) "
            f"SELECT CONCAT('Bench User ', seq), CONCAT('bench', seq, '@example.com'), ELT(1 + seq % 8, "
            + ", ".join(f"'{value}'" for value in hashes) + ") FROM (SELECT a.n * 10000 + b.n * 1000 + c.n * 100 "
            f"+ d.n * 10 + e.n AS seq FROM ({digit}) a, ({digit}) b, ({digit}) c, ({digit}) d, ({digit}) e) s "
            f"WHERE seq < {args.users}"), "root", root)
        if code != 0:
            print(f"bench: inserting the users failed: {err.strip()}", file=sys.stderr)
            return 1
        print(f"insert {args.users} users (one SQL statement): {time.monotonic() - started:.1f} s", flush=True)

        backup_seconds, output = timed("backup.yml (Job + copy to this machine + credentials)", "backup.yml",
                                       namespace, "-e", settings)
        name = re.search(r"Backup (\S+) taken in", output).group(1)
        job_line = re.search(r"\(Job (\d+ tables.*? in \d+ s)\)", " ".join(output.split()))
        size = sum(path.stat().st_size for path in (backup_dir / name).iterdir())
        print(f"backup {name}: {size / 1024:.0f} KiB on this machine", flush=True)

        restore_seconds, output = timed("restore.yml (checks + safety backup + restore Job + migrations + "
                                        "checks + API back + smoke test)", "restore.yml", namespace,
                                        "-e", f"backup={name}", "-e", "confirm=yes", "-e", settings)
        restore_job = re.search(r"Job: restored .*? in (\d+) s", " ".join(output.split()))
        code, out, err = cluster.mysql(namespace, f"SELECT COUNT(*) FROM `{database}`.users WHERE user_email LIKE 'bench%@example.com'", "root", root)
        if code != 0 or int(out.strip()) != args.users:
            print(f"bench: after the restore the table holds {out.strip() or err.strip()} rows, not {args.users}",
                  file=sys.stderr)
            return 1
        print(f"\n{args.users} users: backup.yml {backup_seconds:.0f} s, restore.yml {restore_seconds:.0f} s"
              + (f" (restore Job alone {restore_job.group(1)} s)" if restore_job else "")
              + (f"; backup Job alone: {job_line.group(1)}" if job_line else ""))
        return 0
    finally:
        if not args.keep and not args.namespace:
            cluster.delete_namespace(namespace)
        cluster.close()


if __name__ == "__main__":
    sys.exit(main())
