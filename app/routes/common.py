"""Helpers shared by the route modules."""
from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, TypeVar

from flask import current_app, request
from pydantic import BaseModel

from app.db import Database
from app.errors import ApiError

Model = TypeVar("Model", bound=BaseModel)


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
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_body", "the request body must be a JSON object")
    return model.model_validate(data)


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
