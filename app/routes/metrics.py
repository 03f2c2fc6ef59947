"""Prometheus metrics (app/metrics.py), open like the probes so a scraper needs no token."""
from __future__ import annotations

from typing import Any

from flask import Blueprint

from app import metrics
from app.apidoc import Response, operation

blueprint = Blueprint("metrics", __name__)


@blueprint.get("/metrics")
@operation("Prometheus metrics of all worker processes (text exposition format 0.0.4)", "meta",
           {200: Response("metrics", media_type="text/plain")})
def prometheus_metrics() -> Any:
    return metrics.metrics_response()
