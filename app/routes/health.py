"""Liveness and readiness."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify

from app.apidoc import Response, operation
from app.errors import error_response
from app.routes.common import database
from app.schemas import Error, Health

blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
@operation("The process is alive (does not touch the database)", "health",
           {200: Response("alive", Health)})
def healthz() -> Any:
    return jsonify({"status": "ok"})


@blueprint.get("/readyz")
@operation("The database is reachable and the schema is at the expected version", "health",
           {200: Response("ready", Health), 503: Response("not ready", Error)})
def readyz() -> Any:
    expected = current_app.config["SCHEMA_VERSION"]
    with database().cursor() as cur:
        cur.execute("SELECT COALESCE(MAX(version), 0) AS version FROM schema_migrations")
        version = int(cur.fetchone()["version"])
    if version < expected:
        return error_response(503, "schema_outdated", f"schema at version {version}, expected {expected}")
    return jsonify({"status": "ready", "schema_version": version})
