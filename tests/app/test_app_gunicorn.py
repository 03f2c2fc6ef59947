"""The app under real gunicorn: routes, logs, the duplicate-email race, a database restart, SIGTERM."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from app.db import UNREACHABLE_RECHECK_SECONDS
from mariadb_server import free_port

REPO = Path(__file__).resolve().parents[2]
GUNICORN = [sys.executable, "-m", "gunicorn", "-c", "python:app.gunicorn_conf", "app:create_app()"]
PASSWORDS = ["first-Secret-pw-7f3a", "second-Secret-pw-9c1d", "legacy-Secret-pw-2b8e", "x" * 1025]


class Served:
    def __init__(self, process: subprocess.Popen, url: str, log: Path, drain_file: Path | None = None) -> None:
        self.process, self.url, self.log, self.drain_file = process, url, log, drain_file

    def log_lines(self) -> list[str]:
        return self.log.read_text(encoding="utf-8").splitlines()


def wait_for(url: str, seconds: float = 60) -> None:
    """Until the URL answers 200; workers still loading on a busy machine may accept and answer late."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            if requests.get(url, timeout=5).status_code == 200:
                return
        except (requests.ConnectionError, requests.Timeout):
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(url)
        time.sleep(0.1)


@pytest.fixture(scope="module")
def served(app_env, migrated, tmp_path_factory):
    port = free_port()
    log = tmp_path_factory.mktemp("gunicorn") / "gunicorn.log"
    drain_file = log.with_name("draining")
    env = {"PATH": os.environ["PATH"], **app_env, "PORT": str(port), "WEB_CONCURRENCY": "2",
           "GUNICORN_THREADS": "4", "DRAIN_FILE": str(drain_file)}
    with open(log, "wb") as sink:
        process = subprocess.Popen(GUNICORN, cwd=REPO, env=env, stdout=sink, stderr=sink)
    server = Served(process, f"http://127.0.0.1:{port}", log, drain_file)
    try:
        wait_for(server.url + "/healthz")
        yield server
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            assert process.wait(timeout=30) == 0, "gunicorn did not stop cleanly on SIGTERM"
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()


def test_routes_work_under_gunicorn(served, clean_users):
    created = requests.post(served.url + "/users", json={"name": "G", "email": "g@example.com",
                                                        "password": PASSWORDS[0]}, timeout=10)
    assert created.status_code == 201
    user_url = served.url + created.headers["Location"]
    assert requests.get(user_url, timeout=5).json()["email"] == "g@example.com"
    assert requests.patch(user_url, json={"password": PASSWORDS[1]}, timeout=10).status_code == 200
    assert requests.post(served.url + "/create", json={"name": "L", "email": "l@example.com",
                                                      "pwd": PASSWORDS[2]}, timeout=10).status_code == 200
    too_long = requests.post(served.url + "/users", json={"name": "T", "email": "t@example.com",
                                                         "password": PASSWORDS[3]}, timeout=10)
    assert too_long.status_code == 422
    assert requests.get(served.url + "/readyz", timeout=5).status_code == 200
    assert requests.delete(user_url, timeout=5).status_code == 204
    assert requests.get(served.url + "/openapi.json", timeout=5).json()["openapi"].startswith("3.")


def test_request_id_is_echoed_and_logged_as_json(served):
    response = requests.get(served.url + "/users?limit=1", headers={"X-Request-ID": "trace-4242"}, timeout=5)
    assert response.headers["X-Request-ID"] == "trace-4242"
    time.sleep(0.2)
    entries = [json.loads(line) for line in served.log_lines()]  # every line is JSON
    requests_logged = [entry for entry in entries if entry.get("request_id") == "trace-4242"]
    assert len(requests_logged) == 1  # logged once, not once per handler
    assert requests_logged[0]["status"] == 200 and requests_logged[0]["path"] == "/users"
    assert requests_logged[0]["method"] == "GET" and requests_logged[0]["duration_ms"] >= 0


def test_no_password_in_any_log_line(served):
    time.sleep(0.2)
    text = served.log.read_text(encoding="utf-8")
    assert "request" in text
    for password in PASSWORDS:
        assert password not in text


def test_concurrent_creates_with_one_email_give_exactly_one_201(served, clean_users):
    def create(n: int) -> int:
        body = {"name": f"racer {n}", "email": "race@example.com", "password": "race-pw"}
        return requests.post(served.url + "/users", json=body, timeout=30).status_code

    with ThreadPoolExecutor(max_workers=12) as pool:
        statuses = list(pool.map(create, range(24)))
    assert sorted(statuses) == [201] + [409] * 23


def test_database_restart_gives_503_then_recovers_without_app_restart(served, mariadb, clean_users):
    if not mariadb.can_restart:
        pytest.skip("the database is external (TEST_MYSQL_HOST): the tests cannot restart it")
    user_url = served.url + requests.post(served.url + "/users", json={
        "name": "R", "email": "r@example.com", "password": "restart-pw"}, timeout=10).headers["Location"]
    for _ in range(8):  # warm several pooled connections in both workers
        assert requests.get(user_url, timeout=5).status_code == 200
    mariadb.stop()
    try:
        down = requests.get(user_url, timeout=10)
        assert down.status_code == 503
        assert down.json()["error"]["code"] == "database_unavailable"
        assert down.headers["Retry-After"] == "2"
        ready = requests.get(served.url + "/readyz", timeout=10)  # stays in the Service, answering 503s
        assert (ready.status_code, ready.json()) == (200, {"status": "ready", "database": "unreachable"})
        assert requests.get(served.url + "/healthz", timeout=5).status_code == 200
    finally:
        mariadb.start_again()
    # Each worker tries the server again at most UNREACHABLE_RECHECK_SECONDS after its last failure (503 until then).
    back = time.monotonic()
    while requests.get(user_url, timeout=10).status_code != 200:
        assert time.monotonic() - back < UNREACHABLE_RECHECK_SECONDS + 3, "the API did not come back with the server"
        time.sleep(0.1)
    time.sleep(UNREACHABLE_RECHECK_SECONDS)  # the other worker's interval too
    statuses = [requests.get(user_url, timeout=10).status_code for _ in range(12)]
    assert statuses == [200] * 12
    assert requests.get(served.url + "/readyz", timeout=5).status_code == 200
    assert served.process.poll() is None


def test_draining_closes_keep_alive_connections_after_answering(served):
    """What the pod's preStop hook starts: every answer still comes, each with `Connection: close`."""
    assert served.drain_file is not None
    with requests.Session() as session:
        assert session.get(served.url + "/healthz", timeout=5).headers.get("Connection") != "close"
        served.drain_file.touch()
        try:
            answers = [session.get(served.url + "/users?limit=1", timeout=5) for _ in range(4)]
            ready = session.get(served.url + "/readyz", timeout=5)
        finally:
            served.drain_file.unlink()
    assert [(r.status_code, r.headers.get("Connection")) for r in answers] == [(200, "close")] * 4
    assert ready.status_code == 503 and ready.json()["error"]["code"] == "draining"
    assert requests.get(served.url + "/readyz", timeout=5).status_code == 200


def test_missing_setting_stops_start_up_with_one_line(app_env):
    env = {"PATH": os.environ["PATH"], **{k: v for k, v in app_env.items() if k != "MYSQL_DATABASE"}}
    result = subprocess.run(GUNICORN, cwd=REPO, env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
    assert result.stderr.strip() == "configuration error: MYSQL_DATABASE is required but not set"
