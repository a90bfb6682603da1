"""A real `fake-dc` child process (plugins/telegram: our MTProto 2.0 server side) for the Telegram
interop suite, plus the Telethon and raw-socket helpers the tests share.

Everything here is bounded in time: the JSON line the DC prints once it listens is awaited for at
most STARTUP_TIMEOUT seconds, the process is stopped with SIGTERM then SIGKILL, and every Telethon
call made through `bounded()` / `connected_client()` has a deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, TypeVar

import pytest
import rsa
from telethon import TelegramClient, functions
from telethon.crypto import rsa as telethon_rsa
from telethon.network import connection as telethon_connection
from telethon.sessions import MemorySession

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))
from polling import eventually  # noqa: E402

# Telethon's own table of Telegram's production keys, before any test adds a fake DC's key.
TELEGRAM_KEYS = dict(telethon_rsa._server_keys)

REPO = Path(__file__).resolve().parents[2]
DEFAULT_BIN = "plugins/telegram/.build/debug/fake-dc"
STARTUP_TIMEOUT = 30
STOP_TIMEOUT = 10
# Every single Telethon await (connect, one request, disconnect) is bounded by this.
CALL_TIMEOUT = 10
# A whole test body (several calls) is bounded by this.
TEST_TIMEOUT = 30

API_ID = 12345
API_HASH = "0123456789abcdef0123456789abcdef"

TRANSPORTS = {
    "full": telethon_connection.ConnectionTcpFull,
    "abridged": telethon_connection.ConnectionTcpAbridged,
    "intermediate": telethon_connection.ConnectionTcpIntermediate,
    "obfuscated": telethon_connection.ConnectionTcpObfuscated,
}

T = TypeVar("T")


# ---------------------------------------------------------------------------------------------
# The fake-dc process


def fake_dc_binary() -> Path:
    """`$FAKE_DC_BIN` (relative to the repository root unless absolute; default the debug build);
    fails clearly when it is missing."""
    path = Path(os.environ.get("FAKE_DC_BIN") or DEFAULT_BIN)
    if not path.is_absolute():
        path = REPO / path
    path = path.resolve()
    if not path.is_file() or not os.access(path, os.X_OK):
        pytest.fail(f"fake-dc binary not found or not executable at {path}: build it "
                    "(`swift build --package-path plugins/telegram --product fake-dc`) or set FAKE_DC_BIN",
                    pytrace=False)
    return path


@dataclass(frozen=True)
class DCInfo:
    """What fake-dc prints once it listens."""
    host: str
    port: int
    dc_id: int
    fingerprint: str          # hex of the key's fingerprint as an unsigned 64-bit integer
    public_key_path: Path
    public_key_pem: str


class FakeDC:
    """One `fake-dc --rsa-key <work>/dc.pem --host 127.0.0.1 --port 0 --dc-id N` process."""

    running: list["FakeDC"] = []

    def __init__(self, name: str, work: Path, binary: Path, dc_id: int = 2):
        self.name = name
        self.work = work
        self.binary = binary
        self.dc_id = dc_id
        self.key_path = work / "dc.pem"
        self.stdout_path = work / "fake-dc.out"
        self.log_path = work / "fake-dc.log"
        self.proc: subprocess.Popen | None = None
        self.info: DCInfo | None = None

    def start(self) -> "FakeDC":
        self.work.mkdir(parents=True, exist_ok=True)
        command = [str(self.binary), "--rsa-key", str(self.key_path), "--host", "127.0.0.1", "--port", "0",
                   "--dc-id", str(self.dc_id)]
        with open(self.stdout_path, "wb") as out, open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(command, stdout=out, stderr=log, stdin=subprocess.DEVNULL,
                                         cwd=str(self.work), start_new_session=True)
        FakeDC.running.append(self)
        line = eventually(self._ready_line, timeout=STARTUP_TIMEOUT, interval=0.05,
                          what=f"fake-dc '{self.name}' to print its JSON line ({' '.join(command)})",
                          last=lambda: self.stdout_path.read_bytes()[:500])
        try:
            data = json.loads(line)
            public_key_path = Path(data["publicKey"])
            self.info = DCInfo(host="127.0.0.1", port=int(data["port"]), dc_id=int(data["dcId"]),
                               fingerprint=str(data["fingerprint"]), public_key_path=public_key_path,
                               public_key_pem=public_key_path.read_text())
        except (ValueError, KeyError, OSError) as error:
            self.stop()
            pytest.fail(f"fake-dc '{self.name}' printed an unusable line {line!r}: {error}", pytrace=False)
        return self

    def _ready_line(self) -> str | None:
        text = self.stdout_path.read_text(errors="replace")
        if "\n" in text:
            return text.split("\n", 1)[0]
        assert self.proc is not None
        code = self.proc.poll()
        if code is not None:
            pytest.fail(f"fake-dc '{self.name}' exited with status {code} before listening\n"
                        f"--- stdout ---\n{text}\n--- stderr ---\n{self.log_tail(80)}", pytrace=False)
        return None

    @property
    def port(self) -> int:
        assert self.info is not None
        return self.info.port

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def assert_alive(self) -> None:
        assert self.alive(), (f"fake-dc '{self.name}' exited with status {self.proc.returncode}\n"
                              f"--- fake-dc stderr ---\n{self.log_tail(80)}")

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after STOP_TIMEOUT seconds."""
        proc = self.proc
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=STOP_TIMEOUT)
        if self in FakeDC.running:
            FakeDC.running.remove(self)

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
        return "\n".join(text.splitlines()[-lines:]) or "(no output)"


# ---------------------------------------------------------------------------------------------
# Telethon


def telethon_fingerprint(public_key_pem: str) -> str:
    """The key's fingerprint as Telethon computes it, in fake-dc's notation (unsigned hex)."""
    key = rsa.PublicKey.load_pkcs1(public_key_pem.encode())
    return format(telethon_rsa._compute_fingerprint(key) & 0xFFFF_FFFF_FFFF_FFFF, "x")


def trust(dc: FakeDC) -> None:
    """Makes Telethon accept the DC's RSA key (Telethon keeps one process-wide key table)."""
    assert dc.info is not None
    telethon_rsa.add_key(dc.info.public_key_pem, old=False)


def new_session(dc: FakeDC) -> MemorySession:
    session = MemorySession()
    session.set_dc(dc.dc_id, "127.0.0.1", dc.port)
    return session


def new_client(dc: FakeDC, transport: str, session: MemorySession | None = None, **options: Any) -> TelegramClient:
    """An unconnected Telethon client for `dc` over `transport` (no retries, 5 s timeouts)."""
    settings: dict[str, Any] = dict(connection=TRANSPORTS[transport], receive_updates=False, connection_retries=0,
                                    retry_delay=0, request_retries=0, auto_reconnect=False, timeout=5)
    settings.update(options)
    return TelegramClient(session or new_session(dc), API_ID, API_HASH, **settings)


async def bounded(awaitable: Awaitable[T], timeout: float = CALL_TIMEOUT, what: str = "call") -> T:
    """`await` with a deadline and a readable failure."""
    try:
        return await asyncio.wait_for(awaitable, timeout)
    except asyncio.TimeoutError:
        pytest.fail(f"{what} did not complete within {timeout} s", pytrace=False)


@contextlib.asynccontextmanager
async def connected_client(dc: FakeDC, transport: str, session: MemorySession | None = None,
                           **options: Any) -> AsyncIterator[TelegramClient]:
    client = new_client(dc, transport, session, **options)
    await bounded(client.connect(), what=f"Telethon connect over {transport}")
    try:
        yield client
    finally:
        await asyncio.wait_for(client.disconnect(), CALL_TIMEOUT)


def run(body: Awaitable[T], timeout: float = TEST_TIMEOUT) -> T:
    """Runs one async test body on a fresh event loop, bounded as a whole."""
    async def main() -> T:
        return await bounded(body, timeout, what="the test body")
    return asyncio.run(main())


async def ping(client: TelegramClient, ping_id: int) -> None:
    pong = await bounded(client(functions.PingRequest(ping_id=ping_id)), what=f"ping {ping_id}")
    assert pong.ping_id == ping_id, pong


def check_serves(dc: FakeDC, transport: str = "abridged") -> None:
    """The DC is alive and a fresh Telethon client completes a handshake and a ping."""
    dc.assert_alive()

    async def body() -> None:
        async with connected_client(dc, transport) as client:
            await ping(client, 0x5EEDF00D)
    run(body())
    dc.assert_alive()


# ---------------------------------------------------------------------------------------------
# Raw sockets (no Telethon)


def raw_connect(dc: FakeDC, timeout: float = 5) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", dc.port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def read_until_closed(sock: socket.socket, timeout: float, enough: int | None = None) -> tuple[bytes, bool]:
    """Reads what the server sends for up to `timeout` seconds (or until `enough` bytes came);
    (bytes, True if it closed)."""
    received = b""
    deadline = time.monotonic() + timeout
    while enough is None or len(received) < enough:
        left = deadline - time.monotonic()
        if left <= 0:
            return received, False
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            return received, False
        except ConnectionResetError:
            return received, True
        if not chunk:
            return received, True
        received += chunk
    return received, False


def abridged_frame(payload: bytes) -> bytes:
    words = len(payload) // 4
    assert len(payload) % 4 == 0
    if words < 0x7F:
        return bytes([words]) + payload
    return b"\x7f" + words.to_bytes(3, "little") + payload


def plain_message(body: bytes, msg_id: int | None = None) -> bytes:
    """An unencrypted MTProto message: auth_key_id 0, msg_id, length, body."""
    if msg_id is None:
        msg_id = (int(time.time()) << 32) | 4
    return struct.pack("<qqi", 0, msg_id, len(body)) + body
