"""A throwaway PostgreSQL server for the Python suites, from Debian's packages (postgresql-15).

`GATEWAY_TEST_STORE=postgres` makes the suites configure every gateway with
`storage.postgres.url` pointing at a database of its own on this server instead of a SQLite file.
The server is started once per test session on first use: `initdb` in a temporary directory
(as the `postgres` user when the tests run as root: PostgreSQL refuses to run as root), then
`pg_ctl start` listening on a free 127.0.0.1 port with its unix socket in the same directory, trust
authentication, fsync off (a test server: a crash loses nothing we keep). It is stopped (and the
directory removed) when the Python process exits.
"""

from __future__ import annotations

import atexit
import glob
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

from gateway_process import free_port

_lock = threading.Lock()
_server: "PostgresServer | None" = None


def store_backend() -> str:
    """The store the suites configure gateways with: "sqlite" (default) or "postgres"."""
    value = os.environ.get("GATEWAY_TEST_STORE", "sqlite").strip().lower() or "sqlite"
    if value not in ("sqlite", "postgres"):
        raise RuntimeError(f"GATEWAY_TEST_STORE must be sqlite or postgres, not {value!r}")
    return value


def postgres_bin_dir() -> Path:
    """`$GATEWAY_TEST_PG_BIN`, else the newest /usr/lib/postgresql/<version>/bin with initdb."""
    if os.environ.get("GATEWAY_TEST_PG_BIN"):
        return Path(os.environ["GATEWAY_TEST_PG_BIN"])
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                        key=lambda p: int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0)
    if not candidates:
        raise RuntimeError("PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin/initdb): "
                           "apt-get install postgresql (scripts/bootstrap.sh does)")
    return Path(candidates[-1]).parent


class PostgresServer:
    def __init__(self) -> None:
        self.bin = postgres_bin_dir()
        self.root = Path(tempfile.mkdtemp(prefix="gateway-pg-"))
        self.data = self.root / "data"
        self.socket_dir = self.root
        self.port = free_port()
        self.log = self.root / "postgres.log"
        self._names = itertools.count(1)
        self._as_user: list[str] = []
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(self.root, user.pw_uid, user.pw_gid)
            self._as_user = ["runuser", "-u", "postgres", "--"]
        os.chmod(self.root, 0o755)

    def _run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        result = subprocess.run([*self._as_user, *args], capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
        return result

    def start(self) -> "PostgresServer":
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust",
                  "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync")
        options = (f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.socket_dir} -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=300")
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", options,
                  "-w", "-t", "60", "start", timeout=90)
        atexit.register(self.stop)
        return self

    def stop(self) -> None:
        if self.data.exists():
            subprocess.run([*self._as_user, str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate",
                            "-w", "stop"], capture_output=True, timeout=60)
        shutil.rmtree(self.root, ignore_errors=True)

    def psql(self, sql: str, database: str = "postgres") -> str:
        return self._run(str(self.bin / "psql"), "-h", str(self.socket_dir), "-p", str(self.port), "-U", "postgres",
                         "-d", database, "-v", "ON_ERROR_STOP=1", "-qAt", "-c", sql).stdout

    def create_database(self, prefix: str = "gw") -> str:
        """A new empty database; returns its postgres:// URL."""
        name = f"{prefix}_{os.getpid()}_{next(self._names)}"
        self.psql(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}?sslmode=disable"


def server() -> PostgresServer:
    """The session's server, started on first use."""
    global _server
    with _lock:
        if _server is None:
            _server = PostgresServer().start()
        return _server


def storage_config(work: Path, sqlite_name: str = "gw.sqlite") -> dict:
    """The `storage` section of a gateway.yaml for the chosen backend (a fresh database each call)."""
    if store_backend() == "postgres":
        return {"postgres": {"url": server().create_database()}}
    return {"sqlite": {"path": str(work / sqlite_name)}}
