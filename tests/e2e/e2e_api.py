"""The users API's HTTP client, as the tests use it: the flask_api role's own module (roles/flask_api/files/
api_client.py, which its in-cluster smoke test runs), so the tests and the smoke test call the API one way."""
from __future__ import annotations

import sys

from e2e_settings import REPO

sys.path.insert(0, str(REPO / "roles" / "flask_api" / "files"))

from api_client import call, create_user, ready, roundtrip  # noqa: E402

__all__ = ["call", "create_user", "ready", "roundtrip"]
