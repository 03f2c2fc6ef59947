"""A steady client load on the users API that counts what a client would notice (standard library only).

Each worker is one thread with one keep-alive HTTP/1.1 connection, as a real client's pool would hold.
Reads cycle `GET /users/<id>` over given ids; writes `POST /users` with unique emails and remember every
acknowledged (201) user, so a test can check afterwards that none was lost. A failed request closes the
worker's connection; the next request opens a new one (after a short pause, so a refused port is not
hammered). Every worker stops by itself after `max_seconds`, so a failing test cannot leave load behind.

    load = Load.reads(url, user_ids=[1, 2], connections=8)
    with load:                      # start() ... stop()
        disrupt_something()
    print(load.result.summary())   # reads x8 for 41.3 s: 20114 ok, 0 failed
    assert load.result.failed == 0

Times (`started`, `first_failure`, `last_failure`, ...) are `time.monotonic()` values, so a test can take
`time.monotonic()` when it disrupts something and measure `result.window_since(that)`. `first_failure` is
when the first failed request was sent, `last_failure` when the last one failed (a timeout counts whole).

Failure kinds (keys of `LoadResult.failures`):
  refused      connection refused (nothing listens behind the address)
  reset        connection reset or broken pipe while sending or reading
  closed       the server closed the connection without an answer (often a reused keep-alive connection)
  timeout      no answer within `timeout` seconds (a hang)
  unreachable  no route to the address
  5xx_json     an HTTP 5xx answer with a JSON error body (the API's own "try again"); codes in `error_codes`
  5xx_other    an HTTP 5xx answer without a JSON body (a proxy's or a crashed worker's)
  status_NNN   any other unexpected status (a 404 for a read, 4xx for a write)
  other:Name   any other exception, by class name
"""
from __future__ import annotations

import errno
import http.client
import itertools
import json
import secrets
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit


@dataclass
class LoadResult:
    mode: str  # "reads" or "writes"
    workers: int
    started: float  # time.monotonic() when the load started
    stopped: float  # ... and when it stopped
    ok: int = 0
    failures: Counter[str] = field(default_factory=Counter)  # failure kind -> count (see the module doc)
    error_codes: Counter[str] = field(default_factory=Counter)  # "503 database_unavailable" -> count
    without_retry_after: int = 0  # 503 answers that lacked a Retry-After header
    first_failure: float | None = None
    last_failure: float | None = None
    slowest: float = 0.0  # longest request, successful or not, in seconds
    slowest_at: float | None = None  # when that request was sent (time.monotonic())
    # (sent, seconds taken, kind) of every failed request, in the order they failed
    failure_log: list[tuple[float, float, str]] = field(default_factory=list)
    acknowledged: list[tuple[int, str]] = field(default_factory=list)  # (id, email) of every 201 write

    @property
    def failed(self) -> int:
        return sum(self.failures.values())

    @property
    def total(self) -> int:
        return self.ok + self.failed

    @property
    def duration(self) -> float:
        return self.stopped - self.started

    @property
    def error_window(self) -> float:
        """Seconds from the first to the last failed request (0 when none failed)."""
        if self.first_failure is None or self.last_failure is None:
            return 0.0
        return self.last_failure - self.first_failure

    def window_since(self, moment: float) -> float:
        """Seconds from `moment` (a time.monotonic() value, e.g. a pod deletion) to the last failed request."""
        return 0.0 if self.last_failure is None else max(0.0, self.last_failure - moment)

    def summary(self) -> str:
        """One line: volume, failures by kind, when they happened, the slowest request."""
        line = f"{self.mode} x{self.workers} for {self.duration:.1f} s: {self.ok} ok, {self.failed} failed"
        if self.failed:
            kinds = ", ".join(f"{kind} {count}" for kind, count in self.failures.most_common())
            assert self.first_failure is not None and self.last_failure is not None
            line += (f" ({kinds}) from {self.first_failure - self.started:.1f} s to "
                     f"{self.last_failure - self.started:.1f} s after start")
        if self.error_codes:
            line += "; error codes: " + ", ".join(f"{code} {n}" for code, n in self.error_codes.most_common())
        if self.without_retry_after:
            line += f"; {self.without_retry_after} 503 without Retry-After"
        if self.mode == "writes":
            line += f"; {len(self.acknowledged)} writes acknowledged"
        slowest_at = "" if self.slowest_at is None else f" (sent {self.slowest_at - self.started:.1f} s after start)"
        return line + f"; slowest {self.slowest:.2f} s{slowest_at}"


class _Failure(Exception):
    def __init__(self, kind: str, status: int = 0, code: str = "") -> None:
        super().__init__(kind)
        self.kind = kind
        self.status = status
        self.code = code


def _failure_kind(error: BaseException) -> str:
    # RemoteDisconnected is a ConnectionResetError: test it first.
    if isinstance(error, (http.client.RemoteDisconnected, http.client.IncompleteRead,
                          http.client.BadStatusLine)):
        return "closed"
    if isinstance(error, ConnectionRefusedError):
        return "refused"
    if isinstance(error, (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)):
        return "reset"
    if isinstance(error, (socket.timeout, TimeoutError)):
        return "timeout"
    if isinstance(error, OSError) and error.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
        return "unreachable"
    return f"other:{type(error).__name__}"


class Load:
    """N worker threads keeping a load on the API until stop() (or max_seconds)."""

    def __init__(self, base_url: str, mode: str, workers: int, user_ids: list[int] | None = None,
                 timeout: float = 10.0, max_seconds: float = 300.0, pause: float = 0.005,
                 retry_pause: float = 0.05) -> None:
        """base_url: http://host:port; mode: "reads" (needs user_ids) or "writes"; timeout: per request;
        pause: seconds each worker waits between requests (bounds the CPU the load takes from the machine);
        retry_pause: seconds a worker waits after a failed request before the next one."""
        if mode not in ("reads", "writes"):
            raise ValueError(f"mode must be reads or writes, got {mode!r}")
        if mode == "reads" and not user_ids:
            raise ValueError("reads need user_ids of existing users")
        parts = urlsplit(base_url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"base_url must be http://host:port, got {base_url!r}")
        self.host, self.port = parts.hostname, parts.port or 80
        self.mode, self.workers, self.user_ids = mode, workers, list(user_ids or [])
        self.timeout, self.max_seconds, self.pause, self.retry_pause = timeout, max_seconds, pause, retry_pause
        self._run = secrets.token_hex(4)  # makes this load's emails unique
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._result: LoadResult | None = None

    @classmethod
    def reads(cls, base_url: str, user_ids: list[int], connections: int = 8, **options: Any) -> Load:
        return cls(base_url, "reads", connections, user_ids=user_ids, **options)

    @classmethod
    def writes(cls, base_url: str, threads: int = 4, **options: Any) -> Load:
        return cls(base_url, "writes", threads, **options)

    # --- control ---------------------------------------------------------------------------------------

    def start(self) -> Load:
        now = time.monotonic()
        self._result = LoadResult(self.mode, self.workers, started=now, stopped=now)
        self._deadline = now + self.max_seconds
        for number in range(self.workers):
            thread = threading.Thread(target=self._work, args=(number,), name=f"load-{self.mode}-{number}",
                                      daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> LoadResult:
        """Stop the workers (each finishes its current request) and return the result."""
        self._stop.set()
        for thread in self._threads:
            thread.join(self.timeout + 5)
        result = self.result
        result.stopped = time.monotonic()
        return result

    def __enter__(self) -> Load:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    @property
    def result(self) -> LoadResult:
        if self._result is None:
            raise RuntimeError("the load was never started")
        return self._result

    def snapshot(self) -> tuple[int, int]:
        """(ok, failed) so far, e.g. to wait until the load runs cleanly before disrupting anything."""
        with self._lock:
            return self.result.ok, self.result.failed

    # --- workers ---------------------------------------------------------------------------------------

    def _work(self, number: int) -> None:
        connection: http.client.HTTPConnection | None = None
        ids = itertools.cycle(self.user_ids[number % len(self.user_ids):] + self.user_ids) if self.user_ids else None
        for sequence in itertools.count():
            if self._stop.is_set() or time.monotonic() >= self._deadline:
                break
            if connection is None:
                connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            begun = time.monotonic()
            try:
                if self.mode == "reads":
                    assert ids is not None
                    self._read(connection, next(ids))
                    acknowledged = None
                else:
                    acknowledged = self._write(connection, f"load-{self._run}-{number}-{sequence}@example.com")
            except (_Failure, OSError, http.client.HTTPException) as error:
                kind = error.kind if isinstance(error, _Failure) else _failure_kind(error)
                self._record_failure(begun, kind, error if isinstance(error, _Failure) else None)
                connection.close()
                connection = None
                self._stop.wait(self.retry_pause)
                continue
            self._record_ok(begun, acknowledged)
            if self.pause:
                self._stop.wait(self.pause)
        if connection is not None:
            connection.close()

    def _exchange(self, connection: http.client.HTTPConnection, method: str, path: str,
                  body: bytes | None = None) -> tuple[int, Any]:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        raw = response.read()
        status = response.status
        try:
            decoded = json.loads(raw) if raw else None
        except ValueError:
            decoded = None
        if status >= 500:
            code = decoded.get("error", {}).get("code", "") if isinstance(decoded, dict) else ""
            if status == 503 and response.getheader("Retry-After") is None:
                with self._lock:
                    self.result.without_retry_after += 1
            raise _Failure("5xx_json" if isinstance(decoded, dict) else "5xx_other", status, code)
        return status, decoded

    def _read(self, connection: http.client.HTTPConnection, user_id: int) -> None:
        status, _ = self._exchange(connection, "GET", f"/users/{user_id}")
        if status != 200:
            raise _Failure(f"status_{status}", status)

    def _write(self, connection: http.client.HTTPConnection, email: str) -> tuple[int, str]:
        body = json.dumps({"name": "load", "email": email, "password": "load-password"}).encode()
        status, decoded = self._exchange(connection, "POST", "/users", body)
        if status != 201 or not isinstance(decoded, dict) or "id" not in decoded:
            raise _Failure(f"status_{status}", status)
        return int(decoded["id"]), email

    def _record_ok(self, begun: float, acknowledged: tuple[int, str] | None) -> None:
        took = time.monotonic() - begun
        with self._lock:
            result = self.result
            result.ok += 1
            if took > result.slowest:
                result.slowest, result.slowest_at = took, begun
            if acknowledged is not None:
                result.acknowledged.append(acknowledged)

    def _record_failure(self, begun: float, kind: str, failure: _Failure | None) -> None:
        now = time.monotonic()
        with self._lock:
            result = self.result
            result.failures[kind] += 1
            if failure is not None and failure.status:
                result.error_codes[f"{failure.status} {failure.code or '-'}"] += 1
            if result.first_failure is None:
                result.first_failure = begun
            result.last_failure = now
            result.failure_log.append((begun, now - begun, kind))
            if now - begun > result.slowest:
                result.slowest, result.slowest_at = now - begun, begun
