"""Liveness and readiness.

/healthz: the process is alive (no database access); the liveness and startup probes.
/readyz: whether *this pod* should receive requests; the readiness probe. Not ready (503) while the pod drains
(DRAIN_FILE exists: the preStop hook made it, the pod is about to stop), when its credentials or TLS settings are
refused, or when the schema is older than its code expects (a rollout that ran ahead of its migration). Ready
while the database server is unreachable: every pod sees that alike, and taking them all out of the Service would
turn the API's JSON 503 + Retry-After into connection refused; the answer then says `"database": "unreachable"`.
"""
from __future__ import annotations

import logging
import os
from typing import Any

from flask import Blueprint, current_app, jsonify

from app.apidoc import Response, operation
from app.db import UNAVAILABLE_ERRORS, server_unreachable
from app.errors import error_response
from app.routes.common import database
from app.schemas import Error, Health

blueprint = Blueprint("health", __name__)
log = logging.getLogger(__name__)


def draining() -> bool:
    """The pod is stopping: its preStop hook created DRAIN_FILE."""
    drain_file = current_app.config.get("DRAIN_FILE")
    return bool(drain_file) and os.path.exists(drain_file)


@blueprint.get("/healthz")
@operation("The process is alive (does not touch the database)", "health",
           {200: Response("alive", Health)})
def healthz() -> Any:
    return jsonify({"status": "ok"})


@blueprint.get("/readyz")
@operation("This pod can serve: not draining, its database login works and the schema is at the expected version "
           "(an unreachable database server leaves it ready, answering 503 with Retry-After)", "health",
           {200: Response("ready", Health), 503: Response("not ready", Error)})
def readyz() -> Any:
    if draining():
        return error_response(503, "draining", "this pod is stopping; its requests go to the others")
    expected = current_app.config["SCHEMA_VERSION"]
    try:
        with database().cursor() as cur:
            cur.execute("SELECT COALESCE(MAX(version), 0) AS version FROM schema_migrations")
            version = int(cur.fetchone()["version"])
    except UNAVAILABLE_ERRORS as error:
        if not server_unreachable(error):
            raise  # this pod's own problem (login, TLS): 503 through the error handlers
        log.debug("readiness: database unreachable", extra={"error_class": type(error).__name__})
        return jsonify({"status": "ready", "database": "unreachable"})
    if version < expected:
        return error_response(503, "schema_outdated", f"schema at version {version}, expected {expected}")
    return jsonify({"status": "ready", "schema_version": version})
