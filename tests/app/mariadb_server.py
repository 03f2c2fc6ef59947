"""A throwaway MariaDB server in a temporary directory, for the tests and the benchmark.

    server = MariaDBServer.start()   # mariadb-install-db + mariadbd on a free port
    ... server.port, server.admin_user, server.admin_password ...
    server.stop(); server.start_again(); server.destroy()

Or, with TEST_MYSQL_HOST (and TEST_MYSQL_PORT/USER/PASSWORD) set, `external()` describes an
existing server instead; it cannot be stopped and started by the tests.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pymysql

SBIN_DIRS = ("/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _find(program: str) -> str:
    found = shutil.which(program)
    if found:
        return found
    for directory in SBIN_DIRS:
        candidate = Path(directory) / program
        if candidate.exists():
            return str(candidate)
    raise RuntimeError(f"{program} not found: install the Debian package mariadb-server")


@dataclass
class MariaDBServer:
    host: str = "127.0.0.1"
    port: int = 0
    admin_user: str = "root"
    admin_password: str = ""
    base_dir: Path | None = None
    process: subprocess.Popen | None = field(default=None, repr=False)
    extra_options: tuple[str, ...] = ()

    @property
    def can_restart(self) -> bool:
        return self.base_dir is not None

    @classmethod
    def external(cls) -> MariaDBServer | None:
        host = os.environ.get("TEST_MYSQL_HOST")
        if not host:
            return None
        return cls(host=host, port=int(os.environ.get("TEST_MYSQL_PORT", "3306")),
                   admin_user=os.environ.get("TEST_MYSQL_USER", "root"),
                   admin_password=os.environ.get("TEST_MYSQL_PASSWORD", ""))

    @classmethod
    def start(cls, extra_options: tuple[str, ...] = ()) -> MariaDBServer:
        base_dir = Path(tempfile.mkdtemp(prefix="throwaway-mariadb-"))
        server = cls(port=free_port(), base_dir=base_dir, extra_options=extra_options)
        subprocess.run(
            [_find("mariadb-install-db"), "--no-defaults", "--auth-root-authentication-method=normal",
             f"--datadir={server.datadir}", "--user=root", "--skip-test-db"],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        server.start_again()
        return server

    @property
    def datadir(self) -> Path:
        assert self.base_dir is not None
        return self.base_dir / "data"

    def start_again(self) -> None:
        """Start mariadbd on the same port and data directory and wait until it answers."""
        assert self.base_dir is not None, "an external server cannot be started by the tests"
        with open(self.base_dir / "mariadbd.log", "ab") as log:
            self.process = subprocess.Popen(
                [_find("mariadbd"), "--no-defaults", "--user=root", f"--datadir={self.datadir}",
                 f"--socket={self.base_dir / 'mariadbd.sock'}", f"--port={self.port}", "--bind-address=127.0.0.1",
                 f"--pid-file={self.base_dir / 'mariadbd.pid'}", "--skip-name-resolve",
                 "--innodb-buffer-pool-size=64M", "--max-connections=300", *self.extra_options],
                stdout=log, stderr=log)
        self.wait_until_ready()

    def wait_until_ready(self, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while True:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"mariadbd exited with {self.process.returncode}; see {self.base_dir}/mariadbd.log")
            try:
                self.admin_connection().close()
                return
            except pymysql.err.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def admin_connection(self, **options) -> pymysql.connections.Connection:
        return pymysql.connect(host=self.host, port=self.port, user=self.admin_user, password=self.admin_password,
                               ssl_disabled=True, connect_timeout=5, autocommit=True, **options)

    def stop(self) -> None:
        """Shut the server down cleanly (SIGTERM) and wait for it."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def destroy(self) -> None:
        self.stop()
        if self.base_dir is not None:
            shutil.rmtree(self.base_dir, ignore_errors=True)
