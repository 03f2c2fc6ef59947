"""Prometheus metrics, served as text at GET /metrics.

Under gunicorn each worker is a process of its own: gunicorn_conf.py points PROMETHEUS_MULTIPROC_DIR at a fresh
directory before the workers start (prometheus_client's multiprocess mode), marks dead workers in child_exit, and
/metrics then adds up every worker's files. Without that variable (tests, `flask run`) the process's own registry
is served. Labels are bounded: the route template (`/users/<int:user_id>`, never the URL), method, status, code.
"""
from __future__ import annotations

import os
import time
from typing import Any

from flask import Flask, Response, g, request
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

MULTIPROC_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
UNMATCHED_ROUTE = "<unmatched>"

REQUESTS = Counter("http_requests_total", "HTTP requests answered, by route template, method and status",
                   ["route", "method", "status"])
LATENCY = Histogram("http_request_duration_seconds", "Time to answer a request, by route template and method",
                    ["route", "method"],
                    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))
ERRORS = Counter("api_errors_total", "Error answers, by the error code in their JSON body and HTTP status",
                 ["code", "status"])
# livesum: the sum over the worker processes alive now (a dead worker's last value is dropped).
POOL_IN_USE = Gauge("db_pool_connections_in_use", "Database connections lent out to requests",
                    multiprocess_mode="livesum")
POOL_WAITING = Gauge("db_pool_waiting_requests",
                     "Requests waiting for a database connection (a free one, or a new one being opened)",
                     multiprocess_mode="livesum")
POOL_SIZE = Gauge("db_pool_connections_max", "Most database connections the pools may open",
                  multiprocess_mode="livesum")


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_DIR_VARIABLE) or None


def exposition() -> bytes:
    if multiprocess_dir() is None:
        return generate_latest(REGISTRY)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return generate_latest(registry)


def count_error(code: str, status: int) -> None:
    ERRORS.labels(code, str(status)).inc()


def register(app: Flask, pool_size: int) -> None:
    POOL_SIZE.set(pool_size)

    @app.before_request
    def start_timer() -> None:
        g.metrics_started = time.perf_counter()

    @app.after_request
    def observe(response: Any) -> Any:
        started = g.get("metrics_started")
        if started is not None:
            route = request.url_rule.rule if request.url_rule is not None else UNMATCHED_ROUTE
            LATENCY.labels(route, request.method).observe(time.perf_counter() - started)
            REQUESTS.labels(route, request.method, str(response.status_code)).inc()
        return response


# The text format every Prometheus version reads.
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4


def metrics_response() -> Response:
    return Response(exposition(), content_type=CONTENT_TYPE)
