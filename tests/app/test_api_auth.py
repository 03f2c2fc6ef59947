"""API_AUTH=token: Bearer tokens on every route but the public ones, 401 in the API's error format, hashes only."""
from __future__ import annotations

import hashlib
import logging

import pytest

from app import create_app
from app.config import ConfigError, load_settings
from app.logs import JsonFormatter

TOKENS = ["first-token-4f9c2a7e1b8d6350ca91", "second-token-77d0e3b5a2c84f19e6b0"]
PUBLIC = ["/", "/healthz", "/readyz", "/metrics", "/openapi.json"]


def sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@pytest.fixture()
def secured(app_env, migrated, clean_users):
    application = create_app({**app_env, "API_AUTH": "token",
                              "API_TOKEN_HASHES": "\n".join(sha256(token) for token in TOKENS) + "\n"})
    yield application.test_client()
    application.extensions["users_db"].close()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("headers", [{}, bearer("wrong-token"), bearer(""), {"Authorization": "Bearer"},
                                     {"Authorization": f"Basic {TOKENS[0]}"}, {"Authorization": TOKENS[0]},
                                     bearer(sha256(TOKENS[0]))])
def test_missing_or_wrong_token_is_401_json_with_www_authenticate(secured, headers):
    for method, path in [("get", "/users"), ("post", "/users"), ("get", "/users/1"), ("delete", "/users/1"),
                         ("post", "/create"), ("get", "/nowhere")]:
        response = getattr(secured, method)(path, headers=headers, json={})
        assert response.status_code == 401, (method, path)
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert response.get_json() == {"error": {
            "code": "unauthorized", "message": "a valid token is required: send Authorization: Bearer <token>"}}


def test_every_listed_token_is_accepted(secured):
    for number, token in enumerate(TOKENS):
        created = secured.post("/users", headers=bearer(token),
                               json={"name": "n", "email": f"n{number}@example.com", "password": "p"})
        assert created.status_code == 201
        assert secured.get(created.headers["Location"], headers=bearer(token)).status_code == 200


@pytest.mark.parametrize("path", PUBLIC)
def test_public_routes_need_no_token(secured, path):
    assert secured.get(path).status_code == 200


def test_description_names_the_scheme_and_the_open_routes(secured):
    document = secured.get("/openapi.json").get_json()
    assert document["components"]["securitySchemes"]["bearerToken"] == {
        "type": "http", "scheme": "bearer", "description": document["components"]["securitySchemes"][
            "bearerToken"]["description"]}
    assert document["security"] == [{"bearerToken": []}]
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if path.replace("{user_id}", "<int:user_id>") in PUBLIC:
                assert operation["security"] == [], (method, path)
            else:
                assert "security" not in operation and "401" in operation["responses"], (method, path)


def test_tokens_never_reach_the_log(secured, caplog):
    caplog.set_level(logging.DEBUG)
    secured.get("/users", headers=bearer(TOKENS[0]))
    secured.get("/users", headers=bearer("wrong-" + TOKENS[1]))
    lines = [JsonFormatter().format(record) for record in caplog.records]
    assert any('"status": 401' in line for line in lines) and any('"status": 200' in line for line in lines)
    for line in lines:
        assert TOKENS[0] not in line and TOKENS[1] not in line and "Bearer" not in line


BASE = {"MYSQL_HOST": "db", "MYSQL_DATABASE": "users", "MYSQL_USER": "app", "MYSQL_PASSWORD": "pw"}


@pytest.mark.parametrize("env, message", [
    ({"API_AUTH": "basic"}, "API_AUTH must be one of none, token"),
    ({"API_AUTH": "token"}, "API_TOKEN_HASHES (or API_TOKEN_HASHES_FILE) is required when API_AUTH is token"),
    ({"API_AUTH": "token", "API_TOKEN_HASHES": TOKENS[0]}, "not the tokens themselves"),
])
def test_auth_settings_errors_name_the_variable(env, message):
    with pytest.raises(ConfigError) as error:
        load_settings({**BASE, **env})
    assert message in str(error.value)
    assert TOKENS[0] not in str(error.value)


def test_token_hashes_file_is_read(tmp_path):
    hashes = tmp_path / "hashes"
    hashes.write_text(f"{sha256(TOKENS[0])}\n{sha256(TOKENS[1]).upper()}\n")
    settings = load_settings({**BASE, "API_AUTH": "token", "API_TOKEN_HASHES_FILE": str(hashes)})
    assert settings.auth.token_hashes == (sha256(TOKENS[0]), sha256(TOKENS[1]))
    assert sha256(TOKENS[0]) not in repr(settings)
