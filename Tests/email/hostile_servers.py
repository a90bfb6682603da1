"""Scripted, misbehaving IMAP and SMTP servers on 127.0.0.1 (plain TCP) for the hostile-server tests.

`HostileServer(behaviour)` accepts connections on a free port; each is served by `behaviour`, one
of the scenarios below, on a thread of its own. Every socket operation has a timeout and the
server stops (closing every connection) in `stop()`.
"""

from __future__ import annotations

import socket
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))
from gateway_process import free_port  # noqa: E402


class Session:
    def __init__(self, sock: socket.socket, number: int):
        self.sock = sock
        self.number = number  # 1 for the first connection (connect's validation), 2 for the watcher's, …
        self.buffer = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def command(self) -> tuple[str, str, str]:
        """The next command line: (tag, verb, rest)."""
        while b"\r\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("client closed")
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        parts = line.decode(errors="replace").split(" ", 2)
        return parts[0], (parts[1].upper() if len(parts) > 1 else ""), (parts[2] if len(parts) > 2 else "")

    def serve_until(self, verb: str, *, uidvalidity: bytes = b"7") -> str:
        """Answers like a sane server until the client sends `verb`; returns that command's tag."""
        while True:
            tag, command, _rest = self.command()
            if command == verb:
                return tag
            if command == "CAPABILITY":
                self.send(b"* CAPABILITY IMAP4rev1 IDLE\r\n" + tag.encode() + b" OK done\r\n")
            elif command == "LOGIN":
                self.send(tag.encode() + b" OK logged in\r\n")
            elif command == "SELECT":
                self.send(b"* 1 EXISTS\r\n* OK [UIDVALIDITY " + uidvalidity + b"] ok\r\n* OK [UIDNEXT 2] ok\r\n"
                          + tag.encode() + b" OK [READ-WRITE] selected\r\n")
            elif command == "UID":
                self.send(b"* 1 FETCH (UID 1)\r\n" + tag.encode() + b" OK done\r\n")
            elif command == "LOGOUT":
                self.send(b"* BYE\r\n" + tag.encode() + b" OK bye\r\n")
                raise ConnectionError("logout")
            elif command == "IDLE":
                self.send(b"+ idling\r\n")
            else:
                self.send(tag.encode() + b" OK\r\n")


GREETING = b"* OK [CAPABILITY IMAP4rev1 IDLE] hostile ready\r\n"


def garbage_greeting(s: Session) -> None:
    s.send(b"\x00\xff\xfe this is not IMAP at all \x01\x02\r\n" * 3)
    time.sleep(5)


def silent(s: Session) -> None:
    time.sleep(30)


def bye_at_once(s: Session) -> None:
    s.send(b"* BYE not today\r\n")


def huge_literal_on_login(s: Session) -> None:
    s.send(GREETING)
    tag = s.serve_until("LOGIN")
    s.send(b"* OK {4294967295}\r\nshort")
    time.sleep(0.5)


def malformed_select(s: Session) -> None:
    s.send(GREETING)
    tag = s.serve_until("SELECT")
    s.send(b"* EXISTS EXISTS\r\n* OK [UIDVALIDITY notanumber] (\r\n" + tag.encode() + b" OK [[[[\r\n")
    time.sleep(0.5)


def sane_then(s: Session) -> bool:
    """Connection 1 (connect's validation) gets a sane server; True when this one may misbehave."""
    s.send(GREETING)
    if s.number == 1:
        s.serve_until("NEVER")
    return True


def deep_nesting_fetch(s: Session) -> None:
    """While watching: the answer to UID FETCH is nested 100,000 levels deep."""
    if sane_then(s):
        tag = s.serve_until("UID")
        s.send(b"* 1 FETCH (UID 1 BODYSTRUCTURE " + b"(" * 100_000 + b"\r\n")
        time.sleep(0.5)


def truncated_body_fetch(s: Session) -> None:
    """While watching: a new message whose body literal never completes (the server closes)."""
    if sane_then(s):
        tag = s.serve_until("UID")
        s.send(b"* 2 FETCH (UID 2)\r\n" + tag.encode() + b" OK done\r\n")
        tag = s.serve_until("UID")
        s.send(b"* 2 FETCH (UID 2 BODY[] {100000000}\r\nFrom: a@b\r\n")
        time.sleep(0.3)


def huge_literal_fetch(s: Session) -> None:
    """While watching: a FETCH announcing a 4 GB literal."""
    if sane_then(s):
        tag = s.serve_until("UID")
        s.send(b"* 1 FETCH (UID 1 BODY[] {4294967295}\r\n" + b"x" * 1000)
        time.sleep(0.5)


def smtp_garbage_greeting(s: Session) -> None:
    s.send(b"\x00\xffgarbage that is no SMTP reply\r\n" * 3)
    time.sleep(5)


def smtp_silent(s: Session) -> None:
    time.sleep(30)


def smtp_without_starttls(s: Session) -> None:
    """A server that does not offer STARTTLS: the plugin must not fall back to plain text."""
    s.send(b"220 plain.test ESMTP\r\n")
    while True:
        _tag, verb, _rest = s.command()  # SMTP commands parse the same way: first word in `tag`
        word = _tag.upper()
        if word in ("EHLO", "HELO"):
            s.send(b"250-plain.test\r\n250 AUTH PLAIN LOGIN\r\n")
        elif word == "QUIT":
            s.send(b"221 bye\r\n")
            return
        else:
            s.send(b"502 no\r\n")


def smtp_multiline_flood(s: Session) -> None:
    """An endless multi-line greeting."""
    s.send(b"220-")
    for _ in range(200_000):
        s.send(b"220-" + b"x" * 500 + b"\r\n")


class HostileServer:
    def __init__(self, behaviour):
        self.behaviour = behaviour
        self.port = free_port()
        self.listener = socket.create_server(("127.0.0.1", self.port))
        self.listener.settimeout(0.2)
        self.connections = 0
        self.running = True
        self.sockets: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while self.running:
            try:
                sock, _ = self.listener.accept()
            except OSError:
                continue
            self.connections += 1
            sock.settimeout(30)
            self.sockets.append(sock)
            threading.Thread(target=self._serve, args=(sock, self.connections), daemon=True).start()

    def _serve(self, sock: socket.socket, number: int) -> None:
        try:
            self.behaviour(Session(sock, number))
        except (OSError, ConnectionError):
            pass
        finally:
            try:
                sock.close()
            except OSError:
                pass

    def stop(self) -> None:
        self.running = False
        self.thread.join(timeout=2)
        self.listener.close()
        for sock in self.sockets:
            try:
                sock.close()
            except OSError:
                pass
