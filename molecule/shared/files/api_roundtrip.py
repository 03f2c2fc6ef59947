"""The tutorial's create, list, read, update and delete calls against the API, from inside the cluster.

Run with the API image's python, in an API pod:  python3 -c "$(cat api_roundtrip.py)" http://SERVICE:PORT
Prints one JSON object: {"steps": [[name, HTTP status], ...], "failure": null or the first failed check}.
Standard library only, so it runs in any image with python3.
"""
import json
import sys
import time
import urllib.error
import urllib.request


def call(base, method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        raw = error.read()
        try:
            return error.code, json.loads(raw) if raw else None
        except ValueError:
            return error.code, raw.decode(errors="replace")


def roundtrip(base, steps):
    def check(name, status, expected, condition=True):
        steps.append([name, status])
        if status != expected or not condition:
            raise AssertionError(f"{name}: HTTP {status}, expected {expected}" +
                                 ("" if condition else " with the expected body"))

    email = f"molecule-{time.time_ns()}@example.com"
    status, _ = call(base, "GET", "/readyz")
    check("GET /readyz", status, 200)
    status, created = call(base, "POST", "/users", {"name": "Ada", "email": email, "password": "pw-for-ada"})
    check("POST /users", status, 201, isinstance(created, dict) and created.get("email") == email
          and "password" not in created)
    user_id = created["id"]
    status, listed = call(base, "GET", "/users?limit=1000")
    check("GET /users", status, 200, any(user.get("id") == user_id for user in listed or []))
    status, read = call(base, "GET", f"/users/{user_id}")
    check("GET /users/<id>", status, 200, isinstance(read, dict) and read.get("name") == "Ada")
    status, updated = call(base, "PUT", f"/users/{user_id}",
                           {"name": "Ada Lovelace", "email": email, "password": "pw-for-ada-2"})
    check("PUT /users/<id>", status, 200, isinstance(updated, dict) and updated.get("name") == "Ada Lovelace")
    status, _ = call(base, "DELETE", f"/users/{user_id}")
    check("DELETE /users/<id>", status, 204)
    status, _ = call(base, "GET", f"/users/{user_id}")
    check("GET /users/<id> after delete", status, 404)


def main():
    base = sys.argv[1].rstrip("/")
    steps, failure = [], None
    try:
        roundtrip(base, steps)
    except (AssertionError, OSError, ValueError, KeyError, TypeError) as error:
        failure = str(error)
    print(json.dumps({"steps": steps, "failure": failure}))
    return 1 if failure else 0


if __name__ == "__main__":
    sys.exit(main())
