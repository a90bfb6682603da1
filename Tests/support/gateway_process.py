"""A real `gateway serve` child process for the Python suites (Tests/api, Tests/hub):
the binary and its plugins, a free loopback port, start until /health answers, stop with
SIGTERM then SIGKILL, and the process's output for failure reports."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests

REPO = Path(__file__).resolve().parents[2]
REQUEST_TIMEOUT = 10
STARTUP_TIMEOUT = 60
STOP_TIMEOUT = 10

# Environment variables the gateway's config may read; the tests give every value explicitly.
SCRUBBED_ENV = [
    "HOST", "PORT", "JWT_SECRET", "AUTH_SERVICE_URL", "SQLITE_PATH", "DATABASE_URL", "REDIS_URL",
    "RABBITMQ_URL", "CORS_ORIGIN", "MAX_CONNECTIONS_PER_ORG", "LOG_LEVEL",
]


def gateway_binary() -> Path:
    """`$GATEWAY_BIN` (default .build/debug/gateway); fails clearly when it or a plugin is missing."""
    path = Path(os.environ.get("GATEWAY_BIN", str(REPO / ".build" / "debug" / "gateway"))).resolve()
    if not path.is_file() or not os.access(path, os.X_OK):
        pytest.fail(f"gateway binary not found or not executable at {path}: build it (`swift build`) "
                    "or set GATEWAY_BIN", pytrace=False)
    for lib in ("libLoopbackChannel.so", "libCEchoChannel.so"):
        if not (path.parent / lib).is_file():
            pytest.fail(f"plugin library {lib} not found next to the gateway binary ({path.parent}); "
                        "`swift build` builds both plugins", pytrace=False)
    return path


def terminate(proc: subprocess.Popen | None, timeout: float) -> None:
    """Stops a child: SIGTERM, then SIGKILL if it is still running after `timeout` seconds."""
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=timeout)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class GatewayProcess:
    """One `gateway serve --config <work>/gateway.yaml --port <free port>` process on 127.0.0.1."""

    running: list["GatewayProcess"] = []

    def __init__(self, name: str, work: Path, config: dict, binary: Path):
        self.name = name
        self.work = work
        self.config = config
        self.binary = binary
        self.port = 0
        self.proc: subprocess.Popen | None = None
        self.log_path = work / "gateway.log"
        self.config_path = work / "gateway.yaml"
        self.started_at: dt.datetime | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "GatewayProcess":
        self.work.mkdir(parents=True, exist_ok=True)
        # JSON is YAML: no YAML library needed to write the config.
        self.config_path.write_text(json.dumps(self.config, indent=2) + "\n")
        env = {k: v for k, v in os.environ.items() if k not in SCRUBBED_ENV}
        last_error = ""
        for _attempt in range(3):  # a port taken between free_port() and bind: try another
            self.port = free_port()
            self.started_at = dt.datetime.now(dt.timezone.utc)
            with open(self.log_path, "ab") as log:
                log.write(f"\n===== {self.name}: {self.binary} serve --port {self.port} =====\n".encode())
                log.flush()
                self.proc = subprocess.Popen(
                    [str(self.binary), "serve", "--config", str(self.config_path), "--port", str(self.port)],
                    stdout=log, stderr=log, stdin=subprocess.DEVNULL, cwd=str(self.work), env=env,
                    start_new_session=True,
                )
            GatewayProcess.running.append(self)
            ok, last_error = self._wait_healthy()
            if ok:
                return self
            self.stop()
            if "address already in use" not in self.log_text().lower():
                break
        pytest.fail(
            f"gateway '{self.name}' did not become healthy within {STARTUP_TIMEOUT} s ({last_error}).\n"
            f"config ({self.config_path}):\n{self.config_path.read_text()}\n"
            f"--- gateway output ---\n{self.log_tail(200)}",
            pytrace=False,
        )

    def _wait_healthy(self) -> tuple[bool, str]:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        last = "no answer"
        while time.monotonic() < deadline:
            assert self.proc is not None
            code = self.proc.poll()
            if code is not None:
                return False, f"the process exited with status {code}"
            try:
                response = requests.get(f"{self.base_url}/health", timeout=2)
                if response.status_code == 200:
                    return True, ""
                last = f"/health answered {response.status_code}"
            except requests.RequestException as error:
                last = type(error).__name__
            time.sleep(0.1)
        return False, f"timed out; last: {last}"

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after STOP_TIMEOUT seconds."""
        terminate(self.proc, STOP_TIMEOUT)
        if self in GatewayProcess.running:
            GatewayProcess.running.remove(self)

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_size(self) -> int:
        try:
            return self.log_path.stat().st_size
        except FileNotFoundError:
            return 0

    def log_tail(self, lines: int = 100, since: int = 0) -> str:
        try:
            with open(self.log_path, "rb") as handle:
                handle.seek(since)
                text = handle.read().decode(errors="replace")
        except FileNotFoundError:
            return "(no output)"
        return "\n".join(text.splitlines()[-lines:])

    def health(self) -> dict:
        response = requests.get(f"{self.base_url}/health", timeout=REQUEST_TIMEOUT)
        assert response.status_code == 200, f"/health answered {response.status_code}: {response.text[:500]}"
        return response.json()

    def assert_alive(self) -> None:
        assert self.alive(), (f"gateway '{self.name}' exited with status {self.proc.returncode}\n"
                              f"--- gateway output ---\n{self.log_tail(80)}")
