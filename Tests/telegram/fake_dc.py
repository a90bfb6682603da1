"""A real `fake-dc` child process (plugins/telegram: our MTProto 2.0 server side) for the Telegram
interop suite, plus the Telethon and raw-socket helpers the tests share. `FakeWorld` runs it with
`--world`: DCs sharing a fake Telegram (users, chats, login, updates) scripted over its stdin.

Everything here is bounded in time: the JSON line the DC prints once it listens is awaited for at
most STARTUP_TIMEOUT seconds, each world command's answer for at most COMMAND_TIMEOUT seconds, the
process is stopped with SIGTERM then SIGKILL, and every Telethon call made through `bounded()` /
`connected_client()` has a deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import queue
import socket
import struct
import subprocess
import sys
import threading
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
from gateway_process import terminate  # noqa: E402
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
# One `fake-dc --world` command's answer is awaited for at most this long.
COMMAND_TIMEOUT = 10

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
    data_centers: dict[int, int]   # every DC of the process: id → port


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
        command = self.command_line()
        self._spawn(command)
        FakeDC.running.append(self)
        line = eventually(self._ready_line, timeout=STARTUP_TIMEOUT, interval=0.05,
                          what=f"fake-dc '{self.name}' to print its JSON line ({' '.join(command)})",
                          last=lambda: self.stdout_path.read_bytes()[:500])
        try:
            data = json.loads(line)
            public_key_path = Path(data["publicKey"])
            if not public_key_path.is_absolute():
                public_key_path = self.work / public_key_path
            data_centers = {int(dc): int(port) for dc, port in data.get("dataCenters", {}).items()}
            self.info = DCInfo(host="127.0.0.1", port=int(data["port"]), dc_id=int(data["dcId"]),
                               fingerprint=str(data["fingerprint"]), public_key_path=public_key_path,
                               public_key_pem=public_key_path.read_text(),
                               data_centers=data_centers or {int(data["dcId"]): int(data["port"])})
        except (ValueError, KeyError, OSError) as error:
            self.stop()
            pytest.fail(f"fake-dc '{self.name}' printed an unusable line {line!r}: {error}", pytrace=False)
        return self

    def command_line(self) -> list[str]:
        return [str(self.binary), "--rsa-key", str(self.key_path), "--host", "127.0.0.1", "--port", "0",
                "--dc-id", str(self.dc_id)]

    def _spawn(self, command: list[str]) -> None:
        with open(self.stdout_path, "wb") as out, open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(command, stdout=out, stderr=log, stdin=subprocess.DEVNULL,
                                         cwd=str(self.work), start_new_session=True)

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
        terminate(self.proc, STOP_TIMEOUT)
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


class WorldCommandError(AssertionError):
    """`fake-dc --world` answered `{"ok": false, "error": …}`."""

    def __init__(self, command: dict, reply: dict):
        super().__init__(f"fake-dc world command {command!r} failed: {reply.get('error')!r}")
        self.command = command
        self.reply = reply
        self.error = str(reply.get("error"))


class FakeWorld(FakeDC):
    """`fake-dc --world [--login-code C] [--extra-dc-id N]...`: DCs sharing one FakeTelegramWorld
    (users, chats, login with code/2FA/PHONE_MIGRATE, updates), scripted through JSON-line commands
    on the process's stdin; each answer is one JSON line on its stdout, awaited for at most
    COMMAND_TIMEOUT seconds. Closing stdin ends the process (status 0).

        world = FakeWorld("w", tmp_path / "dc", fake_dc_binary(), login_code="12345", extra_dc_ids=[4]).start()
        ann = world.add_user("+15550001", "Ann")["userId"]
        world.deliver(bob, ann, "hi")
        world.messages(ann)   # [{"id", "chatPeer": {"type", "id"}, "fromId", "text", "date", "out", "replyTo", "service"}]
    """

    def __init__(self, name: str, work: Path, binary: Path, dc_id: int = 2, *, login_code: str | None = None,
                 extra_dc_ids: list[int] | tuple[int, ...] = ()):
        super().__init__(name, work, binary, dc_id)
        self.login_code = login_code
        self.extra_dc_ids = list(extra_dc_ids)
        self._answers: queue.Queue[str | None] = queue.Queue()
        self._lock = threading.Lock()
        self._broken: str | None = None
        self.exit_code: int | None = None

    def command_line(self) -> list[str]:
        command = super().command_line() + ["--world"]
        if self.login_code is not None:
            command += ["--login-code", self.login_code]
        for dc_id in self.extra_dc_ids:
            command += ["--extra-dc-id", str(dc_id)]
        return command

    def _spawn(self, command: list[str]) -> None:
        self.stdout_path.write_bytes(b"")
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, stdin=subprocess.PIPE,
                                         cwd=str(self.work), start_new_session=True)
        threading.Thread(target=self._read_stdout, args=(self.proc,), name=f"fake-dc {self.name} stdout",
                         daemon=True).start()

    def _read_stdout(self, proc: subprocess.Popen) -> None:
        """Copies stdout to fake-dc.out (its first line is the ready line the base class waits for)
        and queues every later line as a command's answer; None at end of output."""
        assert proc.stdout is not None
        first = True
        with open(self.stdout_path, "ab") as copy:
            for raw in proc.stdout:
                copy.write(raw)
                copy.flush()
                if first:
                    first = False
                    continue
                self._answers.put(raw.decode(errors="replace").rstrip("\n"))
        proc.stdout.close()
        self._answers.put(None)

    @property
    def data_centers(self) -> dict[int, int]:
        assert self.info is not None
        return self.info.data_centers

    # protocol ----------------------------------------------------------------------------

    def raw(self, line: str | bytes, timeout: float = COMMAND_TIMEOUT) -> dict:
        """Sends one line as is (without its newline) and returns the decoded answer (whatever its `ok`)."""
        data = line if isinstance(line, bytes) else line.encode()
        with self._lock:
            if self._broken:
                pytest.fail(f"fake-dc world '{self.name}' is unusable: {self._broken}", pytrace=False)
            proc = self.proc
            assert proc is not None and proc.stdin is not None
            if proc.poll() is not None:
                pytest.fail(f"fake-dc world '{self.name}' exited with status {proc.returncode}\n"
                            f"--- stderr ---\n{self.log_tail(80)}", pytrace=False)
            try:
                proc.stdin.write(data + b"\n")
                proc.stdin.flush()
            except (BrokenPipeError, OSError) as error:
                self._broken = f"writing a command failed: {error!r}"
                pytest.fail(f"fake-dc world '{self.name}': {self._broken}\n--- stderr ---\n{self.log_tail(80)}",
                            pytrace=False)
            try:
                answer = self._answers.get(timeout=timeout)
            except queue.Empty:
                self._broken = f"no answer to {line[:200]!r} within {timeout} s"
                pytest.fail(f"fake-dc world '{self.name}': {self._broken}\n--- stderr ---\n{self.log_tail(80)}",
                            pytrace=False)
            if answer is None:
                self._broken = "its stdout ended"
                self._answers.put(None)
                pytest.fail(f"fake-dc world '{self.name}' ended its output while answering {line[:200]!r} "
                            f"(status {proc.poll()})\n--- stderr ---\n{self.log_tail(80)}", pytrace=False)
            try:
                reply = json.loads(answer)
            except ValueError:
                self._broken = f"answered {answer[:300]!r}, not JSON"
                pytest.fail(f"fake-dc world '{self.name}' {self._broken}", pytrace=False)
            assert isinstance(reply, dict) and isinstance(reply.get("ok"), bool), f"not an answer: {answer[:300]!r}"
            return reply

    def command(self, cmd: str, timeout: float = COMMAND_TIMEOUT, **fields: Any) -> dict:
        """Sends `{"cmd": cmd, **fields}`; the answer, or WorldCommandError when it is not ok."""
        command = {"cmd": cmd, **fields}
        reply = self.raw(json.dumps(command), timeout=timeout)
        if not reply["ok"]:
            raise WorldCommandError(command, reply)
        return reply

    # scripting ---------------------------------------------------------------------------

    def add_user(self, phone: str, first_name: str, last_name: str | None = None, username: str | None = None,
                 password: str | None = None, home_dc: int = 2, password_hint: str | None = None) -> dict:
        """{"userId", "accessHash"}"""
        return self.command("add_user", phone=phone, firstName=first_name, lastName=last_name, username=username,
                            password=password, passwordHint=password_hint, homeDc=home_dc)

    def user(self, user_id: int) -> dict:
        return self.command("user", userId=user_id)["user"]

    def code_for(self, phone: str) -> str:
        """The code of the last auth.sendCode for `phone`."""
        return self.command("code_for", phone=phone)["code"]

    def deliver(self, from_id: int, to_id: int, text: str) -> int:
        """A private message from another app; returns its id in the recipient's box."""
        return self.command("deliver", **{"from": from_id, "to": to_id, "text": text})["messageId"]

    def messages(self, user_id: int) -> list[dict]:
        return self.command("messages", userId=user_id)["messages"]

    def create_group(self, title: str, members: list[int]) -> int:
        return self.command("create_group", title=title, members=members)["chatId"]

    def create_channel(self, title: str, members: list[int], megagroup: bool = True) -> int:
        return self.command("create_channel", title=title, members=members, megagroup=megagroup)["channelId"]

    def deliver_group(self, from_id: int, group_id: int, text: str) -> int:
        return self.command("deliver_group", **{"from": from_id, "to": group_id, "text": text})["messageId"]

    def channel_messages(self, channel_id: int) -> list[dict]:
        return self.command("channel_messages", channelId=channel_id)["messages"]

    def withhold(self, user_id: int, withheld: bool = True) -> None:
        self.command("withhold", userId=user_id, withheld=withheld)

    def revoke(self, user_id: int) -> None:
        self.command("revoke", userId=user_id)

    def state(self, user_id: int) -> dict:
        """{"pts", "seq"} of the user's common update sequence."""
        reply = self.command("state", userId=user_id)
        return {"pts": reply["pts"], "seq": reply["seq"]}

    # lifetime ----------------------------------------------------------------------------

    def close_input(self, timeout: float = STOP_TIMEOUT) -> int | None:
        """Closes stdin (the process should exit 0); its status, or None if still running after `timeout`."""
        proc = self.proc
        if proc is None:
            return None
        with contextlib.suppress(OSError):
            if proc.stdin is not None and not proc.stdin.closed:
                proc.stdin.close()
        try:
            self.exit_code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        return self.exit_code

    def stop(self) -> None:
        """Closes stdin, then SIGTERM, then SIGKILL."""
        if self.proc is not None and self.proc.poll() is None:
            self.close_input(timeout=STOP_TIMEOUT)
        super().stop()


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
