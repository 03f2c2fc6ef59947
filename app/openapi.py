"""The OpenAPI 3.1 description, generated from the registered routes and the pydantic models."""
from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, Flask, current_app, jsonify
from pydantic import BaseModel

from app.apidoc import Operation, Response, operation
from app.auth import PUBLIC_PATHS, SCHEME_NAME
from app.schemas import Error

blueprint = Blueprint("openapi", __name__)
_PATH_PARAMETER = re.compile(r"<(?:(\w+):)?(\w+)>")
_DOCUMENTED_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


@blueprint.get("/openapi.json")
@operation("This OpenAPI description", "meta", {200: Response("OpenAPI 3.1 document")})
def openapi_json() -> Any:
    return jsonify(current_app.extensions["openapi"])


def openapi_path(rule: str) -> str:
    return _PATH_PARAMETER.sub(lambda match: "{" + match.group(2) + "}", rule)


def build(app: Flask) -> dict[str, Any]:
    """Walk app.url_map; every route must carry an @operation (a missing one raises)."""
    schemas: dict[str, Any] = {}
    paths: dict[str, dict[str, Any]] = {}
    token_auth = app.config.get("API_AUTH") == "token"
    for rule in sorted(app.url_map.iter_rules(), key=lambda item: item.rule):
        if rule.endpoint == "static":
            continue
        view = app.view_functions[rule.endpoint]
        described: Operation | None = getattr(view, "openapi_operation", None)
        if described is None:
            raise RuntimeError(f"route {rule.rule} ({rule.endpoint}) has no @operation description")
        path = openapi_path(rule.rule)
        for method in sorted(rule.methods & set(_DOCUMENTED_METHODS)):
            described_operation = _operation(rule, described, schemas)
            if token_auth:
                _add_security(rule.rule, described_operation, schemas)
            paths.setdefault(path, {})[method.lower()] = described_operation
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": "Users API", "version": "1.0.0",
                 "description": "Users CRUD. Routes tagged legacy are the original tutorial's, kept for "
                                "compatibility and deprecated."},
        "paths": paths,
        "components": {"schemas": schemas},
    }
    if token_auth:
        document["components"]["securitySchemes"] = {SCHEME_NAME: {
            "type": "http", "scheme": "bearer",
            "description": "API_AUTH=token: send Authorization: Bearer <token> on every route but "
                           + ", ".join(sorted(PUBLIC_PATHS))}}
        document["security"] = [{SCHEME_NAME: []}]
    return document


def _add_security(rule: str, described: dict[str, Any], schemas: dict[str, Any]) -> None:
    """Public routes need no token; every other one may answer 401."""
    if rule in PUBLIC_PATHS:
        described["security"] = []
        return
    described["responses"]["401"] = _response(Response("missing or wrong token (WWW-Authenticate: Bearer)", Error,
                                                       headers={"WWW-Authenticate": "Bearer realm=\"users-api\""}),
                                              schemas)
    described["responses"] = dict(sorted(described["responses"].items(), key=lambda item: (item[0] == "default",
                                                                                           item[0])))


def _operation(rule: Any, described: Operation, schemas: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {"operationId": rule.endpoint.replace(".", "_"), "summary": described.summary,
                              "tags": [described.tag], "responses": {}}
    if described.deprecated:
        result["deprecated"] = True
    parameters = [{"name": name, "in": "path", "required": True,
                   "schema": {"type": "integer", "minimum": 0} if converter == "int" else {"type": "string"}}
                  for converter, name in _PATH_PARAMETER.findall(rule.rule)]
    if described.query is not None:
        query_schema = described.query.model_json_schema()
        for name, schema in query_schema["properties"].items():
            parameters.append({"name": name, "in": "query", "required": name in query_schema.get("required", []),
                               "schema": schema})
    if parameters:
        result["parameters"] = parameters
    if described.body is not None:
        result["requestBody"] = {"required": True,
                                 "content": {"application/json": {"schema": _reference(described.body, schemas)}}}
    for status, response in sorted(described.responses.items()):
        result["responses"][str(status)] = _response(response, schemas)
    if rule.rule != "/openapi.json":
        result["responses"]["default"] = {"description": "error", "content": {
            "application/json": {"schema": _reference(Error, schemas)}}}
    return result


def _response(response: Response, schemas: dict[str, Any]) -> dict[str, Any]:
    described: dict[str, Any] = {"description": response.description}
    if response.model is not None:
        schema = _reference(response.model, schemas)
        if response.array:
            schema = {"type": "array", "items": schema}
        described["content"] = {"application/json": {"schema": schema}}
    elif response.media_type is not None:
        described["content"] = {response.media_type: {"schema": {"type": "string"}}}
    if response.links:
        described["links"] = {name: {"operationId": endpoint.replace(".", "_"), "parameters": parameters}
                              for name, (endpoint, parameters) in response.links.items()}
    if response.headers:
        described["headers"] = {name: {"description": text, "schema": {"type": "string"}}
                                for name, text in response.headers.items()}
    return described


def _reference(model: type[BaseModel], schemas: dict[str, Any]) -> dict[str, str]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, definition in schema.pop("$defs", {}).items():
        schemas[name] = definition
    schemas[model.__name__] = schema
    return {"$ref": f"#/components/schemas/{model.__name__}"}
