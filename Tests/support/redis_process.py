"""A real `redis-server` (Debian's package) for the cluster suites and benchmarks: a free port on
127.0.0.1, no persistence, started until it answers PING, stopped with SIGTERM then SIGKILL; it
can be stopped and started again on the same port (a Redis outage in the middle of a test)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

from gateway_process import free_port, terminate

STARTUP_TIMEOUT = 10


def redis_server_binary() -> str:
    path = shutil.which("redis-server")
    if path is None:
        raise RuntimeError("redis-server not found: install Debian's redis-server (scripts/bootstrap.sh does)")
    return path


def command(port: int, *args: str, timeout: float = 5) -> bytes:
    """One command over RESP on a fresh connection; the raw reply (enough for PING/checks)."""
    parts = [f"*{len(args)}\r\n".encode()]
    for arg in args:
        data = arg.encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(b"".join(parts))
        return sock.recv(65536)


class RedisProcess:
    def __init__(self, work: Path, port: int | None = None):
        self.work = work
        self.port = port or free_port()
        self.proc: subprocess.Popen | None = None
        self.log_path = work / "redis.log"

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def start(self) -> "RedisProcess":
        self.work.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [redis_server_binary(), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no", "--dir", str(self.work), "--protected-mode", "no"],
                stdout=log, stderr=log, stdin=subprocess.DEVNULL, cwd=str(self.work), start_new_session=True)
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.proc.returncode}: {self.log_path.read_text()[-2000:]}")
            try:
                if command(self.port, "PING").startswith(b"+PONG"):
                    return self
            except OSError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"redis-server did not answer PING within {STARTUP_TIMEOUT} s")

    def stop(self) -> None:
        terminate(self.proc, 10)
        self.proc = None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None
