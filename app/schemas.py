"""Request and response shapes, validated by pydantic.

The same models feed the OpenAPI description (app/openapi.py): each constraint (length, pattern, nullability)
is written once here, so what the description promises is exactly what the API checks.
"""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

NAME_MAX_LENGTH = 255
PASSWORD_MAX_LENGTH = 1024
# An email address, ASCII only (RFC 5321 limits): a local part of 1-64 of the characters a dot-atom may hold,
# not starting or ending with a dot; a domain of dot-separated labels of 1-63 letters, digits and hyphens
# (no hyphen first or last), at least two labels, the last starting with a letter; 254 characters in all.
EMAIL_MAX_LENGTH = 254
_LOCAL_CHAR = "A-Za-z0-9!#$%&'*+/=?^_`{|}~"  # and "-", put last in each class
_LABEL = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
EMAIL_PATTERN = (f"^[{_LOCAL_CHAR}-](?:[{_LOCAL_CHAR}.-]{{0,62}}[{_LOCAL_CHAR}-])?"
                 f"@(?:{_LABEL}\\.)+[A-Za-z](?:[A-Za-z0-9-]{{0,61}}[A-Za-z0-9])?$")

Name = Annotated[str, StringConstraints(min_length=1, max_length=NAME_MAX_LENGTH)]
Email = Annotated[str, StringConstraints(max_length=EMAIL_MAX_LENGTH, pattern=EMAIL_PATTERN),
                  Field(json_schema_extra={"format": "email"})]
Password = Annotated[str, StringConstraints(min_length=1, max_length=PASSWORD_MAX_LENGTH),
                     Field(json_schema_extra={"writeOnly": True})]


def _integral_number(value: Any) -> Any:
    """JSON Schema's integer includes 5.0; strict mode would refuse it (and still refuses 5.5, "5" and true)."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


JsonInteger = Annotated[int, BeforeValidator(_integral_number)]
MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 100
MAX_OFFSET = 2**53

# Every error code the API answers with (ErrorDetail.code).
ErrorCode = Literal[
    "bad_request", "invalid_json", "invalid_body", "unauthorized", "not_found", "method_not_allowed",
    "duplicate_email", "payload_too_large", "unsupported_media_type", "validation_error", "http_error",
    "internal_error", "database_unavailable", "schema_missing", "schema_outdated", "draining",
]


def _optional_not_null(schema: dict[str, Any]) -> None:
    """Fields that may be left out but never sent as null: no `default: null` in the description."""
    for definition in schema.get("properties", {}).values():
        if definition.get("default", ...) is None:
            del definition["default"]


def _patch_schema(schema: dict[str, Any]) -> None:
    _optional_not_null(schema)
    schema["minProperties"] = 1


class UserCreate(BaseModel):
    """Body of POST /users and PUT /users/{user_id}."""

    model_config = ConfigDict(extra="forbid", strict=True)
    name: Name
    email: Email
    password: Password


class UserPatch(BaseModel):
    """Body of PATCH /users/{user_id}: any non-empty subset of the fields; none of them may be null."""

    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra=_patch_schema)
    # Left out means unchanged; the None default is never validated, so an explicit null is rejected.
    name: Name = None  # type: ignore[assignment]
    email: Email = None  # type: ignore[assignment]
    password: Password = None  # type: ignore[assignment]

    def model_post_init(self, _context: Any) -> None:
        if not self.model_fields_set:
            raise ValueError("at least one of name, email, password is required")


class User(BaseModel):
    """A user as returned by the REST routes; the password is never returned."""

    model_config = ConfigDict(extra="forbid")
    id: int = Field(ge=1)
    name: Name
    email: Email
    created_at: datetime
    updated_at: datetime


class PageQuery(BaseModel):
    """Query string of GET /users."""

    model_config = ConfigDict(extra="ignore")
    limit: int = Field(default=DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET)


class LegacyCreate(BaseModel):
    """Body of the tutorial's POST /create."""

    model_config = ConfigDict(extra="ignore", strict=True)
    name: Name
    email: Email
    pwd: Password


class LegacyUpdate(LegacyCreate):
    """Body of the tutorial's POST /update."""

    user_id: JsonInteger = Field(ge=1, le=2**63 - 1)


class LegacyUser(BaseModel):
    """A user in the tutorial's column names, without the password."""

    model_config = ConfigDict(extra="forbid")
    user_id: int = Field(ge=1)
    user_name: Name
    user_email: Email


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid")
    message: str


class ErrorDetail(BaseModel):
    """`fields` (field path -> problem) is present only for invalid fields."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_optional_not_null)
    code: ErrorCode
    message: str
    fields: dict[str, str] = None  # type: ignore[assignment]


class Error(BaseModel):
    model_config = ConfigDict(extra="forbid")
    error: ErrorDetail


class Health(BaseModel):
    """`schema_version` is present only on /readyz, when the database answered; `database` only when it did not."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_optional_not_null)
    status: Literal["ok", "ready"]
    schema_version: int = None  # type: ignore[assignment]
    database: Literal["unreachable"] = None  # type: ignore[assignment]
