"""The users API: a Flask application factory.

    gunicorn -c python:app.gunicorn_conf "app:create_app()"

Importing this package loads nothing else: gunicorn's master imports it for app.gunicorn_conf, which must set
PROMETHEUS_MULTIPROC_DIR before prometheus_client is first imported (the workers import it in create_app).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask


def create_app(env: Mapping[str, str] | None = None) -> Flask:
    """Build the application from environment variables (os.environ unless `env` is given)."""
    from app.factory import build

    return build(env)
