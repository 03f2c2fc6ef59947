#!/usr/bin/env python3
"""Benchmark the users API under gunicorn against a throwaway MariaDB holding 10,000 users.

    .venv/bin/python bench/run_bench.py [--seconds 10] [--connections 16] [--workers 2] [--threads 4]
    .venv/bin/python bench/run_bench.py --compare REF [--rounds 3]

Measures, in one run: the database's own ceiling (point selects per second through one persistent
PyMySQL connection), then wrk at 16 connections on GET /users/<id>, GET /users?limit=50 and POST /users.
Prints req/s, p50, p99 per endpoint and the ratio of GET /users/<id> req/s to the ceiling.
--compare REF measures what metrics and authentication cost on the hot path: in interleaved rounds it serves
the app of git revision REF (before /metrics), this tree's app (with metrics), and this tree's app with
API_AUTH=token (every request sends the token), each time measuring the ceiling and then GET /users/<id>, and
the CPU time gunicorn spent per request (from /proc: the figure least disturbed by other work on the machine).
Needs: mariadb-server and wrk (Debian packages). A benchmark, not a test: it checks nothing itself.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from statistics import median

import pymysql
import requests

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
sys.path.insert(0, str(REPO / "tests" / "app"))
sys.path.insert(0, str(REPO))

from app import migrate  # noqa: E402
from app.passwords import hash_password  # noqa: E402
from mariadb_server import MariaDBServer, free_port  # noqa: E402

ENDPOINTS = [("GET /users/<id>", "get_user.lua"), ("GET /users?limit=50", "list_users.lua"),
             ("POST /users", "create_user.lua")]
SELECT_ONE = "SELECT user_id, user_name, user_email, created_at, updated_at FROM users WHERE user_id = %s"


def seed(server: MariaDBServer, database: str, users: int) -> None:
    """Users 1..N; one precomputed hash for all (hashing 10,000 passwords would take minutes)."""
    hashed = hash_password("seeded-password")
    rows = [(f"user {n}", f"user{n}@example.com", hashed) for n in range(1, users + 1)]
    with server.admin_connection(database=database) as con, con.cursor() as cur:
        cur.executemany("INSERT INTO users (user_name, user_email, user_password) VALUES (%s, %s, %s)", rows)


def database_ceiling(env: dict[str, str], users: int, seconds: float) -> float:
    """Point selects per second through one persistent PyMySQL connection (TLS off, as the app)."""
    con = pymysql.connect(host=env["MYSQL_HOST"], port=int(env["MYSQL_PORT"]), user=env["MYSQL_USER"],
                          password=env["MYSQL_PASSWORD"], database=env["MYSQL_DATABASE"], ssl_disabled=True,
                          autocommit=True)
    try:
        with con.cursor() as cur:
            count, deadline = 0, time.perf_counter() + seconds
            started = time.perf_counter()
            while time.perf_counter() < deadline:
                cur.execute(SELECT_ONE, (random.randint(1, users),))
                cur.fetchone()
                count += 1
            return count / (time.perf_counter() - started)
    finally:
        con.close()


def run_wrk(url: str, script: str, connections: int, seconds: int, users: int, token: str = "") -> dict:
    env = {**os.environ, "BENCH_DIR": str(BENCH_DIR), "BENCH_USERS": str(users), "BENCH_TOKEN": token}
    result = subprocess.run(["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s", "-s",
                             str(BENCH_DIR / script), url], env=env, capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def start_gunicorn(source: Path, env: dict[str, str], log: Path) -> tuple[subprocess.Popen, str]:
    """gunicorn exactly as deployed, serving the app found in `source`; returns it once /readyz answers."""
    port = free_port()
    gunicorn_env = {**os.environ, **env, "PORT": str(port), "LOG_LEVEL": "INFO", "PYTHONPATH": str(source)}
    gunicorn_env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with open(log, "ab") as sink:
        process = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "python:app.gunicorn_conf",
                                    "app:create_app()"], cwd=source, env=gunicorn_env, stdout=sink, stderr=sink)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if requests.get(url + "/readyz", timeout=5).status_code == 200:
                return process, url
        except (requests.ConnectionError, requests.Timeout):
            pass
        if time.monotonic() > deadline:
            process.kill()
            raise SystemExit(f"gunicorn did not become ready (log: {log})")
        time.sleep(0.2)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and all its descendants (gunicorn's master and workers), from /proc."""
    total, pending = 0.0, [pid]
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(child) for child in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def stop_gunicorn(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)


def checkout(ref: str, into: Path) -> Path:
    """The app of git revision `ref` (app/ only), to serve the code as it was."""
    archive = subprocess.run(["git", "-C", str(REPO), "archive", "--format=tar", ref, "app"], capture_output=True,
                             check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


def compare(options: argparse.Namespace, server: MariaDBServer, env: dict[str, str], work: Path) -> None:
    token = "bench-" + os.urandom(24).hex()
    variants = [
        (f"before metrics ({options.compare})", checkout(options.compare, work / "baseline"), {}, ""),
        ("with metrics", REPO, {}, ""),
        ("with metrics and auth", REPO, {"API_AUTH": "token",
                                         "API_TOKEN_HASHES": hashlib.sha256(token.encode()).hexdigest()}, token),
    ]
    print(f"GET /users/<id>: wrk 2 threads, {options.connections} connections, {options.seconds} s; gunicorn "
          f"{options.workers} workers x {options.threads} threads; {options.users:,} users; "
          f"{options.rounds} interleaved rounds")
    print(f"{'round':<7}{'variant':<36}{'ceiling/s':>11}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'non-2xx':>9}"
          f"{'ratio':>8}{'CPU ms/req':>12}")
    ratios: dict[str, list[float]] = {name: [] for name, *_ in variants}
    # req/s relative to the baseline served just before in the same round: the ceiling is measured through its own
    # connection while nothing else runs, so on a shared machine it varies more than what it divides.
    relative: dict[str, list[float]] = {name: [] for name, *_ in variants}
    # CPU time gunicorn (master and workers) spent per request: what the code costs, whoever else uses the cores.
    cpu_per_request: dict[str, list[float]] = {name: [] for name, *_ in variants}
    for round_number in range(1, options.rounds + 1):
        baseline_rps = 0.0
        for name, source, extra, variant_token in variants:
            process, url = start_gunicorn(source, {**env, **extra, "WEB_CONCURRENCY": str(options.workers),
                                                   "GUNICORN_THREADS": str(options.threads)}, work / "gunicorn.log")
            try:
                metrics_status = requests.get(url + "/metrics", timeout=5).status_code
                ceiling = database_ceiling(env, options.users, options.seconds)
                cpu_before = cpu_seconds(process.pid)
                result = run_wrk(url, "get_user.lua", options.connections, options.seconds, options.users,
                                 variant_token)
                cpu_ms = (cpu_seconds(process.pid) - cpu_before) * 1000 / max(result["requests"], 1)
            finally:
                stop_gunicorn(process)
            ratio = result["rps"] / ceiling
            ratios[name].append(ratio)
            baseline_rps = baseline_rps or result["rps"]
            relative[name].append(result["rps"] / baseline_rps)
            cpu_per_request[name].append(cpu_ms)
            print(f"{round_number:<7}{name:<36}{ceiling:>11,.0f}{result['rps']:>9,.0f}{result['p50_ms']:>9.2f}"
                  f"{result['p99_ms']:>9.2f}{result['non_2xx']:>9}{ratio:>8.2f}{cpu_ms:>12.2f}"
                  f"{'' if metrics_status == 200 else '  (no /metrics)'}")
    print("medians over the rounds: ratio of GET /users/<id> req/s to the database ceiling; req/s relative to the "
          "first variant of the same round; gunicorn CPU ms per request")
    for name, values in ratios.items():
        print(f"  {name:<36}{median(values):>6.2f}{median(relative[name]):>8.2f}{median(cpu_per_request[name]):>8.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--compare", metavar="REF", help="git revision before /metrics, compared with this tree")
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk not found: apt-get install wrk", file=sys.stderr)
        return 2

    server = MariaDBServer.start()
    gunicorn = None
    log_dir = Path(tempfile.mkdtemp(prefix="bench-gunicorn-"))
    try:
        env = {"MYSQL_HOST": server.host, "MYSQL_PORT": str(server.port), "MYSQL_DATABASE": "bench",
               "MYSQL_USER": "bench_app", "MYSQL_PASSWORD": "bench-" + os.urandom(8).hex(), "MYSQL_TLS": "disabled"}
        with open(os.devnull, "w") as quiet:
            migrate.run(migrate.plan_from({**env, "MYSQL_ADMIN_USER": server.admin_user,
                                           "MYSQL_ADMIN_PASSWORD": server.admin_password}), out=quiet)
        seed(server, env["MYSQL_DATABASE"], options.users)
        if options.compare:
            compare(options, server, env, log_dir)
            return 0

        gunicorn, url = start_gunicorn(REPO, {**env, "WEB_CONCURRENCY": str(options.workers),
                                              "GUNICORN_THREADS": str(options.threads)}, log_dir / "gunicorn.log")

        ceiling = database_ceiling(env, options.users, options.seconds)
        print(f"database ceiling (one persistent PyMySQL connection, point selects): {ceiling:,.0f}/s")
        print(f"wrk: 2 threads, {options.connections} connections, {options.seconds} s per endpoint; "
              f"gunicorn {options.workers} workers x {options.threads} threads; {options.users:,} users")
        print(f"{'endpoint':<22}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'non-2xx':>10}{'sock err':>10}")
        results = {}
        for name, script in ENDPOINTS:
            result = run_wrk(url, script, options.connections, options.seconds, options.users)
            results[name] = result
            print(f"{name:<22}{result['rps']:>10,.0f}{result['p50_ms']:>10.2f}{result['p99_ms']:>10.2f}"
                  f"{result['non_2xx']:>10}{result['socket_errors']:>10}")
        ratio = results["GET /users/<id>"]["rps"] / ceiling
        print(f"ratio GET /users/<id> req/s to database ceiling: {ratio:.2f} (target >= 0.30)")
        return 0
    finally:
        if gunicorn is not None:
            stop_gunicorn(gunicorn)
        server.destroy()
        shutil.rmtree(log_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
