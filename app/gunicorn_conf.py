"""gunicorn settings: gunicorn -c python:app.gunicorn_conf "app:create_app()"

Threaded workers (gthread) keep client connections alive; each worker process has its own
connection pool sized to its thread count. Logs are JSON lines on stderr.
Stopping without losing a request (Kubernetes): the preStop hook creates DRAIN_FILE and waits; meanwhile /readyz
is 503 and every answer closes its keep-alive connection (pre_request), so clients move to other pods; then
SIGTERM lets the workers finish what is in flight within graceful_timeout (GUNICORN_GRACEFUL_TIMEOUT).
Metrics: the workers write prometheus_client's multiprocess files into PROMETHEUS_MULTIPROC_DIR (a fresh
directory under /tmp unless given; /tmp is the pod's writable emptyDir), so GET /metrics on any worker reports
the sum over all of them; child_exit drops a dead worker's gauges.
"""
from __future__ import annotations

import glob
import os
import shutil
import sys
import tempfile

# Before anything imports prometheus_client (importing `app` does), which reads this variable at import time.
_created_metrics_dir = not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if _created_metrics_dir:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="prometheus-")
_metrics_dir = os.environ["PROMETHEUS_MULTIPROC_DIR"]
if os.environ.get("APP_METRICS_DIR_PREPARED") != _metrics_dir:  # once, not again when a HUP reloads this file
    os.makedirs(_metrics_dir, exist_ok=True)
    for _stale in glob.glob(os.path.join(_metrics_dir, "*.db")):  # a given directory may hold an earlier run's
        os.remove(_stale)
    os.environ["APP_METRICS_DIR_PREPARED"] = _metrics_dir

from app.config import ConfigError, int_setting, load_settings, worker_threads  # noqa: E402
import app.factory  # noqa: E402,F401  # loaded once in the master: workers fork with every module in memory

# Fail before forking anything, with one line naming the bad variable.
try:
    _settings = load_settings()
    workers = int_setting(os.environ, "WEB_CONCURRENCY", 2, maximum=64)
    threads = worker_threads(os.environ)
    _port = int_setting(os.environ, "PORT", 8080)
    # On SIGTERM, seconds the workers get to finish the requests in flight (the pod's
    # terminationGracePeriodSeconds covers the preStop pause plus this); 25 fits Kubernetes' default 30 s.
    graceful_timeout = int_setting(os.environ, "GUNICORN_GRACEFUL_TIMEOUT", 25, maximum=3600)
except ConfigError as _error:
    print(f"configuration error: {_error}", file=sys.stderr)
    sys.exit(2)

bind = [f"0.0.0.0:{_port}"]
worker_class = "gthread"
keepalive = 5  # seconds an idle keep-alive connection stays open
timeout = 30
_drain_file = _settings.drain_file  # see pre_request
max_requests = 0
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
accesslog = None  # the app logs each request as JSON, with its request id
errorlog = "-"
loglevel = _settings.log_level.lower()
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "app.logs.JsonFormatter"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
    "loggers": {
        "gunicorn.error": {"handlers": ["stderr"], "level": _settings.log_level, "propagate": False},
        "gunicorn.access": {"handlers": [], "level": "CRITICAL", "propagate": False},
    },
    # the app attaches its own JSON handler to the root logger (app.logs.configure)
    "root": {"handlers": [], "level": _settings.log_level},
}


def pre_request(_worker: object, req: object) -> None:
    """While the pod drains (its preStop hook made DRAIN_FILE), answer with `Connection: close`: each keep-alive
    client reconnects, through the Service, to a pod that stays, before SIGTERM stops this one."""
    if _drain_file and os.path.exists(_drain_file):
        req.force_close()  # type: ignore[attr-defined]


def child_exit(_server: object, worker: object) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[attr-defined]


def on_exit(_server: object) -> None:
    if _created_metrics_dir:
        shutil.rmtree(_metrics_dir, ignore_errors=True)
