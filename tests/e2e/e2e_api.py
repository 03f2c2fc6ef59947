"""A small HTTP client for the users API (standard library only)."""
from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any


def call(base_url: str, method: str, path: str, body: Any = None, timeout: float = 10) -> tuple[int, Any]:
    """Return (HTTP status, decoded JSON body or None); connection errors come back as status 0."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base_url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read()
            return response.status, (json.loads(raw) if raw else None)
    except urllib.error.HTTPError as error:
        raw = error.read()
        try:
            return error.code, (json.loads(raw) if raw else None)
        except ValueError:
            return error.code, raw.decode(errors="replace")
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return 0, None


def create_user(base_url: str, name: str, email: str) -> dict[str, Any]:
    status, body = call(base_url, "POST", "/users", {"name": name, "email": email, "password": "pw-" + name})
    assert status == 201, f"POST /users answered {status}: {body}"
    return body


def ready(base_url: str) -> bool:
    return call(base_url, "GET", "/readyz", timeout=5)[0] == 200
