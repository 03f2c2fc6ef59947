"""Request and response shapes, validated by pydantic.

The same models feed the OpenAPI description (app/openapi.py).
"""
from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints, model_validator

Name = Annotated[str, StringConstraints(min_length=1, max_length=255)]
Email = Annotated[EmailStr, StringConstraints(max_length=255)]
Password = Annotated[str, StringConstraints(min_length=1, max_length=1024)]
MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 100


class UserCreate(BaseModel):
    """Body of POST /users and PUT /users/{user_id}."""

    model_config = ConfigDict(extra="forbid", strict=True)
    name: Name
    email: Email
    password: Password = Field(json_schema_extra={"writeOnly": True})


class UserPatch(BaseModel):
    """Body of PATCH /users/{user_id}: any non-empty subset of the fields."""

    model_config = ConfigDict(extra="forbid", strict=True)
    name: Name | None = None
    email: Email | None = None
    password: Password | None = Field(default=None, json_schema_extra={"writeOnly": True})

    @model_validator(mode="after")
    def at_least_one_field(self) -> UserPatch:
        if not self.model_fields_set:
            raise ValueError("at least one of name, email, password is required")
        for field in self.model_fields_set:
            if getattr(self, field) is None:
                raise ValueError(f"{field} may not be null")
        return self


class User(BaseModel):
    """A user as returned by the REST routes; the password is never returned."""

    id: int
    name: str
    email: str
    created_at: datetime
    updated_at: datetime


class PageQuery(BaseModel):
    """Query string of GET /users."""

    model_config = ConfigDict(extra="ignore")
    limit: int = Field(default=DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)
    offset: int = Field(default=0, ge=0, le=2**53)


class LegacyCreate(BaseModel):
    """Body of the tutorial's POST /create."""

    model_config = ConfigDict(extra="ignore", strict=True)
    name: Name
    email: Email
    pwd: Password = Field(json_schema_extra={"writeOnly": True})


class LegacyUpdate(LegacyCreate):
    """Body of the tutorial's POST /update."""

    user_id: int = Field(ge=1, le=2**63 - 1)


class LegacyUser(BaseModel):
    """A user in the tutorial's column names, without the password."""

    user_id: int
    user_name: str
    user_email: str


class Message(BaseModel):
    message: str


class ErrorDetail(BaseModel):
    code: str
    message: str
    fields: dict[str, str] | None = None


class Error(BaseModel):
    error: ErrorDetail


class Health(BaseModel):
    status: str
    schema_version: int | None = None
