"""The OpenAPI description is valid and matches the routes Flask really serves."""
from __future__ import annotations

import jsonschema_rs
import pytest
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


EMAILS = [  # (address, valid): limits at and just past each bound, shapes a loose validator would let through
    ("ada@example.com", True), ("e" * 64 + "@example.com", True), ("e" * 65 + "@example.com", False),
    ("a@" + "d" * 63 + ".org", True), ("a@" + "d" * 64 + ".org", False),
    ("a@" + ".".join(["d" * 63] * 3) + "." + "c" * 60, True),  # 254 characters
    ("a@" + ".".join(["d" * 63] * 3) + "." + "c" * 61, False),  # 255 characters
    ("first.last+tag@sub.example.co", True), (".lead@example.com", False), ("trail.@example.com", False),
    ("a@example", False), ("a@-x.com", False), ("a@x-.com", False), ("a@x.1com", False), ("a b@x.com", False),
    ("ada@example.com\n", False), ("adä@example.com", False), ("a@exämple.com", False),
]


@pytest.mark.parametrize("email, valid", EMAILS)
def test_description_and_api_agree_on_every_email(client, email, valid):
    document = client.get("/openapi.json").get_json()
    described = document["components"]["schemas"]["UserCreate"]["properties"]["email"]
    # jsonschema_rs: patterns with ECMA-262 semantics, as JSON Schema says ($ never matches before a final \n)
    assert jsonschema_rs.validator_for(described).is_valid(email) is valid
    response = client.post("/users", json={"name": "n", "email": email, "password": "p"})
    assert response.status_code == (201 if valid else 422), response.get_json()


def test_patch_fields_are_optional_but_never_null(client):
    document = client.get("/openapi.json").get_json()
    patch = document["components"]["schemas"]["UserPatch"]
    assert patch["minProperties"] == 1 and "required" not in patch
    assert all("anyOf" not in field and "default" not in field for field in patch["properties"].values())
    user = client.post("/users", json={"name": "n", "email": "n@example.com", "password": "p"}).get_json()
    for field in ("name", "email", "password"):
        response = client.patch(f"/users/{user['id']}", json={field: None})
        assert response.status_code == 422
        assert field in response.get_json()["error"]["fields"]
    assert client.patch(f"/users/{user['id']}", json={}).status_code == 422


def test_error_codes_are_enumerated_and_fields_never_null(client):
    schemas = client.get("/openapi.json").get_json()["components"]["schemas"]
    detail = schemas["ErrorDetail"]
    assert {"validation_error", "not_found", "unauthorized", "database_unavailable"} <= set(
        detail["properties"]["code"]["enum"])
    assert detail["properties"]["fields"]["type"] == "object" and detail["additionalProperties"] is False
    assert schemas["User"]["additionalProperties"] is False


def test_no_security_scheme_when_auth_is_off(client):
    document = client.get("/openapi.json").get_json()
    assert "security" not in document and "securitySchemes" not in document["components"]
