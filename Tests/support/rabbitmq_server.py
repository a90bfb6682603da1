"""A throwaway RabbitMQ broker for the Python suites, from Debian's rabbitmq-server package.

`RabbitMQServer(work).start()` runs `/usr/lib/rabbitmq/bin/rabbitmq-server` (the real script,
not the /usr/sbin wrapper that switches to the rabbitmq user) with everything under `work`: its
own node name, Mnesia and log directories, config file (AMQP on a free 127.0.0.1 port, no
plugins), Erlang cookie (HOME), distribution port and its own epmd port, so it never meets a
system broker or another test's. Works as root and as any other user. `stop()` ends it (SIGTERM
to its process group, then SIGKILL) and its epmd; `start()` again brings it back on the same
port with the same data (durable queues and persistent messages survive: a broker restart).

Other suites import it: `sys.path.insert(0, "Tests/support")`, `from rabbitmq_server import
RabbitMQServer`.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path


def free_port() -> int:
    """A free TCP port on 127.0.0.1 (standalone: this module imports nothing of the test suites)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]

RABBITMQ_SERVER = Path("/usr/lib/rabbitmq/bin/rabbitmq-server")
STARTUP_TIMEOUT = 90


def amqp_ready(port: int, timeout: float = 2) -> bool:
    """True when the broker answers the AMQP 0-9-1 protocol header with connection.start."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            sock.sendall(b"AMQP\x00\x00\x09\x01")
            first = sock.recv(1)
            return first == b"\x01"  # a method frame
    except OSError:
        return False


class RabbitMQServer:
    def __init__(self, work: Path, port: int | None = None):
        if not RABBITMQ_SERVER.exists():
            raise RuntimeError(f"{RABBITMQ_SERVER} not found: apt-get install rabbitmq-server (scripts/bootstrap.sh does)")
        self.work = Path(work)
        self.port = port or free_port()
        self.dist_port = free_port()
        self.epmd_port = free_port()
        self.node = f"gwtest{self.port}@localhost"
        self.proc: subprocess.Popen | None = None
        self.log_path = self.work / "rabbitmq-console.log"

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/%2f"

    def environment(self) -> dict:
        home = self.work / "home"
        return {
            **os.environ,
            "HOME": str(home),
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "ERL_EPMD_PORT": str(self.epmd_port),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
            "RABBITMQ_MNESIA_BASE": str(self.work / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.work / "log"),
            "RABBITMQ_CONFIG_FILE": str(self.work / "rabbitmq.conf"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(self.work / "advanced.config"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.work / "enabled_plugins"),
            "RABBITMQ_PLUGINS_EXPAND_DIR": str(self.work / "plugins-expand"),
            "RABBITMQ_PID_FILE": str(self.work / "rabbitmq.pid"),
            "RABBITMQ_CONF_ENV_FILE": str(self.work / "rabbitmq-env.conf"),
        }

    def _prepare(self) -> None:
        for name in ("home", "mnesia", "log", "plugins-expand"):
            (self.work / name).mkdir(parents=True, exist_ok=True)
        (self.work / "rabbitmq.conf").write_text(
            f"listeners.tcp.1 = 127.0.0.1:{self.port}\n"
            "loopback_users.guest = true\n"
            "log.console = true\nlog.console.level = warning\nlog.file.level = info\n"
            # Tests fill disks and memory of shared machines little; never block publishers for it.
            "disk_free_limit.absolute = 1MB\n"
            "vm_memory_high_watermark.relative = 0.9\n")
        (self.work / "advanced.config").write_text("[].\n")
        (self.work / "enabled_plugins").write_text("[].\n")
        (self.work / "rabbitmq-env.conf").write_text("")
        cookie = self.work / "home" / ".erlang.cookie"
        if not cookie.exists():
            cookie.write_text("GATEWAYTESTCOOKIE")
            cookie.chmod(0o400)

    def start(self) -> "RabbitMQServer":
        self._prepare()
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [str(RABBITMQ_SERVER)], env=self.environment(), stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                cwd=str(self.work), start_new_session=True)
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"rabbitmq-server exited with {self.proc.returncode}:\n{self.log_tail()}")
            if amqp_ready(self.port):
                return self
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"rabbitmq-server did not accept AMQP on port {self.port} within {STARTUP_TIMEOUT} s:\n"
                           f"{self.log_tail()}")

    def stop(self) -> None:
        """Stops the broker (and the epmd it started); waits until the port is closed."""
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self.proc = None
        # erl starts an epmd of its own (our ERL_EPMD_PORT) that outlives the node: end it.
        epmd = shutil.which("epmd") or "/usr/lib/erlang/bin/epmd"
        subprocess.run([epmd, "-port", str(self.epmd_port), "-kill"], capture_output=True, timeout=10,
                       env=self.environment())
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and amqp_ready(self.port, timeout=0.5):
            time.sleep(0.1)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        text = ""
        for path in [self.log_path, *sorted((self.work / "log").glob("*.log"))]:
            if path.exists():
                text += f"--- {path.name}\n" + "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) + "\n"
        return text
