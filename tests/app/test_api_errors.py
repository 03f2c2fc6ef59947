"""Server-side failures reach the client as generic JSON: no traceback, SQL or driver text."""
from __future__ import annotations

import time

import pymysql
import pytest

from app import create_app, users_store
from mariadb_server import free_port

SQL_TEXT = "You have an error in your SQL syntax near 'SELECT user_password FROM users'"


def assert_generic(response, status: int, code: str) -> None:
    assert response.status_code == status
    assert response.get_json()["error"]["code"] == code
    text = response.get_data(as_text=True)
    for leak in ("Traceback", "SQL", "SELECT", "pymysql", "ProgrammingError", "user_password"):
        assert leak not in text


def test_unexpected_database_error_is_a_generic_500(client, monkeypatch):
    def broken(*_args, **_kwargs):
        raise pymysql.err.ProgrammingError(1064, SQL_TEXT)
    monkeypatch.setattr(users_store, "get", broken)
    assert_generic(client.get("/users/1"), 500, "internal_error")


def test_unexpected_python_error_is_a_generic_500(client, monkeypatch):
    def broken(*_args, **_kwargs):
        raise KeyError("user_password")
    monkeypatch.setattr(users_store, "page", broken)
    assert_generic(client.get("/users"), 500, "internal_error")


@pytest.mark.parametrize("method, path, body", [
    ("get", "/users/1", None), ("get", "/users", None), ("delete", "/users/1", None),
    ("post", "/users", {"name": "n", "email": "n@example.com", "password": "p"}),
    ("post", "/create", {"name": "n", "email": "n@example.com", "pwd": "p"}),
])
def test_unreachable_database_is_503_with_retry_after(app_env, method, path, body):
    application = create_app({**app_env, "MYSQL_PORT": str(free_port())})
    try:
        response = getattr(application.test_client(), method)(path, json=body)
        assert_generic(response, 503, "database_unavailable")
        assert response.headers["Retry-After"] == "2"
        assert application.test_client().get("/healthz").status_code == 200
    finally:
        application.extensions["users_db"].close()


def test_unreachable_database_leaves_the_pod_ready(app_env):
    """Every pod sees the same down database: readiness stays, so the Service keeps answering JSON 503s."""
    application = create_app({**app_env, "MYSQL_PORT": str(free_port()), "RETRY_AFTER_SECONDS": "5"})
    try:
        client = application.test_client()
        ready = client.get("/readyz")
        assert ready.status_code == 200
        assert ready.get_json() == {"status": "ready", "database": "unreachable"}
        assert client.get("/users/1").headers["Retry-After"] == "5"
    finally:
        application.extensions["users_db"].close()


def test_unreachable_database_is_tried_once_per_recheck_interval(app_env, monkeypatch):
    """While the server is down, requests fail at once instead of each waiting for its own connect."""
    application = create_app({**app_env, "MYSQL_PORT": str(free_port())})
    db = application.extensions["users_db"]
    attempts = []
    connect = db._pool.connection

    def counted(*args, **kwargs):
        attempts.append(time.monotonic())
        return connect(*args, **kwargs)

    monkeypatch.setattr(db._pool, "connection", counted)
    try:
        client = application.test_client()
        for _ in range(5):
            response = client.get("/users/1")
            assert_generic(response, 503, "database_unavailable")
            assert response.headers["Retry-After"] == "2"
        assert client.get("/readyz").get_json() == {"status": "ready", "database": "unreachable"}
        assert len(attempts) == 1
        db._unreachable = (time.monotonic(), db._unreachable[1])  # the recheck interval has passed
        assert_generic(client.get("/users/1"), 503, "database_unavailable")
        assert len(attempts) == 2
    finally:
        db.close()


def test_api_answers_again_once_the_recheck_interval_has_passed(app_env, migrated):
    """The server back: the first request after the interval reaches it, and the API is whole again."""
    application = create_app(app_env)
    db = application.extensions["users_db"]
    try:
        client = application.test_client()
        db._unreachable = (time.monotonic() + 60, pymysql.err.OperationalError(2003, "Can't connect"))
        assert_generic(client.get("/users"), 503, "database_unavailable")
        db._unreachable = (time.monotonic(), db._unreachable[1])
        assert client.get("/users").status_code == 200
        assert db._unreachable is None
        assert client.get("/users").status_code == 200
    finally:
        db.close()


def test_refused_login_takes_the_pod_out(app_env, migrated):
    """A wrong password is this pod's own problem (for example a pod left with an old Secret): not ready."""
    application = create_app({**app_env, "MYSQL_PASSWORD": "not-the-password"})
    try:
        response = application.test_client().get("/readyz")
        assert_generic(response, 503, "database_unavailable")
        assert response.headers["Retry-After"] == "2"
    finally:
        application.extensions["users_db"].close()


def test_draining_pod_is_not_ready_but_still_serves(app_env, migrated, tmp_path):
    drain_file = tmp_path / "draining"
    application = create_app({**app_env, "DRAIN_FILE": str(drain_file)})
    try:
        client = application.test_client()
        assert client.get("/readyz").status_code == 200
        drain_file.touch()
        response = client.get("/readyz")
        assert_generic(response, 503, "draining")
        assert response.headers["Retry-After"] == "2"
        assert client.get("/users?limit=1").status_code == 200  # requests still arriving are answered
    finally:
        application.extensions["users_db"].close()


def test_database_without_schema_is_503_until_migrated(app_env, migrated, mariadb):
    empty = app_env["MYSQL_DATABASE"] + "_empty"
    with mariadb.admin_connection() as con, con.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{empty}`")
        cur.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON `{empty}`.* TO %s@'%%'", (app_env["MYSQL_USER"],))
    application = create_app({**app_env, "MYSQL_DATABASE": empty})
    try:
        client = application.test_client()
        assert_generic(client.get("/readyz"), 503, "schema_missing")
        assert_generic(client.get("/users/1"), 503, "schema_missing")
    finally:
        application.extensions["users_db"].close()
        with mariadb.admin_connection() as con, con.cursor() as cur:
            cur.execute(f"REVOKE ALL PRIVILEGES ON `{empty}`.* FROM %s@'%%'", (app_env["MYSQL_USER"],))
            cur.execute(f"DROP DATABASE `{empty}`")
