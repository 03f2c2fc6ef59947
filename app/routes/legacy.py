"""The original tutorial's routes, kept so its exact requests still work (LEGACY_ROUTES=false removes them).

Deprecated: use the REST routes in app/routes/users.py. The tutorial's GET /users is served by the REST route.
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from app import users_store
from app.apidoc import Response, operation
from app.routes.common import BAD_INPUT, DUPLICATE, NOT_FOUND, UNAVAILABLE, database, json_body, not_found
from app.schemas import LegacyCreate, LegacyUpdate, LegacyUser, Message

blueprint = Blueprint("legacy", __name__)

_ERRORS = {**BAD_INPUT, **DUPLICATE, **UNAVAILABLE}


@blueprint.get("/")
@operation("Hello (tutorial)", "legacy", {200: Response("greeting", Message)}, deprecated=True)
def hello() -> Any:
    return jsonify({"message": "Hello from the users API"})


@blueprint.post("/create")
@operation("Create a user (tutorial; use POST /users)", "legacy",
           {200: Response("created", Message), **_ERRORS}, body=LegacyCreate, deprecated=True)
def create() -> Any:
    body = json_body(LegacyCreate)
    users_store.create(database(), body.name, body.email, body.pwd)
    return jsonify({"message": "User added successfully!"})


@blueprint.get("/user/<int:user_id>")
@operation("Get one user (tutorial; use GET /users/{user_id})", "legacy",
           {200: Response("the user", LegacyUser), **NOT_FOUND, **UNAVAILABLE}, deprecated=True)
def user(user_id: int) -> Any:
    row = users_store.get(database(), user_id)
    if row is None:
        raise not_found(user_id)
    return jsonify({"user_id": row["user_id"], "user_name": row["user_name"], "user_email": row["user_email"]})


@blueprint.post("/update")
@operation("Update a user (tutorial; use PUT /users/{user_id})", "legacy",
           {200: Response("updated", Message), **NOT_FOUND, **_ERRORS},
           body=LegacyUpdate, deprecated=True)
def update() -> Any:
    body = json_body(LegacyUpdate)
    if not users_store.update(database(), body.user_id, body.name, body.email, body.pwd):
        raise not_found(body.user_id)
    return jsonify({"message": "User updated successfully!"})


@blueprint.get("/delete/<int:user_id>")
@operation("Delete a user (tutorial; use DELETE /users/{user_id})", "legacy",
           {200: Response("deleted", Message), **NOT_FOUND, **UNAVAILABLE}, deprecated=True)
def delete(user_id: int) -> Any:
    if not users_store.delete(database(), user_id):
        raise not_found(user_id)
    return jsonify({"message": "User deleted successfully!"})
