"""Database access: one bounded pool of PyMySQL connections per process.

Connections are opened lazily, kept open and reused; DBUtils reopens a connection
transparently when the server went away (for example after a restart), so the
service recovers without being restarted. TLS is an explicit setting.

While the server is unreachable (down, restarting), a process tries it at most once per
UNREACHABLE_RECHECK_SECONDS and answers every other request at once with the same error (503):
otherwise each request waits for its own connect, which on Kubernetes can take up to the connect
timeout (a Service without endpoints rejects with ICMP, which the kernel rate-limits, so most
connects see their SYN unanswered and retry), and the API looks hung instead of saying "try again".
"""
from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pymysql
import pymysql.cursors
from dbutils.pooled_db import PooledDB

from app.config import DatabaseSettings
from app.metrics import POOL_IN_USE, POOL_WAITING

# Errors meaning "the database cannot be reached or talked to right now" (answered with 503).
UNAVAILABLE_ERRORS = (pymysql.err.OperationalError, pymysql.err.InterfaceError)
# MySQL error numbers: a duplicate key; a table that does not exist (migrations not applied yet).
ER_DUP_ENTRY = 1062
ER_NO_SUCH_TABLE = 1146
# The server is not there or went away: cannot connect (2003), gone away (2006), lost during a query (2013),
# shutting down (1053), the connection killed (MariaDB 1927) or dropped by the server (MySQL 4031). Every pod sees
# the same, so it is no reason to take one pod out of its Service.
SERVER_UNREACHABLE_ERRNOS = frozenset({2003, 2006, 2013, 1053, 1927, 4031})
# After the server was found unreachable, the next attempt to reach it waits this long (the requests meanwhile fail
# at once); so the API is back at most this long after the server is.
UNREACHABLE_RECHECK_SECONDS = 1.0


def server_unreachable(error: BaseException) -> bool:
    """The database server cannot be reached right now (down, restarting, its Service without endpoints).

    False for what is this pod's own problem, such as a refused login or a failed TLS handshake (a wrong CA, TLS
    required by a server without it): another pod, or this one with other settings, could serve.
    """
    if isinstance(error, pymysql.err.InterfaceError):
        return True  # the connection was already closed
    if not isinstance(error, pymysql.err.OperationalError) or not error.args:
        return False
    if error.args[0] not in SERVER_UNREACHABLE_ERRNOS:
        return False
    cause = error.__cause__ or error.__context__
    return not isinstance(cause, ssl.SSLError) and "SSL" not in str(error.args[1:])


def connect_arguments(settings: DatabaseSettings, with_database: bool = True) -> dict[str, Any]:
    """Keyword arguments for pymysql.connect with timeouts, charset, UTC session and TLS mode."""
    arguments: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "user": settings.user,
        "password": settings.password,
        "charset": "utf8mb4",
        "connect_timeout": settings.connect_timeout,
        "read_timeout": settings.read_timeout,
        "write_timeout": settings.write_timeout,
        "autocommit": True,
        "init_command": "SET time_zone = '+00:00'",
        "cursorclass": pymysql.cursors.DictCursor,
    }
    if with_database:
        arguments["database"] = settings.database
    arguments.update(tls_arguments(settings))
    return arguments


def tls_arguments(settings: DatabaseSettings) -> dict[str, Any]:
    if settings.tls == "disabled":
        return {"ssl_disabled": True}
    if settings.tls == "required":
        # One context for every connection: building one per connect costs tens of ms of CPU.
        context = ssl.create_default_context(cafile=settings.tls_ca)
        return {"ssl": context}
    return {}  # preferred: PyMySQL uses TLS when the server offers it, without verification


class Database:
    """A bounded pool; `connection()` lends one connection for the duration of a with-block."""

    def __init__(self, settings: DatabaseSettings, pool_size: int,
                 recheck_seconds: float = UNREACHABLE_RECHECK_SECONDS) -> None:
        self.settings = settings
        self.recheck_seconds = recheck_seconds
        # (time.monotonic() before which requests fail at once, the error that made it so); None while reachable
        self._unreachable: tuple[float, pymysql.err.MySQLError] | None = None
        self._unreachable_lock = threading.Lock()
        self._pool = PooledDB(
            creator=pymysql,
            mincached=0,
            maxcached=pool_size,
            maxconnections=pool_size,
            blocking=True,
            ping=0,  # no round trip per checkout; failed statements reconnect and retry once
            reset=False,  # autocommit: nothing to roll back when a connection is returned
            **connect_arguments(settings),
        )

    @contextmanager
    def connection(self) -> Iterator[Any]:
        self._admit()
        POOL_WAITING.inc()
        try:
            con = self._pool.connection()
        except UNAVAILABLE_ERRORS as error:
            self._note_failure(error)
            raise
        finally:
            POOL_WAITING.dec()
        POOL_IN_USE.inc()
        reached = True
        try:
            yield con
        except UNAVAILABLE_ERRORS as error:
            reached = not self._note_failure(error)
            raise
        finally:
            POOL_IN_USE.dec()
            con.close()  # returns it to the pool
            if reached and self._unreachable is not None:
                self._unreachable = None

    def _admit(self) -> None:
        """While the server is known unreachable, fail at once; once per recheck_seconds one request goes through
        and tries it (the others keep failing at once until it has succeeded or the next interval is over)."""
        if self._unreachable is None:
            return
        with self._unreachable_lock:
            if self._unreachable is None:
                return
            until, error = self._unreachable
            now = time.monotonic()
            if now >= until:
                self._unreachable = (now + self.recheck_seconds, error)  # this request is the one that tries
                return
        raise type(error)(*error.args)  # a fresh exception each time: tracebacks must not pile up on a shared one

    def _note_failure(self, error: pymysql.err.MySQLError) -> bool:
        """An error DBUtils could not recover from (it reconnects once). True if it says the server is unreachable:
        the requests of the next recheck_seconds then fail at once instead of each waiting for its own connect."""
        if not server_unreachable(error):
            return False
        self._unreachable = (time.monotonic() + self.recheck_seconds, error)
        return True

    @contextmanager
    def cursor(self) -> Iterator[pymysql.cursors.DictCursor]:
        with self.connection() as con:
            cur = con.cursor()
            try:
                yield cur
            finally:
                cur.close()

    def close(self) -> None:
        self._pool.close()
