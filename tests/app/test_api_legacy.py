"""The tutorial's routes with its exact requests, and switching them off."""
from __future__ import annotations

import pytest

from app import create_app


def test_tutorial_request_sequence(client):
    """create, list, get, update, delete: the requests from the original tutorial's README."""
    response = client.post("/create", json={"name": "Jane", "email": "jane@example.com", "pwd": "jane-pw"})
    assert response.status_code == 200
    assert response.get_json() == {"message": "User added successfully!"}

    users = client.get("/users").get_json()
    assert len(users) == 1
    user_id = users[0]["id"]

    assert client.get(f"/user/{user_id}").get_json() == {
        "user_id": user_id, "user_name": "Jane", "user_email": "jane@example.com"}

    response = client.post("/update", json={"name": "Jane Doe", "email": "jane.doe@example.com",
                                            "pwd": "new-pw", "user_id": user_id})
    assert response.status_code == 200
    assert response.get_json() == {"message": "User updated successfully!"}
    assert client.get(f"/user/{user_id}").get_json()["user_name"] == "Jane Doe"

    response = client.get(f"/delete/{user_id}")
    assert response.status_code == 200
    assert response.get_json() == {"message": "User deleted successfully!"}
    assert client.get(f"/user/{user_id}").status_code == 404
    assert client.get("/").get_json() == {"message": "Hello from the users API"}


def test_legacy_responses_never_carry_the_password(client):
    client.post("/create", json={"name": "Jane", "email": "jane@example.com", "pwd": "jane-pw"})
    user_id = client.get("/users").get_json()[0]["id"]
    for response in (client.get(f"/user/{user_id}"), client.get("/users")):
        assert "jane-pw" not in response.get_data(as_text=True)
        assert "argon2" not in response.get_data(as_text=True)


@pytest.mark.parametrize("body, status", [
    ({"name": "J", "email": "j@example.com"}, 422),
    ({"name": "J", "email": "bad", "pwd": "p"}, 422),
    ({"name": 1, "email": "j@example.com", "pwd": "p"}, 422),
])
def test_legacy_create_bad_input(client, body, status):
    response = client.post("/create", json=body)
    assert response.status_code == status
    assert "error" in response.get_json()


def test_legacy_create_duplicate_is_409(client):
    body = {"name": "J", "email": "j@example.com", "pwd": "p"}
    assert client.post("/create", json=body).status_code == 200
    assert client.post("/create", json=body).status_code == 409


@pytest.mark.parametrize("user_id", ["1", None, 0, -3, 1.5, True])
def test_legacy_update_needs_a_positive_integer_id(client, user_id):
    response = client.post("/update", json={"name": "J", "email": "j@example.com", "pwd": "p", "user_id": user_id})
    assert response.status_code == 422
    assert "user_id" in response.get_json()["error"]["fields"]


def test_legacy_update_and_delete_unknown_ids_are_404(client):
    body = {"name": "J", "email": "j@example.com", "pwd": "p", "user_id": 424242}
    assert client.post("/update", json=body).status_code == 404
    assert client.get("/delete/424242").status_code == 404
    assert client.get("/delete/abc").status_code == 404


def test_legacy_routes_can_be_switched_off(app_env, migrated, clean_users):
    application = create_app({**app_env, "LEGACY_ROUTES": "false"})
    client = application.test_client()
    try:
        assert client.post("/create", json={"name": "J", "email": "j@example.com", "pwd": "p"}).status_code == 404
        for path in ("/", "/user/1", "/delete/1"):
            assert client.get(path).status_code == 404
        assert client.get("/users").status_code == 200
        assert "/create" not in client.get("/openapi.json").get_json()["paths"]
    finally:
        application.extensions["users_db"].close()
