"""Builds the Flask application: settings, database pool, blueprints, errors, logs, metrics, auth, OpenAPI."""
from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from flask import Flask, g, request

from app import auth, errors, logs, metrics, openapi
from app.config import load_settings
from app.db import Database
from app.migrations import expected_version
from app.routes import health, legacy, users
from app.routes import metrics as metrics_routes

MAX_BODY_BYTES = 1024 * 1024
access_log = logging.getLogger("app.access")


def build(env: Mapping[str, str] | None = None) -> Flask:
    """The application, from environment variables (os.environ unless `env` is given)."""
    settings = load_settings(env)
    logs.configure(settings.log_level)
    app = Flask(__name__)
    app.config.update(
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
        SCHEMA_VERSION=expected_version(),
        API_AUTH=settings.auth.mode,
        DRAIN_FILE=settings.drain_file,
        RETRY_AFTER=settings.retry_after,
    )
    app.json.sort_keys = False
    app.extensions["users_db"] = Database(settings.db, settings.pool_size)

    app.register_blueprint(health.blueprint)
    app.register_blueprint(users.blueprint)
    if settings.legacy_routes:
        app.register_blueprint(legacy.blueprint)
    app.register_blueprint(metrics_routes.blueprint)
    app.register_blueprint(openapi.blueprint)
    errors.register(app)
    _register_request_logging(app)  # first: a refused request is logged and counted too
    metrics.register(app, settings.pool_size)
    auth.register(app, settings.auth)
    app.extensions["openapi"] = openapi.build(app)
    return app


def _register_request_logging(app: Flask) -> None:
    @app.before_request
    def start() -> None:
        g.request_id = logs.request_id_from(request.headers.get("X-Request-ID"))
        g.request_id_token = logs.request_id_var.set(g.request_id)
        g.started = time.perf_counter()

    @app.after_request
    def finish(response: Any) -> Any:
        request_id = g.get("request_id")
        if request_id is not None:
            response.headers["X-Request-ID"] = request_id
            access_log.info("request", extra={
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - g.started) * 1000, 2),
                "remote_addr": request.remote_addr,
            })
        return response

    @app.teardown_request
    def forget(_error: BaseException | None) -> None:
        token = g.pop("request_id_token", None)
        if token is not None:
            logs.request_id_var.reset(token)
