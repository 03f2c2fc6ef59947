"""HTTP client for the users API, standard library only, so it runs in any image with python3.

The flask_api role's in-cluster smoke test runs it as a script in an API pod, and the end-to-end tests import it
(tests/e2e/e2e_api.py). As a script:

    python3 -c "$(cat api_client.py)" http://flask-service.flaskapi.svc.cluster.local:5000 [TOKEN]

it makes the tutorial's calls (ready, create, list, read, update and delete a user, then read it again), leaves
no row behind, prints one JSON line {"base": ..., "steps": [[call, HTTP status], ...], "failure": null or the
first failed check} and exits 1 on a failure. With a TOKEN (the API runs with API_AUTH=token) every call sends
`Authorization: Bearer TOKEN`; the token is never printed.
"""
from __future__ import annotations

import functools
import json
import sys
import time
import urllib.error
import urllib.request
from typing import Any


def call(base_url: str, method: str, path: str, body: Any = None, timeout: float = 10,
         token: str | None = None, headers_out: dict[str, str] | None = None) -> tuple[int, Any]:
    """Return (HTTP status, decoded JSON body or None); connection errors come back as status 0.
    With a token, the request carries `Authorization: Bearer <token>`; headers_out, when given, receives the
    response's headers."""
    data = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(base_url + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            if headers_out is not None:
                headers_out.update(response.headers.items())
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


def create_user(base_url: str, name: str, email: str, token: str | None = None) -> dict[str, Any]:
    status, body = call(base_url, "POST", "/users", {"name": name, "email": email, "password": "pw-" + name},
                        token=token)
    if status != 201:
        raise AssertionError(f"POST /users answered {status}: {body}")
    return body


def ready(base_url: str) -> bool:
    return call(base_url, "GET", "/readyz", timeout=5)[0] == 200


def roundtrip(base_url: str, steps: list[list[Any]], token: str | None = None) -> None:
    """The tutorial's calls, each checked; appends [call, status] to steps, raises AssertionError on the first miss."""
    api = functools.partial(call, token=token)

    def check(name: str, status: int, expected: int, body_ok: bool = True) -> None:
        steps.append([name, status])
        if status != expected or not body_ok:
            raise AssertionError(f"{name}: HTTP {status}, expected {expected}"
                                 + ("" if body_ok else " with the expected body"))

    email = f"roundtrip-{time.time_ns()}@example.com"
    check("GET /readyz", api(base_url, "GET", "/readyz")[0], 200)
    status, created = api(base_url, "POST", "/users", {"name": "Ada", "email": email, "password": "pw-for-ada"})
    check("POST /users", status, 201,
          isinstance(created, dict) and created.get("email") == email and "password" not in created)
    user_id = created["id"]
    # Users are listed by id, so on a busy API (other clients writing) the new user is among the last ones, not
    # on the first page: list the last 1000 of the count taken after the create.
    headers: dict[str, str] = {}
    api(base_url, "GET", "/users?limit=1", headers_out=headers)
    total = int(headers.get("X-Total-Count") or 0)
    status, listed = api(base_url, "GET", f"/users?limit=1000&offset={max(0, total - 1000)}")
    check("GET /users", status, 200, isinstance(listed, list) and any(user.get("id") == user_id for user in listed))
    status, read = api(base_url, "GET", f"/users/{user_id}")
    check("GET /users/<id>", status, 200, isinstance(read, dict) and read.get("email") == email)
    status, updated = api(base_url, "PUT", f"/users/{user_id}",
                          {"name": "Ada Lovelace", "email": email, "password": "pw-for-ada-2"})
    check("PUT /users/<id>", status, 200, isinstance(updated, dict) and updated.get("name") == "Ada Lovelace")
    check("DELETE /users/<id>", api(base_url, "DELETE", f"/users/{user_id}")[0], 204)
    check("GET /users/<id> after delete", api(base_url, "GET", f"/users/{user_id}")[0], 404)


def main(argv: list[str]) -> int:
    base_url = argv[1].rstrip("/")
    token = argv[2] if len(argv) > 2 and argv[2] else None
    steps: list[list[Any]] = []
    failure = None
    try:
        roundtrip(base_url, steps, token)
    except (AssertionError, KeyError, TypeError) as error:
        failure = str(error)
    print(json.dumps({"base": base_url, "steps": steps, "failure": failure}))
    return 1 if failure else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
