"""A decorator that attaches an OpenAPI operation description to a view function.

app/openapi.py walks the Flask url_map and reads these, so the description is
generated from the routes that really exist.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel

View = TypeVar("View", bound=Callable[..., Any])


@dataclass(frozen=True)
class Response:
    description: str
    model: type[BaseModel] | None = None
    # Media type of a body that is not JSON (model None): described as a string.
    media_type: str | None = None
    array: bool = False
    headers: dict[str, str] = field(default_factory=dict)
    # OpenAPI links: name -> (endpoint of the linked route, {its parameter: runtime expression}).
    links: dict[str, tuple[str, dict[str, str]]] = field(default_factory=dict)


@dataclass(frozen=True)
class Operation:
    summary: str
    tag: str
    responses: dict[int, Response]
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    deprecated: bool = False


def operation(summary: str, tag: str, responses: dict[int, Response], body: type[BaseModel] | None = None,
              query: type[BaseModel] | None = None, deprecated: bool = False) -> Callable[[View], View]:
    def attach(view: View) -> View:
        view.openapi_operation = Operation(summary, tag, responses, body, query, deprecated)  # type: ignore[attr-defined]
        return view
    return attach
