"""Every kind of bad input gets a JSON error with the right status, never a traceback or driver text."""
from __future__ import annotations

import json

import pytest

VALID = {"name": "Ada", "email": "ada@example.com", "password": "secret-pw"}


def error_of(response) -> dict:
    body = response.get_json()
    assert set(body) == {"error"}, body
    assert {"code", "message"} <= set(body["error"])
    text = response.get_data(as_text=True)
    for leak in ("Traceback", "pymysql", "SELECT ", "INSERT ", "IntegrityError", "secret-pw"):
        assert leak not in text
    return body["error"]


@pytest.mark.parametrize("field, value", [
    ("name", ""), ("name", "x" * 256), ("name", 42), ("name", None), ("name", ["a"]),
    ("email", "not-an-email"), ("email", "a@"), ("email", 5), ("email", "x" * 250 + "@example.com"),
    ("password", ""), ("password", "p" * 1025), ("password", 12345), ("password", {"a": 1}),
])
def test_invalid_field_is_422_naming_the_field(client, field, value):
    response = client.post("/users", json={**VALID, field: value})
    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "validation_error"
    assert field in error["fields"]


@pytest.mark.parametrize("missing", ["name", "email", "password"])
def test_missing_field_is_422(client, missing):
    body = {key: value for key, value in VALID.items() if key != missing}
    response = client.post("/users", json=body)
    assert response.status_code == 422
    assert missing in error_of(response)["fields"]


def test_unknown_field_is_422(client):
    response = client.post("/users", json={**VALID, "is_admin": True})
    assert response.status_code == 422
    assert "is_admin" in error_of(response)["fields"]


def test_limits_are_inclusive(client):
    body = {"name": "n" * 255, "email": "e" * 64 + "@example.com", "password": "p" * 1024}
    assert client.post("/users", json=body).status_code == 201


@pytest.mark.parametrize("payload", [b"[]", b"[1, 2]", b'"text"', b"42", b"null", b"true"])
def test_body_that_is_not_an_object_is_400(client, payload):
    response = client.post("/users", data=payload, content_type="application/json")
    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid_body"


@pytest.mark.parametrize("payload", [b"{", b"{'name': 'x'}", b"", b"\xff\xfe", b'{"name": "x",}'])
def test_malformed_json_is_400(client, payload):
    response = client.post("/users", data=payload, content_type="application/json")
    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid_json"


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
def test_non_json_content_type_is_415(client, content_type):
    response = client.post("/users", data=json.dumps(VALID), content_type=content_type)
    assert response.status_code == 415
    assert error_of(response)["code"] == "unsupported_media_type"


def test_body_over_one_mebibyte_is_413(client):
    huge = json.dumps({**VALID, "name": "x" * (1024 * 1024)})
    response = client.post("/users", data=huge, content_type="application/json")
    assert response.status_code == 413
    assert error_of(response)["code"] == "payload_too_large"


@pytest.mark.parametrize("path", ["/users/abc", "/users/-1", "/users/1.5", "/users/", "/user/abc", "/nope"])
def test_non_numeric_or_unknown_paths_are_404(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


def test_huge_id_is_404(client):
    assert client.get("/users/" + "9" * 30).status_code == 404


def test_wrong_method_is_405_with_allow(client):
    response = client.post("/users/1", json=VALID)
    assert response.status_code == 405
    assert error_of(response)["code"] == "method_not_allowed"
    assert "GET" in response.headers["Allow"]
    assert client.delete("/users").status_code == 405


@pytest.mark.parametrize("query", ["limit=0", "limit=1001", "limit=abc", "offset=-1", "offset=x", "limit=1.5"])
def test_bad_pagination_is_422(client, query):
    response = client.get(f"/users?{query}")
    assert response.status_code == 422
    assert error_of(response)["code"] == "validation_error"


@pytest.mark.parametrize("body", [{}, {"name": None}, {"unknown": 1}])
def test_patch_needs_a_real_field(client, body):
    user_id = client.post("/users", json=VALID).get_json()["id"]
    response = client.patch(f"/users/{user_id}", json=body)
    assert response.status_code == 422


@pytest.mark.parametrize("name", [
    "Robert'); DROP TABLE users;--",
    "' OR '1'='1",
    "\" OR 1=1 -- ",
    "x\\'; SELECT SLEEP(5); --",
    "名前 🙂 \u0000 end",
])
def test_injection_strings_are_stored_verbatim(client, name):
    created = client.post("/users", json={**VALID, "name": name})
    assert created.status_code == 201
    assert client.get(f"/users/{created.get_json()['id']}").get_json()["name"] == name
    assert client.get("/users").headers["X-Total-Count"] == "1"
