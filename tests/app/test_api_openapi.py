"""The OpenAPI description is valid and matches the routes Flask really serves."""
from __future__ import annotations

from openapi_spec_validator import validate

from app.openapi import openapi_path

DOCUMENTED = {"GET", "POST", "PUT", "PATCH", "DELETE"}


def served_operations(app) -> set[tuple[str, str]]:
    return {(openapi_path(rule.rule), method.lower())
            for rule in app.url_map.iter_rules() if rule.endpoint != "static"
            for method in rule.methods & DOCUMENTED}


def test_document_is_valid_openapi(client):
    document = client.get("/openapi.json").get_json()
    validate(document)
    assert document["openapi"].startswith("3.")


def test_every_route_is_described_and_nothing_else(app, client):
    document = client.get("/openapi.json").get_json()
    described = {(path, method) for path, item in document["paths"].items() for method in item}
    assert described == served_operations(app)
    assert ("/users/{user_id}", "patch") in described


def test_legacy_routes_and_only_they_are_deprecated(client):
    paths = client.get("/openapi.json").get_json()["paths"]
    deprecated = {path for path, item in paths.items() for operation in item.values() if operation.get("deprecated")}
    assert deprecated == {"/", "/create", "/user/{user_id}", "/update", "/delete/{user_id}"}


def test_password_is_write_only_and_absent_from_user(client):
    schemas = client.get("/openapi.json").get_json()["components"]["schemas"]
    assert schemas["UserCreate"]["properties"]["password"]["writeOnly"] is True
    assert "password" not in schemas["User"]["properties"]
    assert schemas["UserCreate"]["properties"]["name"]["maxLength"] == 255
