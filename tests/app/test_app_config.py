"""Configuration from the environment: defaults, fallbacks, secrets from files, one clear error per mistake."""
from __future__ import annotations

import pytest

from app.config import ConfigError, load_settings

BASE = {"MYSQL_HOST": "db", "MYSQL_DATABASE": "users", "MYSQL_USER": "app", "MYSQL_PASSWORD": "pw"}


def test_defaults():
    settings = load_settings(BASE)
    assert (settings.db.port, settings.db.tls, settings.legacy_routes, settings.log_level) == (3306, "disabled",
                                                                                               True, "INFO")
    assert settings.pool_size == 4


def test_kubernetes_service_variables_are_the_fallback():
    env = {**BASE, "MYSQL_SERVICE_HOST": "10.0.0.7", "MYSQL_SERVICE_PORT": "3307"}
    del env["MYSQL_HOST"]
    settings = load_settings(env)
    assert (settings.db.host, settings.db.port) == ("10.0.0.7", 3307)
    assert load_settings({**env, "MYSQL_HOST": "mysql", "MYSQL_PORT": "3308"}).db.port == 3308


def test_password_file_wins_and_loses_one_trailing_newline(tmp_path):
    secret = tmp_path / "pw"
    secret.write_text("from-file\n")
    assert load_settings({**BASE, "MYSQL_PASSWORD_FILE": str(secret)}).db.password == "from-file"


def test_password_is_not_in_repr():
    assert "hidden-value" not in repr(load_settings({**BASE, "MYSQL_PASSWORD": "hidden-value"}))


@pytest.mark.parametrize("missing", ["MYSQL_HOST", "MYSQL_DATABASE", "MYSQL_USER", "MYSQL_PASSWORD"])
def test_missing_required_variable_is_named(missing):
    env = {key: value for key, value in BASE.items() if key != missing}
    with pytest.raises(ConfigError, match=missing):
        load_settings(env)


@pytest.mark.parametrize("name, value, message", [
    ("MYSQL_PORT", "abc", "MYSQL_PORT must be an integer"),
    ("MYSQL_PORT", "70000", "MYSQL_PORT must be between"),
    ("MYSQL_TLS", "maybe", "MYSQL_TLS must be one of"),
    ("LEGACY_ROUTES", "perhaps", "LEGACY_ROUTES must be true or false"),
    ("LOG_LEVEL", "loud", "LOG_LEVEL must be"),
    ("MYSQL_DATABASE", "users; DROP", "MYSQL_DATABASE must be"),
    ("MYSQL_USER", "a'b", "MYSQL_USER must be"),
    ("MYSQL_PASSWORD_FILE", "/nonexistent/pw", "MYSQL_PASSWORD_FILE cannot be read"),
    ("DB_POOL_SIZE", "0", "DB_POOL_SIZE must be between"),
])
def test_invalid_values_are_named(name, value, message):
    with pytest.raises(ConfigError, match=message):
        load_settings({**BASE, name: value})


def test_empty_password_file_is_refused(tmp_path):
    empty = tmp_path / "empty"
    empty.write_text("")
    with pytest.raises(ConfigError, match="empty file"):
        load_settings({**BASE, "MYSQL_PASSWORD_FILE": str(empty)})


@pytest.mark.parametrize("value, expected", [("false", False), ("0", False), ("TRUE", True), ("yes", True)])
def test_legacy_routes_switch(value, expected):
    assert load_settings({**BASE, "LEGACY_ROUTES": value}).legacy_routes is expected
