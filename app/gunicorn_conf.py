"""gunicorn settings: gunicorn -c python:app.gunicorn_conf "app:create_app()"

Threaded workers (gthread) keep client connections alive; each worker process has its own
connection pool sized to its thread count. Logs are JSON lines on stderr.
"""
from __future__ import annotations

import os
import sys

from app.config import ConfigError, int_setting, load_settings, worker_threads

# Fail before forking anything, with one line naming the bad variable.
try:
    _settings = load_settings()
    workers = int_setting(os.environ, "WEB_CONCURRENCY", 2, maximum=64)
    threads = worker_threads(os.environ)
    _port = int_setting(os.environ, "PORT", 8080)
except ConfigError as _error:
    print(f"configuration error: {_error}", file=sys.stderr)
    sys.exit(2)

bind = [f"0.0.0.0:{_port}"]
worker_class = "gthread"
keepalive = 5
timeout = 30
graceful_timeout = 25  # below Kubernetes' default 30 s termination grace period
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
