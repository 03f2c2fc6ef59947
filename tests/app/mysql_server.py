"""A throwaway real MySQL server, run with chroot in the Debian unstable tree the local cluster's MySQL image
is made from (`local-cluster/mysql-rootfs` builds and prints it), for the tests that must see real MySQL.

    reason = MySQLServer.unavailable_reason()   # None, or one line saying why it cannot run here
    server = MySQLServer.start()                 # mysqld --initialize-insecure, then mysqld on a free port
    ... server.port, server.admin_user ("root"@"%", caching_sha2_password), server.admin_password ...
    server.stop(); server.start_again(); server.destroy()

TEST_MYSQL_ROOTFS names another tree holding /usr/sbin/mysqld (default: the cluster's build cache). The
server offers TLS (mysqld makes its own certificates) like the official image; clients here connect without it.
"""
from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pymysql

from mariadb_server import MariaDBServer, free_port

DEFAULT_ROOTFS = Path("/var/cache/local-k8s/rootfs/mysql-sid")
BUILDER = "local-cluster/mysql-rootfs"


def _unix_socket_answers(path: Path) -> socket.socket:
    """A connected stream socket at path (OSError until the server listens)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(str(path))
    except OSError:
        sock.close()
        raise
    return sock


def rootfs() -> Path:
    return Path(os.environ.get("TEST_MYSQL_ROOTFS") or DEFAULT_ROOTFS)


@dataclass
class MySQLServer(MariaDBServer):
    root: Path | None = None

    @staticmethod
    def unavailable_reason() -> str | None:
        tree = rootfs()
        if not (tree / "usr/sbin/mysqld").exists():
            return (f"no MySQL server tree at {tree} (TEST_MYSQL_ROOTFS): build it with {BUILDER} "
                    "(root, Debian, about 1 minute)")
        if os.geteuid() != 0:
            return f"starting MySQL from {tree} needs root (chroot)"
        return None

    @classmethod
    def start(cls, extra_options: tuple[str, ...] = ()) -> MySQLServer:
        tree = rootfs()
        base_dir = Path(tempfile.mkdtemp(prefix="throwaway-mysql-", dir=tree / "tmp"))
        server = cls(port=free_port(), base_dir=base_dir, extra_options=extra_options, root=tree,
                     admin_password="admin-" + secrets.token_urlsafe(12))
        (base_dir / "files").mkdir()
        try:
            server._mysqld("--initialize-insecure", log_name="initialize.log")
            server.start_again(bootstrap=True)
        except BaseException:
            server.destroy()
            raise
        return server

    def inside(self, path: Path) -> str:
        """The path as mysqld sees it inside the tree."""
        assert self.root is not None
        return "/" + str(path.relative_to(self.root))

    def _mysqld(self, *options: str, log_name: str = "mysqld.log", background: bool = False) -> None:
        assert self.base_dir is not None and self.root is not None
        argv = ["chroot", str(self.root), "/usr/sbin/mysqld", "--no-defaults", "--user=root",
                f"--datadir={self.inside(self.datadir)}", "--innodb-buffer-pool-size=64M",
                "--innodb-redo-log-capacity=16M", "--mysqlx=OFF", "--performance-schema=OFF",
                f"--secure-file-priv={self.inside(self.base_dir / 'files')}", *options]
        with open(self.base_dir / log_name, "ab") as log:
            if background:
                self.process = subprocess.Popen(argv, stdout=log, stderr=log)
            else:
                subprocess.run(argv, check=True, stdout=log, stderr=log, timeout=300)

    def start_again(self, bootstrap: bool = False) -> None:
        """Start mysqld on the same port and data directory and wait until it answers."""
        assert self.base_dir is not None, "an external server cannot be started by the tests"
        socket_path = self.base_dir / "mysqld.sock"
        self._mysqld(f"--socket={self.inside(socket_path)}", f"--port={self.port}", "--bind-address=127.0.0.1",
                     f"--pid-file={self.inside(self.base_dir / 'mysqld.pid')}", "--skip-name-resolve",
                     "--max-connections=300", *self.extra_options, background=True)
        if bootstrap:
            # root@localhost (socket only, no password) makes the admin the official image makes: root@'%'.
            self._wait(lambda: _unix_socket_answers(socket_path))
            with pymysql.connect(unix_socket=str(socket_path), user="root", autocommit=True) as con, con.cursor() as cur:
                cur.execute("CREATE USER 'root'@'%%' IDENTIFIED BY %s", (self.admin_password,))
                cur.execute("GRANT ALL ON *.* TO 'root'@'%' WITH GRANT OPTION")
        self.wait_until_ready()

    def _wait(self, connect, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while True:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"mysqld exited with {self.process.returncode}; see {self.base_dir}/mysqld.log")
            try:
                connect().close()
                return
            except (pymysql.err.OperationalError, OSError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def wait_until_ready(self, seconds: float = 60) -> None:
        self._wait(self.admin_connection, seconds)

    def destroy(self) -> None:
        self.stop()
        if self.base_dir is not None:
            shutil.rmtree(self.base_dir, ignore_errors=True)
