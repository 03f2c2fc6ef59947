"""The REST surface, through Flask's test client, against the real database as the runtime user."""
from __future__ import annotations

from argon2 import PasswordHasher


def create(client, name="Ada Lovelace", email="ada@example.com", password="analytical-engine-1843"):
    return client.post("/users", json={"name": name, "email": email, "password": password})


def test_create_returns_201_location_and_no_password(client):
    response = create(client)
    assert response.status_code == 201
    body = response.get_json()
    assert set(body) == {"id", "name", "email", "created_at", "updated_at"}
    assert body["name"] == "Ada Lovelace" and body["email"] == "ada@example.com"
    assert body["created_at"].endswith("Z")
    assert response.headers["Location"] == f"/users/{body['id']}"
    assert "analytical-engine-1843" not in response.get_data(as_text=True)


def test_get_user_round_trips(client):
    created = create(client).get_json()
    response = client.get(f"/users/{created['id']}")
    assert response.status_code == 200
    assert response.get_json() == created


def test_password_is_stored_as_salted_hash(client, mariadb, migrated):
    create(client, email="one@example.com", password="same-password")
    create(client, email="two@example.com", password="same-password")
    with mariadb.admin_connection(database=migrated["MYSQL_DATABASE"]) as con, con.cursor() as cur:
        cur.execute("SELECT user_password FROM users ORDER BY user_id")
        hashes = [row[0] for row in cur.fetchall()]
    assert all(stored.startswith("$argon2id$") for stored in hashes)
    assert all(PasswordHasher().verify(stored, "same-password") for stored in hashes)
    assert hashes[0] != hashes[1]  # salted
    assert not any("same-password" in stored for stored in hashes)


def test_list_is_a_paginated_array_with_total_header(client):
    ids = [create(client, name=f"user {n}", email=f"user{n}@example.com").get_json()["id"] for n in range(5)]
    response = client.get("/users?limit=2&offset=1")
    assert response.status_code == 200
    assert response.headers["X-Total-Count"] == "5"
    assert [user["id"] for user in response.get_json()] == ids[1:3]
    everything = client.get("/users").get_json()
    assert [user["id"] for user in everything] == ids


def test_list_empty(client):
    response = client.get("/users")
    assert response.status_code == 200
    assert response.get_json() == []
    assert response.headers["X-Total-Count"] == "0"


def test_list_accepts_max_limit_and_offset_past_the_end(client):
    create(client)
    assert client.get("/users?limit=1000").status_code == 200
    response = client.get("/users?offset=50")
    assert response.get_json() == [] and response.headers["X-Total-Count"] == "1"


def test_put_replaces_all_fields(client):
    user_id = create(client).get_json()["id"]
    response = client.put(f"/users/{user_id}",
                          json={"name": "Grace Hopper", "email": "grace@example.com", "password": "cobol"})
    assert response.status_code == 200
    assert response.get_json()["name"] == "Grace Hopper"
    assert client.get(f"/users/{user_id}").get_json()["email"] == "grace@example.com"


def test_put_with_unchanged_values_is_200(client):
    user_id = create(client).get_json()["id"]
    same = {"name": "Ada Lovelace", "email": "ada@example.com", "password": "analytical-engine-1843"}
    assert client.put(f"/users/{user_id}", json=same).status_code == 200


def test_patch_changes_only_given_fields(client):
    user_id = create(client).get_json()["id"]
    response = client.patch(f"/users/{user_id}", json={"name": "Countess of Lovelace"})
    assert response.status_code == 200
    body = response.get_json()
    assert body["name"] == "Countess of Lovelace" and body["email"] == "ada@example.com"


def test_patch_password_only(client, mariadb, migrated):
    user_id = create(client).get_json()["id"]
    with mariadb.admin_connection(database=migrated["MYSQL_DATABASE"]) as con, con.cursor() as cur:
        cur.execute("SELECT user_password FROM users WHERE user_id = %s", (user_id,))
        before = cur.fetchone()[0]
        assert client.patch(f"/users/{user_id}", json={"password": "new-secret"}).status_code == 200
        cur.execute("SELECT user_password FROM users WHERE user_id = %s", (user_id,))
        assert cur.fetchone()[0] != before


def test_delete_returns_204_then_404(client):
    user_id = create(client).get_json()["id"]
    response = client.delete(f"/users/{user_id}")
    assert response.status_code == 204 and response.get_data() == b""
    assert client.get(f"/users/{user_id}").status_code == 404
    assert client.delete(f"/users/{user_id}").status_code == 404


def test_duplicate_email_is_409_case_insensitively(client):
    assert create(client).status_code == 201
    response = create(client, email="ADA@example.com")
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "duplicate_email"


def test_update_to_taken_email_is_409(client):
    create(client)
    other = create(client, email="other@example.com").get_json()["id"]
    assert client.patch(f"/users/{other}", json={"email": "ada@example.com"}).status_code == 409
    full = {"name": "x", "email": "ada@example.com", "password": "p"}
    assert client.put(f"/users/{other}", json=full).status_code == 409


def test_unknown_id_is_404_everywhere(client):
    full = {"name": "x", "email": "x@example.com", "password": "p"}
    for response in (client.get("/users/999999"), client.put("/users/999999", json=full),
                     client.patch("/users/999999", json={"name": "x"}), client.delete("/users/999999")):
        assert response.status_code == 404
        assert response.get_json()["error"]["code"] == "not_found"


def test_healthz_and_readyz(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ready", "schema_version": 1}


def test_readyz_is_503_when_schema_is_behind(app, client):
    app.config["SCHEMA_VERSION"] = 2
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "schema_outdated"


def test_request_id_is_honoured_or_generated(client):
    assert client.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers["X-Request-ID"] == "abc-123"
    generated = client.get("/healthz", headers={"X-Request-ID": "bad id\twith spaces"}).headers["X-Request-ID"]
    assert generated != "bad id\twith spaces" and len(generated) == 32
