"""JSON log lines and request ids."""
from __future__ import annotations

import json
import logging

from app.logs import JsonFormatter, request_id_from, request_id_var


def record(message: str, **extra) -> logging.LogRecord:
    log_record = logging.LogRecord("app.test", logging.WARNING, __file__, 1, message, None, None)
    for key, value in extra.items():
        setattr(log_record, key, value)
    return log_record


def test_line_is_json_with_request_id_and_extra_fields():
    token = request_id_var.set("req-1")
    try:
        line = JsonFormatter().format(record("hello %s", status=503))
    finally:
        request_id_var.reset(token)
    entry = json.loads(line)
    assert entry["message"] == "hello %s" and entry["level"] == "WARNING"
    assert entry["request_id"] == "req-1" and entry["status"] == 503
    assert entry["time"].endswith("Z")


def test_exception_is_logged_by_class_and_traceback_in_one_line():
    try:
        raise ValueError("boom")
    except ValueError:
        import sys
        log_record = logging.LogRecord("app", logging.ERROR, __file__, 1, "failed", None, sys.exc_info())
    line = JsonFormatter().format(log_record)
    assert "\n" not in line
    assert json.loads(line)["exception"] == "ValueError"


def test_request_id_accepts_tokens_and_replaces_anything_else():
    assert request_id_from("abc-DEF_1.2:3") == "abc-DEF_1.2:3"
    for bad in (None, "", "has space", "x" * 129, "new\nline", "quote\"d"):
        generated = request_id_from(bad)
        assert generated != bad and len(generated) == 32
