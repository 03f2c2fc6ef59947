"""Helpers shared by the route modules."""
from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, TypeVar

from flask import current_app, request
from pydantic import BaseModel

from app.apidoc import Response
from app.db import Database
from app.errors import ApiError
from app.schemas import Error

Model = TypeVar("Model", bound=BaseModel)

# Error answers shared by the REST and the tutorial's routes, for the API description.
BAD_INPUT = {
    400: Response("malformed body", Error),
    413: Response("body over 1 MiB", Error),
    415: Response("body is not JSON", Error),
    422: Response("invalid fields", Error),
}
UNAVAILABLE = {503: Response("database unavailable", Error)}
NOT_FOUND = {404: Response("no such user", Error)}
DUPLICATE = {409: Response("email already in use", Error)}


def database() -> Database:
    return current_app.extensions["users_db"]


def json_body(model: type[Model]) -> Model:
    """The request body as a validated model: JSON content type, a JSON object, valid fields."""
    if not request.is_json:
        raise ApiError(415, "unsupported_media_type", "the request body must be JSON (Content-Type: application/json)")
    try:
        data = json.loads(request.get_data(cache=False))
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "invalid_json", "the request body is not valid JSON") from None
    if not _is_unicode(data):
        raise ApiError(400, "invalid_json", "the request body holds a string that is not valid Unicode "
                                            "(an unpaired surrogate escape)")
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_body", "the request body must be a JSON object")
    return model.model_validate(data)


def _is_unicode(data: Any) -> bool:
    """JSON allows escapes such as \\ud800 that decode to no character; the database could not store them."""
    try:
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def iso(moment: datetime) -> str:
    """Database DATETIMEs are UTC (the session time zone is set to +00:00)."""
    return moment.replace(tzinfo=UTC).isoformat().replace("+00:00", "Z")


def user_json(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["user_id"],
        "name": row["user_name"],
        "email": row["user_email"],
        "created_at": iso(row["created_at"]),
        "updated_at": iso(row["updated_at"]),
    }


def not_found(user_id: int) -> ApiError:
    return ApiError(404, "not_found", f"user {user_id} does not exist")
