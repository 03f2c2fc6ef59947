"""GET /metrics under real gunicorn with several workers (prometheus_client multiprocess mode), with API_AUTH=token."""
from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from mariadb_server import free_port
from test_app_gunicorn import GUNICORN, REPO, Served, wait_for

TOKEN = "metrics-test-token-0c5e8b1f9a7d2463"
WORKERS, THREADS = 3, 2
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def metered(app_env, migrated, tmp_path_factory):
    port = free_port()
    base = tmp_path_factory.mktemp("metered")
    env = {"PATH": os.environ["PATH"], **app_env, "PORT": str(port), "WEB_CONCURRENCY": str(WORKERS),
           "GUNICORN_THREADS": str(THREADS), "API_AUTH": "token",
           "API_TOKEN_HASHES": hashlib.sha256(TOKEN.encode()).hexdigest(),
           "PROMETHEUS_MULTIPROC_DIR": str(base / "prometheus")}
    with open(base / "gunicorn.log", "wb") as sink:
        process = subprocess.Popen(GUNICORN, cwd=REPO, env=env, stdout=sink, stderr=sink)
    server = Served(process, f"http://127.0.0.1:{port}", base / "gunicorn.log")
    server.metrics_dir = base / "prometheus"
    try:
        wait_for(server.url + "/healthz")
        yield server
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def worker_files(server) -> set[str]:
    """The workers that have counted something (prometheus_client writes one counter file per process)."""
    return {name.split("_")[-1] for name in os.listdir(server.metrics_dir) if name.startswith("counter_")}


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = requests.get(url + "/metrics", timeout=5)  # no token: /metrics is public
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(response.text) for sample in family.samples}


def value(samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_counts_add_up_over_all_workers_by_route_template(metered):
    before = scrape(metered.url)
    route = {"route": "/users/<int:user_id>", "method": "GET"}
    # Distinct URLs, ten at a time on new connections, until two workers have counted some: one worker may take
    # every connection of a short sequential burst, which would leave nothing to add up.
    sent = 0
    with ThreadPoolExecutor(max_workers=10) as pool:
        while len(worker_files(metered)) < 2:
            assert sent < 300, f"{sent} requests all reached one worker"
            ids = range(900001 + sent, 900011 + sent)
            assert set(pool.map(lambda user_id: requests.get(
                f"{metered.url}/users/{user_id}", headers=AUTH, timeout=5).status_code, ids)) == {404}
            sent += len(ids)
    for _ in range(5):
        assert requests.get(f"{metered.url}/users", timeout=5).status_code == 401
    for _ in range(2 * WORKERS):  # every worker answers with the same sums
        after = scrape(metered.url)
        assert value(after, "http_requests_total", **route, status="404") - value(
            before, "http_requests_total", **route, status="404") == sent
        assert value(after, "http_request_duration_seconds_count", **route) - value(
            before, "http_request_duration_seconds_count", **route) == sent
        assert value(after, "http_request_duration_seconds_bucket", **route, le="+Inf") == value(
            after, "http_request_duration_seconds_count", **route)
        assert value(after, "api_errors_total", code="not_found", status="404") - value(
            before, "api_errors_total", code="not_found", status="404") == sent
        assert value(after, "http_requests_total", route="/users", method="GET", status="401") - value(
            before, "http_requests_total", route="/users", method="GET", status="401") == 5
        assert value(after, "api_errors_total", code="unauthorized", status="401") - value(
            before, "api_errors_total", code="unauthorized", status="401") == 5
    assert not any(name == "http_requests_total" and "900001" in str(labels) for name, labels in after)


def test_pool_gauges_count_live_workers_only(metered):
    samples = scrape(metered.url)
    assert value(samples, "db_pool_connections_max") == WORKERS * THREADS
    assert value(samples, "db_pool_connections_in_use") == 0
    assert value(samples, "db_pool_waiting_requests") == 0
    served_before = value(samples, "http_requests_total", route="/metrics", method="GET", status="200")
    workers = subprocess.run(["pgrep", "-P", str(metered.process.pid)], capture_output=True, text=True,
                             check=True).stdout.split()
    os.kill(int(workers[0]), signal.SIGKILL)  # gunicorn starts a new one; child_exit drops the dead one's gauges
    # The dead worker's share leaves at once (child_exit), the new worker's arrives once it has loaded the app;
    # the dead one's counts stay in the totals.
    seen = []
    deadline = time.monotonic() + 60
    while not seen or seen[-1] != WORKERS * THREADS:
        assert time.monotonic() < deadline, f"pool size went {seen}, expected it back at {WORKERS * THREADS}"
        samples = scrape(metered.url)
        seen.append(value(samples, "db_pool_connections_max"))
        assert value(samples, "http_requests_total", route="/metrics", method="GET", status="200") >= served_before
        time.sleep(0.2)
    assert set(seen) <= {WORKERS * THREADS, (WORKERS - 1) * THREADS}, seen  # never the dead worker's on top


def test_pool_gauges_follow_lent_connections(app):
    from app.metrics import POOL_IN_USE
    before = POOL_IN_USE._value.get()
    with app.extensions["users_db"].connection():
        assert POOL_IN_USE._value.get() == before + 1
    assert POOL_IN_USE._value.get() == before
