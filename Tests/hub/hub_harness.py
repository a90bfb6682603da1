"""Real gateway processes, tokens, REST helpers and Socket.IO clients for the hub tests.

Everything talks to 127.0.0.1 only and is bounded in time: every HTTP request has a timeout,
every wait has a deadline, a gateway that does not answer /health within STARTUP_TIMEOUT fails
the test that needed it, and a gateway is stopped with SIGTERM, then SIGKILL.
"""

from __future__ import annotations

import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Callable

import engineio.payload
import jwt
import pytest
import requests
import socketio

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))
from gateway_process import GatewayProcess as SharedGatewayProcess, free_port, gateway_binary  # noqa: E402,F401
from polling import eventually  # noqa: E402,F401 (re-exported)

# python-engineio's client refuses a long-polling response of more than 16 packets (its own
# safety limit, not a protocol rule); a server may flush a whole backlog (e.g. a recovery replay)
# in one response, so the test clients accept large ones.
engineio.payload.Payload.max_decode_packets = 100_000

REPO = Path(__file__).resolve().parents[2]
REQUEST_TIMEOUT = 10
# 44 characters: HS256 needs at least 32 bytes (RFC 7518 §3.2).
JWT_SECRET = "hub-tests-secret-0123456789-abcdefghijklmnop"
assert len(JWT_SECRET) >= 32

TRANSPORTS = ["websocket", "polling"]



# --------------------------------------------------------------------------------------------
# Binary, ports, configuration


def gateway_config(work: Path, binary: Path, hub: dict | None = None) -> dict:
    """A gateway.yaml (as a dict): SQLite under `work`, loopback + c-echo by absolute path,
    everything routed to [store, hub], a generous API rate limit and the given `hub:` keys."""
    config: dict[str, Any] = {
        "version": 1,
        "server": {"host": "127.0.0.1", "cors_origin": "*"},
        "auth": {"jwt": {"secret": JWT_SECRET}},
        "storage": {"sqlite": {"path": str(work / "gateway.sqlite")}},
        "api": {"rate_limit_per_minute": 100000},
        "plugins": [
            {"name": "loopback", "path": str(binary.parent / "libLoopbackChannel.so")},
            {"name": "c-echo", "path": str(binary.parent / "libCEchoChannel.so")},
        ],
        "routes": [{"name": "everything", "match": {}, "to": ["store", "hub"]}],
        "metrics": {"public": True},
        "logging": {"level": "info"},
    }
    # Engine.IO heartbeat: 5 s + 5 s instead of the default 25 s + 20 s, so that a client that
    # went away without a word (python-engineio sometimes drops its close packet when it
    # disconnects a polling session) is noticed within a test's time.
    config["hub"] = {"ping_interval_ms": 5000, "ping_timeout_ms": 5000, **(hub or {})}
    return config


class GatewayProcess(SharedGatewayProcess):
    """A gateway for the hub tests: the hub suite's config with the given `hub:` keys."""

    def __init__(self, name: str, work: Path, binary: Path, hub: dict | None = None):
        self.hub_config = dict(hub or {})
        super().__init__(name, work, gateway_config(work, binary, hub), binary)

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/socket.io/?EIO=4&transport=websocket"


# --------------------------------------------------------------------------------------------
# Tokens


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def make_token(org: str, role: str = "admin", *, sub: str | None = None, email: str | None = None,
               exp_in: int = 3600, secret: str = JWT_SECRET, omit: tuple[str, ...] = (), **extra: Any) -> str:
    """HS256 JWT with the claims of the original services: sub, organizationId, email, role, iat, exp."""
    user = sub or f"user-{org}-{role}"
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": user, "organizationId": org, "email": email or f"{user}@example.test", "role": role,
        "iat": now, "exp": now + exp_in,
    }
    claims.update(extra)
    for name in omit:
        claims.pop(name, None)
    return jwt.encode(claims, secret, algorithm="HS256")


class Principal:
    """A user of an organization: its token and a REST client."""

    def __init__(self, gateway: GatewayProcess, org: str, role: str = "admin", user: str | None = None):
        self.gateway = gateway
        self.org = org
        self.role = role
        self.user = user or unique(f"user-{org}")
        self.email = f"{self.user}@example.test"
        self.token = make_token(org, role, sub=self.user, email=self.email)
        self.session = requests.Session()
        self.session.trust_env = False  # never through a proxy: 127.0.0.1 only

    def request(self, method: str, path: str, body: Any = None, expect: int | tuple[int, ...] | None = None,
                **kw: Any) -> requests.Response:
        response = self.session.request(
            method, self.gateway.base_url + path, json=body,
            headers={"Authorization": f"Bearer {self.token}"}, timeout=REQUEST_TIMEOUT, **kw)
        if expect is not None:
            expected = (expect,) if isinstance(expect, int) else expect
            assert response.status_code in expected, (
                f"{method} {path} answered {response.status_code} (expected {expected}): {response.text[:500]}")
        return response

    def connect_account(self) -> dict:
        """Connects a loopback account (BD_ACCOUNT_CONNECTED) and waits until it is connected."""
        account = self.request("POST", "/api/bd-accounts/connect", {"platform": "loopback"}, expect=202).json()
        deadline = time.monotonic() + 10
        while account.get("status") != "connected":
            assert time.monotonic() < deadline, f"account never connected: {account}"
            time.sleep(0.05)
            account = self.request("GET", f"/api/bd-accounts/{account['id']}", expect=200).json()
        return account

    def send(self, account: dict, chat: str, text: str) -> dict:
        """Stores an outbound message (MESSAGE_SENT); loopback answers `echo: <text>` (MESSAGE_RECEIVED)."""
        return self.request("POST", "/api/messaging/send", {
            "channel": "loopback", "channelId": chat, "content": text, "bdAccountId": account["id"],
        }, expect=201).json()


# --------------------------------------------------------------------------------------------
# Socket.IO client


class HubClient:
    """A python-socketio client that records every server event in arrival order.

    python-engineio runs each message handler in a thread of its own, which can reorder events;
    this client makes the handlers run on the reading thread so `received` is in wire order.
    `answer_pings=False` makes a client that ignores the server's application `ping` events.
    """

    def __init__(self, gateway: GatewayProcess, token: str | None, transport: str, *,
                 offset: int | None = None, answer_pings: bool = True, auth: Any = ...):
        self.gateway = gateway
        self.transport = transport
        self.answer_pings = answer_pings
        if auth is ...:
            auth = {} if token is None else {"token": token}
            if offset is not None:
                auth["offset"] = offset
        self.auth = auth
        self.received: list[tuple[str, Any]] = []
        self.connect_errors: list[Any] = []
        self.disconnects: list[Any] = []
        self.disconnected_at: float | None = None
        self.lock = threading.Condition()
        self.sio = socketio.Client(reconnection=False, logger=False, engineio_logger=False,
                                   request_timeout=10)
        original = self.sio.eio._trigger_event

        def in_order(event, *args, **kwargs):
            if event == "message":
                kwargs["run_async"] = False
            return original(event, *args, **kwargs)

        self.sio.eio._trigger_event = in_order
        self.sio.on("*", self._record)
        self.sio.on("ping", self._on_ping)
        self.sio.on("connect_error", self._on_connect_error)
        self.sio.on("disconnect", self._on_disconnect)

    # handlers ----------------------------------------------------------------------------

    def _record(self, name: str, *args: Any) -> None:
        with self.lock:
            self.received.append((name, args[0] if len(args) == 1 else list(args)))
            self.lock.notify_all()

    def _on_ping(self, *args: Any) -> None:
        self._record("ping", *args)
        if self.answer_pings:
            self.sio.emit("pong", {"timestamp": int(time.time() * 1000)})

    def _on_connect_error(self, data: Any = None) -> None:
        with self.lock:
            self.connect_errors.append(data)
            self.lock.notify_all()

    def _on_disconnect(self, *args: Any) -> None:
        with self.lock:
            self.disconnects.append(args[0] if args else None)
            self.disconnected_at = time.monotonic()
            self.lock.notify_all()

    # actions -----------------------------------------------------------------------------

    def connect(self, timeout: float = 10) -> "HubClient":
        self.sio.connect(self.gateway.base_url, auth=self.auth, transports=[self.transport],
                         wait_timeout=timeout)
        self.wait_event("connected", timeout=timeout)
        return self

    def try_connect(self, timeout: float = 10) -> Any:
        """Connects expecting a refusal: returns the CONNECT_ERROR data (fails if it connects)."""
        try:
            self.sio.connect(self.gateway.base_url, auth=self.auth, transports=[self.transport],
                             wait_timeout=timeout)
        except socketio.exceptions.ConnectionError:
            with self.lock:
                assert self.connect_errors, "connection failed without a CONNECT_ERROR"
                return self.connect_errors[-1]
        self.close()
        pytest.fail(f"the connection was admitted (auth={self.auth!r}); events: {self.received[:5]}",
                    pytrace=False)

    def emit(self, event: str, *args: Any) -> None:
        self.sio.emit(event, args[0] if len(args) == 1 else tuple(args) if args else None)

    def call(self, event: str, data: Any, timeout: float = 10) -> Any:
        return self.sio.call(event, data, timeout=timeout)

    def close(self) -> None:
        """Disconnects like the JavaScript client: the Socket.IO DISCONNECT packet is flushed to the
        server before the transport is closed. (python-socketio's own `disconnect()` may close a
        WebSocket before its queued packets are written; the server's handling of a transport that
        ends without them is tested on its own, in test_hub.py.)"""
        sio = self.sio
        try:
            if sio.connected:
                sio._send_packet(sio.packet_class(socketio.packet.DISCONNECT, namespace="/"))
                deadline = time.monotonic() + 3
                while sio.eio.queue.unfinished_tasks and time.monotonic() < deadline:
                    time.sleep(0.01)
            if sio.eio.state == "connected":
                sio.eio.disconnect()
        except Exception:  # noqa: BLE001 - closing a client that is already gone
            pass

    # observations ------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self.sio.connected

    def events(self, name: str) -> list[Any]:
        with self.lock:
            return [payload for event, payload in self.received if event == name]

    def wait_for(self, predicate: Callable[[str, Any], bool], *, timeout: float = 10, what: str = "an event",
                 count: int = 1) -> list[Any]:
        """Waits until `count` received events satisfy `predicate(name, payload)`; returns their payloads."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while True:
                found = [payload for name, payload in self.received if predicate(name, payload)]
                if len(found) >= count:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    summary = [(n, p if n != "event" else {"type": p.get("type"), "offset": p.get("offset")})
                               for n, p in self.received[-30:]]
                    pytest.fail(f"timed out after {timeout} s waiting for {what} (have {len(found)} of {count}); "
                                f"received: {summary}; disconnects: {self.disconnects}", pytrace=False)
                self.lock.wait(remaining)

    def wait_event(self, name: str, timeout: float = 10, match: Callable[[Any], bool] = lambda p: True) -> Any:
        return self.wait_for(lambda n, p: n == name and match(p), timeout=timeout, what=f"event {name!r}")[0]

    def wait_disconnect(self, timeout: float) -> Any:
        deadline = time.monotonic() + timeout
        with self.lock:
            while not self.disconnects:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    pytest.fail(f"not disconnected within {timeout} s; received: {self.received[-10:]}",
                                pytrace=False)
                self.lock.wait(remaining)
            return self.disconnects[0]

    def system_events(self, match: Callable[[dict], bool] = lambda e: True) -> list[dict]:
        return [p for p in self.events("event") if isinstance(p, dict) and match(p)]

    def __enter__(self) -> "HubClient":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def message_text(event: dict) -> str | None:
    data = event.get("data") or {}
    return data.get("content") if isinstance(data, dict) else None


def event_with_text(text: str) -> Callable[[str, Any], bool]:
    return lambda name, payload: name == "event" and isinstance(payload, dict) and message_text(payload) == text
