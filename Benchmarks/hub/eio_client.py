"""Lean Engine.IO v4 / Socket.IO v4 load-generator worker (raw WebSocket over asyncio).

One worker process holds many client connections. Each connection is a bare asyncio.Protocol:
it sends the HTTP upgrade to `/socket.io/?EIO=4&transport=websocket`, parses server frames by
hand (servers never mask), answers `2` with `3` and the gateway's application `ping` event with
a `pong` event, authenticates with `40{"token": ...}`, and counts `42["event",...]` packets.
Latency = receive time − the send time embedded in the event's `content` (`"<unix time>"` or
`"echo: <unix time>"`), kept as a 0.1 ms histogram so workers merge cheaply.

The parent drives workers over a multiprocessing Pipe with small command tuples (see `_handle`).
Everything here binds to 127.0.0.1 only and every wait is bounded.
"""

from __future__ import annotations

import asyncio
import base64
import os
import resource
import socket
import struct
import time
from array import array

HIST_BUCKETS = 100_000  # 0.1 ms buckets: 0 .. 10 s, the last bucket holds everything slower
CONTENT_KEY = b'"content":"'
ECHO_PREFIX = b"echo: "

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


def mask_frame(opcode: int, payload: bytes) -> bytes:
    """A client frame (clients must mask; a random key, payloads here are tiny)."""
    key = os.urandom(4)
    n = len(payload)
    if n < 126:
        header = bytes((0x80 | opcode, 0x80 | n))
    elif n < 65536:
        header = bytes((0x80 | opcode, 0x80 | 126)) + struct.pack("!H", n)
    else:
        header = bytes((0x80 | opcode, 0x80 | 127)) + struct.pack("!Q", n)
    if n:
        repeated = (key * (n // 4 + 1))[:n]
        masked = (int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")).to_bytes(n, "big")
    else:
        masked = b""
    return header + key + masked


class Stats:
    """Per-worker counters (reset between measurement steps)."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.events = 0
        self.unparsed = 0
        self.first_recv = 0.0
        self.last_recv = 0.0
        self.hist = array("I", bytes(4 * HIST_BUCKETS))


class EIOClient(asyncio.Protocol):
    __slots__ = (
        "worker", "auth_packet", "request", "transport", "buf", "upgraded", "frag", "state", "connected",
        "started", "handshake", "error",
    )

    def __init__(self, worker: "Worker", auth_packet: bytes, request: bytes) -> None:
        self.worker = worker
        self.auth_packet = auth_packet
        self.request = request
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.upgraded = False
        self.frag: bytearray | None = None
        self.state = "connecting"  # connecting → open → closed
        self.connected: asyncio.Future = asyncio.get_running_loop().create_future()
        self.started = time.perf_counter()
        self.handshake = 0.0
        self.error = ""

    # -- asyncio.Protocol

    def connection_made(self, transport) -> None:  # type: ignore[override]
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
        transport.write(self.request)

    def connection_lost(self, exc) -> None:  # type: ignore[override]
        if self.state == "open":
            self.worker.lost += 1  # the server dropped a connection we did not close
        self.state = "closed"
        if not self.connected.done():
            self.connected.set_result(False)
            if not self.error:
                self.error = f"connection lost: {exc}"

    def data_received(self, data: bytes) -> None:  # type: ignore[override]
        if self.buf or not self.upgraded:
            buf = self.buf
            buf += data
        else:
            buf = data  # the common case: whole frames, parse the bytes without copying them first
        if not self.upgraded:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            status_line = bytes(buf[: buf.find(b"\r\n")])
            if b" 101 " not in status_line:
                self._fail(f"upgrade refused: {status_line[:80]!r}")
                return
            del buf[: end + 4]
            self.upgraded = True
        now = 0.0
        pos = 0
        size = len(buf)
        while size - pos >= 2:
            b0 = buf[pos]
            length = buf[pos + 1] & 0x7F
            header = 2
            if length == 126:
                if size - pos < 4:
                    break
                length = (buf[pos + 2] << 8) | buf[pos + 3]
                header = 4
            elif length == 127:
                if size - pos < 10:
                    break
                length = int.from_bytes(buf[pos + 2 : pos + 10], "big")
                header = 10
            end = pos + header + length
            if end > size:
                break
            payload = bytes(buf[pos + header : end])
            pos = end
            opcode = b0 & 0x0F
            if not b0 & 0x80:  # fragment
                if opcode != OP_CONT:
                    self.frag = bytearray(payload)
                elif self.frag is not None:
                    self.frag += payload
                continue
            if opcode == OP_CONT:
                if self.frag is None:
                    continue
                self.frag += payload
                payload = bytes(self.frag)
                self.frag = None
                opcode = OP_TEXT
            if opcode == OP_TEXT:
                # --- hot path: an event broadcast
                if payload.startswith(b'42["event"'):
                    if not now:
                        now = time.time()
                    self._event(payload, now)
                else:
                    self._packet(payload)
            elif opcode == OP_PING:
                self.transport.write(mask_frame(OP_PONG, payload))
            elif opcode == OP_CLOSE:
                self.state = "closed"
                self.transport.close()
                break
        if buf is self.buf:
            if pos:
                del buf[:pos]
        elif pos < size:
            self.buf += buf[pos:]

    # -- Engine.IO / Socket.IO

    def _event(self, payload: bytes, now: float) -> None:
        stats = self.worker.stats
        stats.events += 1
        if not stats.first_recv:
            stats.first_recv = now
        stats.last_recv = now
        i = payload.find(CONTENT_KEY)
        if i < 0:
            stats.unparsed += 1
            return
        i += 11
        j = payload.find(b'"', i)
        if payload.startswith(ECHO_PREFIX, i):
            i += 6
        try:
            sent = float(payload[i:j])
        except ValueError:
            stats.unparsed += 1
            return
        bucket = int((now - sent) * 10_000.0)
        if bucket < 0:
            bucket = 0
        elif bucket >= HIST_BUCKETS:
            bucket = HIST_BUCKETS - 1
        stats.hist[bucket] += 1

    def _packet(self, payload: bytes) -> None:
        kind = payload[:1]
        if kind == b"2":  # Engine.IO ping
            self.transport.write(mask_frame(OP_TEXT, b"3" + payload[1:]))
        elif kind == b"0":  # open → Socket.IO CONNECT with auth
            self.transport.write(mask_frame(OP_TEXT, self.auth_packet))
        elif kind == b"4":
            sub = payload[1:2]
            if sub == b"0":
                if not self.connected.done():
                    self.handshake = time.perf_counter() - self.started
                    self.state = "open"
                    self.connected.set_result(True)
            elif sub == b"2":
                if payload.startswith(b'42["ping"'):  # the gateway's application heartbeat
                    self.transport.write(mask_frame(OP_TEXT, b'42["pong"]'))
            elif sub == b"4":
                self._fail(f"connect_error: {payload[:120]!r}")
            elif sub == b"1":
                self.worker.server_disconnects += 1
        elif kind == b"1":  # Engine.IO close
            self.worker.server_disconnects += 1

    def _fail(self, message: str) -> None:
        self.error = message
        if not self.connected.done():
            self.connected.set_result(False)
        if self.transport is not None:
            self.transport.close()

    def abort(self) -> None:
        """Closes with a RST (SO_LINGER 0): no TIME_WAIT pile-up after 10,000 connections."""
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        sock = transport.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass
        transport.abort()


class Worker:
    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self.clients: list[EIOClient] = []
        self.stats = Stats()
        self.tokens: list[str] = []
        self.lost = 0
        self.server_disconnects = 0
        key = base64.b64encode(os.urandom(16)).decode()
        self.request = (
            f"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        ).encode()

    async def connect(self, count: int, concurrency: int, timeout: float) -> dict:
        loop = asyncio.get_running_loop()
        tokens = self.tokens[:count]
        self.tokens = self.tokens[count:]
        if len(tokens) < count:
            return {"ok": 0, "failed": count, "errors": ["not enough tokens prepared"], "handshakes": []}
        semaphore = asyncio.Semaphore(concurrency)
        deadline = time.perf_counter() + timeout
        ok = 0
        errors: list[str] = []
        handshakes: list[float] = []

        async def one(token: str) -> None:
            nonlocal ok
            async with semaphore:
                auth = b'40{"token":"' + token.encode() + b'"}'
                client = EIOClient(self, auth, self.request)
                remaining = deadline - time.perf_counter()
                try:
                    if remaining <= 0:
                        raise asyncio.TimeoutError()
                    await asyncio.wait_for(loop.create_connection(lambda: client, self.host, self.port), remaining)
                    good = await asyncio.wait_for(asyncio.shield(client.connected), max(0.01, deadline - time.perf_counter()))
                except (OSError, asyncio.TimeoutError) as error:
                    good = False
                    client.error = client.error or f"{type(error).__name__}: {error}"
                    client.abort()
                if good:
                    ok += 1
                    handshakes.append(client.handshake)
                    self.clients.append(client)
                elif len(errors) < 5:
                    errors.append(client.error or "refused")

        start = time.perf_counter()
        await asyncio.gather(*(one(t) for t in tokens))
        return {
            "ok": ok, "failed": count - ok, "errors": errors, "handshakes": handshakes,
            "seconds": time.perf_counter() - start,
        }

    def close_all(self) -> int:
        n = len(self.clients)
        for client in self.clients:
            client.state = "closed"
            client.abort()
        self.clients = []
        return n

    def snapshot(self, with_hist: bool) -> dict:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        result = {
            "events": self.stats.events, "unparsed": self.stats.unparsed, "first_recv": self.stats.first_recv,
            "last_recv": self.stats.last_recv, "cpu": usage.ru_utime + usage.ru_stime,
            "open": sum(1 for c in self.clients if c.state == "open"), "server_disconnects": self.server_disconnects,
            "lost": self.lost,
        }
        if with_hist:  # sparse: {bucket: count}
            result["hist"] = {i: v for i, v in enumerate(self.stats.hist) if v}
        return result


def _raise_nofile() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError):
            pass


def worker_main(ctrl, host: str, port: int, secret: str, org: str, index: int, use_uvloop: bool) -> None:
    """Entry point of a load-generator process; serves commands from `ctrl` until `quit`."""
    _raise_nofile()
    if use_uvloop:
        try:
            import uvloop  # type: ignore

            asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
        except ImportError:
            pass
    asyncio.run(_serve(ctrl, host, port, secret, org, index))


async def _serve(ctrl, host: str, port: int, secret: str, org: str, index: int) -> None:
    import jwt  # PyJWT

    loop = asyncio.get_running_loop()
    worker = Worker(host, port)
    done = loop.create_future()
    queue: asyncio.Queue = asyncio.Queue()

    def readable() -> None:
        try:
            message = ctrl.recv()
        except (EOFError, OSError):
            message = ("quit",)
        queue.put_nowait(message)

    loop.add_reader(ctrl.fileno(), readable)
    serial = 0

    async def handle(message: tuple):
        nonlocal serial
        command = message[0]
        if command == "tokens":
            count = message[1]
            expires = int(time.time()) + 3600
            for _ in range(count):
                serial += 1
                claims = {"sub": f"bench-{index}-{serial}", "organizationId": org, "role": "agent", "exp": expires}
                worker.tokens.append(jwt.encode(claims, secret, algorithm="HS256"))
            return {"tokens": len(worker.tokens)}
        if command == "connect":
            _, count, concurrency, timeout = message
            return await worker.connect(count, concurrency, timeout)
        if command == "reset":
            worker.stats.reset()
            return worker.snapshot(False)
        if command == "count":
            return worker.snapshot(False)
        if command == "stats":
            return worker.snapshot(True)
        if command == "close_all":
            return {"closed": worker.close_all()}
        if command == "quit":
            worker.close_all()
            done.set_result(None)
            return {"bye": True}
        return {"error": f"unknown command {command}"}

    while not done.done():
        message = await queue.get()
        try:
            reply = await handle(message)
        except Exception as error:  # report, never hang the parent
            reply = {"error": f"{type(error).__name__}: {error}"}
        os.set_blocking(ctrl.fileno(), True)  # add_reader (uvloop) made it non-blocking
        ctrl.send(reply)
    loop.remove_reader(ctrl.fileno())
    await asyncio.sleep(0.05)
