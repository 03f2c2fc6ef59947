"""Every error leaves the service as JSON: {"error": {"code", "message", "fields"?}}; a 503 carries Retry-After.

Clients never see a traceback, SQL text or driver message; the log gets the error class.
"""
from __future__ import annotations

import logging
from typing import Any

import pymysql
from flask import Flask, current_app, jsonify
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException

from app.db import ER_NO_SUCH_TABLE, UNAVAILABLE_ERRORS
from app.metrics import count_error
from app.users_store import DuplicateEmail

log = logging.getLogger(__name__)

_HTTP_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


# Clearer than pydantic's own message, which would quote the whole regular expression.
_MESSAGES = {"string_pattern_mismatch": "is not in the required format (see its pattern in /openapi.json)"}


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields


def error_response(status: int, code: str, message: str, fields: dict[str, str] | None = None) -> Any:
    count_error(code, status)
    detail: dict[str, Any] = {"code": code, "message": message}
    if fields:
        detail["fields"] = fields
    response = jsonify({"error": detail})
    response.status_code = status
    if status == 503:  # every 503 is temporary: the database, the schema, or this pod draining
        response.headers["Retry-After"] = str(current_app.config.get("RETRY_AFTER", 2))
    return response


def validation_fields(error: ValidationError) -> dict[str, str]:
    """Field path -> message. Messages only: pydantic's `input` would echo submitted values."""
    fields: dict[str, str] = {}
    for item in error.errors(include_input=False, include_url=False):
        location = ".".join(str(part) for part in item["loc"]) or "body"
        message = _MESSAGES.get(item["type"], item["msg"])
        fields.setdefault(location, message)
    return fields


def register(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def api_error(error: ApiError) -> Any:
        return error_response(error.status, error.code, error.message, error.fields)

    @app.errorhandler(ValidationError)
    def invalid(error: ValidationError) -> Any:
        return error_response(422, "validation_error", "the request is not valid", validation_fields(error))

    @app.errorhandler(DuplicateEmail)
    def duplicate(_error: DuplicateEmail) -> Any:
        return error_response(409, "duplicate_email", "a user with this email already exists",
                              {"email": "already in use"})

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Any:
        status = error.code or 500
        code = _HTTP_CODES.get(status, "http_error")
        message = {413: "the request body is larger than 1 MiB"}.get(status, error.description or error.name)
        response = error_response(status, code, message)
        if status == 405 and error.response is None:
            allowed = error.get_headers()
            for name, value in allowed:
                if name.lower() == "allow":
                    response.headers["Allow"] = value
        return response

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> Any:
        if isinstance(error, UNAVAILABLE_ERRORS):
            log.warning("database unavailable", extra={"error_class": type(error).__name__,
                                                       "errno": _errno(error)})
            return error_response(503, "database_unavailable", "the database is unavailable, retry later")
        if isinstance(error, pymysql.err.ProgrammingError) and _errno(error) == ER_NO_SUCH_TABLE:
            log.error("schema missing: run python -m app.migrate", extra={"errno": ER_NO_SUCH_TABLE})
            return error_response(503, "schema_missing", "the database schema is not installed yet, retry later")
        log.error("unhandled error", exc_info=error)
        return error_response(500, "internal_error", "internal server error")


def _errno(error: Exception) -> int | None:
    if error.args and isinstance(error.args[0], int):
        return error.args[0]
    return None
