"""API_AUTH=token: every route but the public ones requires `Authorization: Bearer <token>`.

Flask-HTTPAuth parses the header; the token's SHA-256 digest is compared in constant time with every known
digest (the service never holds the tokens themselves). A missing or wrong token gets 401 in the API's JSON
error format with `WWW-Authenticate: Bearer`. Neither the header nor the token is ever logged.
"""
from __future__ import annotations

import hashlib
import hmac
from typing import Any

from flask import Flask, request
from flask_httpauth import HTTPTokenAuth

from app.config import AuthSettings
from app.errors import error_response

# Open without a token: the tutorial's greeting, probes, metrics scrapes and the API description.
PUBLIC_PATHS = frozenset({"/", "/healthz", "/readyz", "/metrics", "/openapi.json"})
REALM = "users-api"
SCHEME_NAME = "bearerToken"


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def register(app: Flask, settings: AuthSettings) -> None:
    if settings.mode == "none":
        return
    known = tuple(digest.encode("ascii") for digest in settings.token_hashes)
    auth = HTTPTokenAuth(scheme="Bearer", realm=REALM)

    @auth.verify_token
    def verify(token: str) -> bool | None:
        if not token:
            return None
        digest = token_digest(token).encode("ascii")
        matched = False
        for candidate in known:  # no early exit: the time taken does not say which digest matched
            matched |= hmac.compare_digest(digest, candidate)
        return True if matched else None

    @auth.error_handler
    def refused(status: int) -> Any:
        if status == 401:
            return error_response(401, "unauthorized",
                                  "a valid token is required: send Authorization: Bearer <token>")
        return error_response(status, "http_error", "forbidden")

    @auth.login_required
    def _allowed() -> None:
        return None

    @app.before_request
    def require_token() -> Any:
        if request.path in PUBLIC_PATHS:
            return None
        return _allowed()
