#!/usr/bin/env python3
"""Time a backup and a restore of 10,000 users on the local cluster (or E2E_KUBECONFIG/E2E_CONTEXT).

    .venv/bin/python bench/backup_restore.py [--users 10000] [--keep] [--namespace NS] [--log-dir DIR]

Deploys site.yml into a namespace of its own (bench-backup-<hex>), inserts the users with one SQL statement
(unique names, emails and argon2id-shaped password values: see insert_users), then times playbooks/backup.yml (Job, copy to this machine, credentials) and
playbooks/restore.yml of that backup (checks, safety backup, restore Job, migrations, checks, API back, smoke
test), checks that every row came back, and prints the figures: each playbook's time, the Jobs' own times, the
backup's size, and the machine's 1-minute load average (sampled every 5 s) while each playbook ran.
--log-dir keeps each playbook's output there, with Ansible's per-task times (ansible.posix.profile_tasks).
The namespace is deleted afterwards unless --keep. A benchmark, not a test.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# The e2e helpers, the shared names they read (tests/contract.py), and the app (its password hasher).
sys.path.insert(0, str(REPO / "tests" / "e2e"))
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO))

from app.passwords import hash_password  # noqa: E402
from e2e_ansible import run_playbook  # noqa: E402
from e2e_kube import Cluster  # noqa: E402


class LoadSampler:
    """Samples the 1-minute load average every few seconds while a playbook runs."""

    def __init__(self, interval: float = 5) -> None:
        self.interval = interval
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while True:
            self.samples.append(os.getloadavg()[0])
            if self._stop.wait(self.interval):
                return

    def __enter__(self) -> LoadSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.samples.append(os.getloadavg()[0])

    def summary(self) -> str:
        low, high = min(self.samples), max(self.samples)
        return f"load average {low:.1f} to {high:.1f} (mean {sum(self.samples) / len(self.samples):.1f})"


def timed(label: str, playbook: str, namespace: str, *extra: str, log_dir: Path | None = None) -> tuple[float, str]:
    if log_dir is not None:
        # Per-task times in the output (kept in log_dir); the figures printed here do not depend on it.
        os.environ["ANSIBLE_CALLBACKS_ENABLED"] = "ansible.posix.profile_tasks"
    started = time.monotonic()
    with LoadSampler() as load:
        run = run_playbook(playbook, namespace, *extra)
    seconds = time.monotonic() - started
    if log_dir is not None:
        (log_dir / f"{playbook.removesuffix('.yml')}-{int(time.time())}.log").write_text(run.output)
    print(f"{label}: {seconds:.1f} s, {load.summary()}", flush=True)
    return seconds, run.output


def insert_users(cluster: Cluster, namespace: str, database: str, root: str, users: int) -> None:
    """One INSERT ... SELECT of `users` rows. Every password value is unique and as long and as random as a real
    one (an argon2id string of the API's parameters, salt and hash made from SHA-256 of the row number), so the
    dump compresses as a real table does; the first row's is a real hash of "bench-password-0", which the API's
    hasher verifies. Hashing 10,000 real passwords would take minutes, and is not what is measured."""
    digit = " UNION ALL ".join(f"SELECT {n} AS n" for n in range(10))
    real = hash_password("bench-password-0")
    prefix = real.rsplit("$", 2)[0]  # $argon2id$v=19$m=...,t=...,p=...
    salt = "TRIM(TRAILING '=' FROM TO_BASE64(UNHEX(LEFT(SHA2(CONCAT('salt', seq), 256), 32))))"
    digest = "TRIM(TRAILING '=' FROM TO_BASE64(UNHEX(SHA2(CONCAT('hash', seq), 256))))"
    fake = f"CONCAT('{prefix}$', {salt}, '$', {digest})"
    started = time.monotonic()
    code, _, err = cluster.mysql(namespace, (
        f"INSERT INTO `{database}`.users (user_name, user_email, user_password) "
        f"SELECT CONCAT('Bench User ', seq), CONCAT('bench', seq, '@example.com'), IF(seq = 0, '{real}', {fake}) "
        f"FROM (SELECT a.n * 10000 + b.n * 1000 + c.n * 100 + d.n * 10 + e.n AS seq "
        f"FROM ({digit}) a, ({digit}) b, ({digit}) c, ({digit}) d, ({digit}) e) s WHERE seq < {users}"),
        "root", root)
    if code != 0:
        raise SystemExit(f"bench: inserting the users failed: {err.strip()}")
    print(f"insert {users} users (one SQL statement): {time.monotonic() - started:.1f} s", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--keep", action="store_true", help="keep the namespace afterwards")
    parser.add_argument("--namespace", help="use this deployed namespace instead of a new one (no bench users in it yet)")
    parser.add_argument("--log-dir", type=Path, help="keep each playbook's output (with per-task times) here")
    args = parser.parse_args()
    if not 1 <= args.users <= 99_999:
        parser.error("--users must be between 1 and 99999")
    if args.log_dir is not None:
        args.log_dir.mkdir(parents=True, exist_ok=True)

    cluster = Cluster()
    if not cluster.answers():
        print("bench: no cluster answers: start it with local-cluster/cluster up", file=sys.stderr)
        return 1
    namespace = args.namespace or f"bench-backup-{secrets.token_hex(3)}"
    backup_dir = Path(tempfile.mkdtemp(prefix="bench-backups-"))
    settings = json.dumps({"backup_dir": str(backup_dir)})
    print(f"bench: namespace {namespace}, backups in {backup_dir}, load average {os.getloadavg()[0]:.1f} at the start",
          flush=True)
    try:
        if not args.namespace:
            timed("site.yml (deploy)", "site.yml", namespace, "-e", settings, log_dir=args.log_dir)
        root = cluster.secret_values(namespace)["mysql-root-password"]
        database = cluster.api_settings(namespace)["MYSQL_DATABASE"]
        insert_users(cluster, namespace, database, root, args.users)

        backup_seconds, output = timed("backup.yml (Job + copy to this machine + credentials)", "backup.yml",
                                       namespace, "-e", settings, log_dir=args.log_dir)
        flat = " ".join(output.split())
        name = re.search(r"Backup (\S+) taken in", flat).group(1)
        backup_job = re.search(r"\((?:Job|backup: took \S+) \d+ tables, \d+ rows, (\d+) KiB, .*? in (\d+) s\)", flat)
        files = {path.name: path.stat().st_size for path in (backup_dir / name).iterdir()}
        print(f"backup {name}: {sum(files.values()) / 1024:.0f} KiB on this machine ("
              + ", ".join(f"{file} {size / 1024:.0f} KiB" for file, size in sorted(files.items())) + ")", flush=True)

        restore_seconds, output = timed("restore.yml (checks + safety backup + restore Job + migrations + "
                                        "checks + API back + smoke test)", "restore.yml", namespace,
                                        "-e", f"backup={name}", "-e", "confirm=yes", "-e", settings,
                                        log_dir=args.log_dir)
        restore_job = re.search(r"Job: restored .*? in (\d+) s", " ".join(output.split()))
        code, out, err = cluster.mysql(namespace, f"SELECT COUNT(*) FROM `{database}`.users "
                                                  "WHERE user_email LIKE 'bench%@example.com'", "root", root)
        if code != 0 or int(out.strip()) != args.users:
            print(f"bench: after the restore the table holds {out.strip() or err.strip()} rows, not {args.users}",
                  file=sys.stderr)
            return 1
        print(f"\n{args.users} users: backup.yml {backup_seconds:.0f} s"
              + (f" (backup Job alone {backup_job.group(2)} s, {backup_job.group(1)} KiB)" if backup_job else "")
              + f", restore.yml {restore_seconds:.0f} s"
              + (f" (restore Job alone {restore_job.group(1)} s)" if restore_job else "")
              + f"; all {args.users} rows back")
        return 0
    finally:
        if not args.keep and not args.namespace:
            cluster.delete_namespace(namespace)
        cluster.close()


if __name__ == "__main__":
    sys.exit(main())
