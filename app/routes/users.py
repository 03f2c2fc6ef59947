"""The REST surface: /users and /users/<id>."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request, url_for

from app import users_store
from app.apidoc import Response, operation
from app.routes.common import BAD_INPUT, DUPLICATE, NOT_FOUND, UNAVAILABLE, database, json_body, not_found, user_json
from app.schemas import Error, PageQuery, User, UserCreate, UserPatch

blueprint = Blueprint("users", __name__)


@blueprint.post("/users")
@operation("Create a user", "users",
           {201: Response("created", User, headers={"Location": "URL of the new user"}, links={
               name: (endpoint, {"user_id": "$response.body#/id"})
               for name, endpoint in (("GetUser", "users.get_user"), ("ReplaceUser", "users.replace_user"),
                                      ("PatchUser", "users.patch_user"), ("DeleteUser", "users.delete_user"))}),
            **BAD_INPUT, **DUPLICATE, **UNAVAILABLE}, body=UserCreate)
def create_user() -> Any:
    body = json_body(UserCreate)
    user_id = users_store.create(database(), body.name, body.email, body.password)
    row = users_store.get(database(), user_id)
    response = jsonify(user_json(row))
    response.status_code = 201
    response.headers["Location"] = url_for("users.get_user", user_id=user_id)
    return response


@blueprint.get("/users")
@operation("List users ordered by id, one page at a time", "users",
           {200: Response("a page of users", User, array=True,
                          headers={"X-Total-Count": "number of users in total"}),
            422: Response("invalid limit or offset", Error), **UNAVAILABLE}, query=PageQuery)
def list_users() -> Any:
    query = PageQuery.model_validate(request.args.to_dict())
    rows, total = users_store.page(database(), query.limit, query.offset)
    response = jsonify([user_json(row) for row in rows])
    response.headers["X-Total-Count"] = str(total)
    return response


@blueprint.get("/users/<int:user_id>")
@operation("Get one user", "users", {200: Response("the user", User), **NOT_FOUND, **UNAVAILABLE})
def get_user(user_id: int) -> Any:
    row = users_store.get(database(), user_id)
    if row is None:
        raise not_found(user_id)
    return jsonify(user_json(row))


@blueprint.put("/users/<int:user_id>")
@operation("Replace a user's name, email and password", "users",
           {200: Response("the updated user", User), **BAD_INPUT, **NOT_FOUND, **DUPLICATE, **UNAVAILABLE},
           body=UserCreate)
def replace_user(user_id: int) -> Any:
    return _updated(user_id, json_body(UserCreate))


@blueprint.patch("/users/<int:user_id>")
@operation("Change some of a user's fields", "users",
           {200: Response("the updated user", User), **BAD_INPUT, **NOT_FOUND, **DUPLICATE, **UNAVAILABLE},
           body=UserPatch)
def patch_user(user_id: int) -> Any:
    return _updated(user_id, json_body(UserPatch))


def _updated(user_id: int, body: UserCreate | UserPatch) -> Any:
    """Apply a PUT or PATCH body; the user as it is now, or 404 (also when deleted meanwhile)."""
    if not users_store.update(database(), user_id, body.name, body.email, body.password):
        raise not_found(user_id)
    row = users_store.get(database(), user_id)
    if row is None:
        raise not_found(user_id)
    return jsonify(user_json(row))


@blueprint.delete("/users/<int:user_id>")
@operation("Delete a user", "users", {204: Response("deleted"), **NOT_FOUND, **UNAVAILABLE})
def delete_user(user_id: int) -> Any:
    if not users_store.delete(database(), user_id):
        raise not_found(user_id)
    return "", 204
