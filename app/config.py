"""Configuration read from the environment, in one place.

Every variable the service reads is defined here; docs/api.md lists them.
A missing or malformed required variable raises ConfigError naming it.
"""
from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

TLS_MODES = ("disabled", "preferred", "required")
AUTH_MODES = ("none", "token")
_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
_DATABASE_NAME = re.compile(r"^[A-Za-z0-9_]{1,64}$")
_USER_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class ConfigError(Exception):
    """A required setting is missing or invalid; the message names the variable."""


@dataclass(frozen=True)
class DatabaseSettings:
    host: str
    port: int
    database: str
    user: str
    password: str
    tls: str
    tls_ca: str | None
    connect_timeout: int
    read_timeout: int
    write_timeout: int

    def __repr__(self) -> str:  # never show the password
        return (f"DatabaseSettings(host={self.host!r}, port={self.port}, database={self.database!r}, "
                f"user={self.user!r}, tls={self.tls!r})")


@dataclass(frozen=True)
class AuthSettings:
    """API_AUTH=token: callers send `Authorization: Bearer <token>`; only SHA-256 hashes of the tokens are known."""

    mode: str
    token_hashes: tuple[str, ...] = ()

    def __repr__(self) -> str:  # the hashes are not secrets, but nothing gains from printing them
        return f"AuthSettings(mode={self.mode!r}, tokens={len(self.token_hashes)})"


@dataclass(frozen=True)
class Settings:
    db: DatabaseSettings
    pool_size: int
    legacy_routes: bool
    log_level: str
    auth: AuthSettings = AuthSettings("none")
    drain_file: str | None = None  # while this file exists, /readyz is 503 and every answer closes its connection
    retry_after: int = 2  # seconds, the Retry-After header of every 503


def _get(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name)
    if value is None or value.strip() == "":
        return None
    return value.strip()


def _required(env: Mapping[str, str], name: str) -> str:
    value = _get(env, name)
    if value is None:
        raise ConfigError(f"{name} is required but not set")
    return value


def int_setting(env: Mapping[str, str], name: str, default: int, minimum: int = 1, maximum: int = 65535) -> int:
    raw = _get(env, name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
    if not minimum <= value <= maximum:
        raise ConfigError(f"{name} must be between {minimum} and {maximum}, got {value}")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = _get(env, name)
    if raw is None:
        return default
    if raw.lower() in _TRUE:
        return True
    if raw.lower() in _FALSE:
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def secret_setting(env: Mapping[str, str], name: str) -> str | None:
    """NAME, or the content of the file named by NAME_FILE (one trailing newline dropped)."""
    file_name = _get(env, name + "_FILE")
    if file_name is not None:
        try:
            with open(file_name, encoding="utf-8") as handle:
                value = handle.read()
        except OSError as error:
            raise ConfigError(f"{name}_FILE cannot be read: {error.strerror}") from None
        value = value[:-1] if value.endswith("\n") else value
        if value == "":
            raise ConfigError(f"{name}_FILE names an empty file")
        return value
    value = env.get(name)
    return value if value else None


def database_name(env: Mapping[str, str]) -> str:
    name = _required(env, "MYSQL_DATABASE")
    if not _DATABASE_NAME.match(name):
        raise ConfigError("MYSQL_DATABASE must be 1-64 letters, digits or underscores")
    return name


def user_name(env: Mapping[str, str], variable: str) -> str:
    name = _required(env, variable)
    if not _USER_NAME.match(name):
        raise ConfigError(f"{variable} must be 1-32 letters, digits, '_', '.' or '-'")
    return name


def database_settings(env: Mapping[str, str]) -> DatabaseSettings:
    """The runtime identity's connection settings (MYSQL_SERVICE_* as Kubernetes fallback)."""
    host = _get(env, "MYSQL_HOST") or _get(env, "MYSQL_SERVICE_HOST")
    if host is None:
        raise ConfigError("MYSQL_HOST is required but not set (nor MYSQL_SERVICE_HOST)")
    port_variable = "MYSQL_PORT" if _get(env, "MYSQL_PORT") is not None else "MYSQL_SERVICE_PORT"
    port = int_setting(env, port_variable, 3306)
    password = secret_setting(env, "MYSQL_PASSWORD")
    if password is None:
        raise ConfigError("MYSQL_PASSWORD (or MYSQL_PASSWORD_FILE) is required but not set")
    tls = (_get(env, "MYSQL_TLS") or "disabled").lower()
    if tls not in TLS_MODES:
        raise ConfigError(f"MYSQL_TLS must be one of {', '.join(TLS_MODES)}, got {tls!r}")
    return DatabaseSettings(
        host=host,
        port=port,
        database=database_name(env),
        user=user_name(env, "MYSQL_USER"),
        password=password,
        tls=tls,
        tls_ca=_get(env, "MYSQL_TLS_CA"),
        connect_timeout=int_setting(env, "MYSQL_CONNECT_TIMEOUT", 5, maximum=300),
        read_timeout=int_setting(env, "MYSQL_READ_TIMEOUT", 30, maximum=3600),
        write_timeout=int_setting(env, "MYSQL_WRITE_TIMEOUT", 30, maximum=3600),
    )


def worker_threads(env: Mapping[str, str]) -> int:
    """Threads per gunicorn worker; also the default pool size, so a request never waits for a connection."""
    return int_setting(env, "GUNICORN_THREADS", 4, maximum=256)


def auth_settings(env: Mapping[str, str]) -> AuthSettings:
    """API_AUTH (none | token) and, for token, API_TOKEN_HASHES or API_TOKEN_HASHES_FILE: SHA-256 hex digests
    of the accepted tokens, separated by commas, spaces or new lines."""
    mode = (_get(env, "API_AUTH") or "none").lower()
    if mode not in AUTH_MODES:
        raise ConfigError(f"API_AUTH must be one of {', '.join(AUTH_MODES)}, got {mode!r}")
    if mode == "none":
        return AuthSettings(mode)
    raw = secret_setting(env, "API_TOKEN_HASHES")
    hashes = tuple(item.lower() for item in re.split(r"[\s,]+", raw or "") if item)
    if not hashes:
        raise ConfigError("API_TOKEN_HASHES (or API_TOKEN_HASHES_FILE) is required when API_AUTH is token")
    if not all(_SHA256_HEX.match(item) for item in hashes):
        raise ConfigError("API_TOKEN_HASHES must hold SHA-256 hex digests (64 hex characters each), "
                          "not the tokens themselves")
    return AuthSettings(mode, hashes)


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    log_level = (_get(env, "LOG_LEVEL") or "INFO").upper()
    if log_level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise ConfigError(f"LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL, got {log_level!r}")
    return Settings(
        db=database_settings(env),
        pool_size=int_setting(env, "DB_POOL_SIZE", worker_threads(env), maximum=256),
        legacy_routes=_bool(env, "LEGACY_ROUTES", True),
        log_level=log_level,
        auth=auth_settings(env),
        drain_file=_get(env, "DRAIN_FILE"),
        retry_after=int_setting(env, "RETRY_AFTER_SECONDS", 2, maximum=3600),
    )
