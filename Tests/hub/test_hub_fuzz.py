"""Raw Engine.IO / Socket.IO protocol fuzzing of the live hub, bounded and seeded.

CASES cases (seed HUB_FUZZ_SEED, default below) in batches of BATCH, each on a fresh raw session:
WebSocket frames through `websocket-client` to /socket.io/?EIO=4&transport=websocket, and HTTP
long-polling requests through `requests` — truncated packets, unknown packet types, `40` with
non-object auth, `42` with invalid JSON / non-arrays / huge numbers / deep nesting, binary frames
and `451-` binary events, payloads over max_payload, invalid sids, wrong EIO versions, garbage and
non-UTF-8 bodies, mutations of valid packets.

For every case: the server answers with an error or closes that session, or (for input that is
valid or harmless) is still responsive — it answers a ping probe — within CASE_TIMEOUT; never an
HTTP 5xx. After every batch: the process is alive, GET /health is 200, and a well-behaved
python-socketio client connected since the start is still connected; at the end an event made
through the REST API still reaches it, and it never received anything but its own organization's
events.
"""

from __future__ import annotations

import json
import os
import random
import socket
import string
import time
from dataclasses import dataclass, field

import pytest
import requests
import websocket

from hub_harness import GatewayProcess, HubClient, Principal, event_with_text, unique

SEED = int(os.environ.get("HUB_FUZZ_SEED", "20261125"))
CASES = 300
BATCH = 25
CASE_TIMEOUT = 5.0
MAX_PAYLOAD = 65536
PROBE = "fuzzprobe"

MUST_END = "error-or-close"  # malformed: the server must answer with an error or close the session
ANY = "responsive"  # valid or harmless: anything, but the server must answer the probe or close


# ---------------------------------------------------------------------------------------------
# Fixtures


@pytest.fixture(scope="module")
def fuzz_gateway(tmp_path_factory, gateway_bin):
    gateway = GatewayProcess("fuzz", tmp_path_factory.mktemp("fuzz"), gateway_bin,
                             {"max_payload": MAX_PAYLOAD, "events_per_minute": 100000}).start()
    yield gateway
    gateway.stop()


@pytest.fixture(scope="module")
def fuzz_org(fuzz_gateway):
    return Principal(fuzz_gateway, unique("org-fuzz"))


@pytest.fixture(scope="module")
def observers(fuzz_gateway, fuzz_org):
    """Well-behaved clients (one per transport) connected for the whole module."""
    clients = [HubClient(fuzz_gateway, fuzz_org.token, transport).connect() for transport in ("websocket", "polling")]
    yield clients
    for client in clients:
        client.close()


# ---------------------------------------------------------------------------------------------
# Cases


@dataclass
class Case:
    index: int
    family: str
    transport: str  # websocket | polling | http | ws-handshake
    expect: str
    authenticate: bool = False
    frames: list = field(default_factory=list)  # websocket: ("text"|"binary"|"text-bytes", data)
    bodies: list = field(default_factory=list)  # polling: POST bodies (bytes)
    request: dict = field(default_factory=dict)  # http / ws-handshake

    def describe(self) -> str:
        def short(value):
            text = repr(value)
            return text if len(text) <= 160 else text[:150] + f"...<{len(text)} chars>"
        what = self.frames or self.bodies or self.request
        return (f"case {self.index} [{self.family}, {self.transport}, "
                f"{'authenticated' if self.authenticate else 'not authenticated'}]: {short(what)}")


def _random_text(rng: random.Random, n: int) -> str:
    alphabet = string.printable + "\x1e\u00e9\u4e2d\U0001F600"
    return "".join(rng.choice(alphabet) for _ in range(n))


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def _mutate(rng: random.Random, text: str) -> str:
    chars = list(text)
    for _ in range(rng.randint(1, 4)):
        op = rng.choice(["flip", "delete", "insert", "truncate", "duplicate"])
        if not chars:
            break
        i = rng.randrange(len(chars))
        if op == "flip":
            chars[i] = rng.choice(string.printable)
        elif op == "delete":
            del chars[i]
        elif op == "insert":
            chars.insert(i, rng.choice('[]{}",:0123456789\\' + string.ascii_letters))
        elif op == "truncate":
            chars = chars[:i]
        else:
            chars[i:i] = chars[i:i + rng.randint(1, 8)]
    return "".join(chars)


def _malformed_packet(rng: random.Random, org: str) -> tuple[str, str]:
    """(packet, expectation): Engine.IO / Socket.IO text packets that are wrong."""
    choices = [
        ("", MUST_END),  # empty: truncated Engine.IO packet
        ("4", MUST_END),  # message without a Socket.IO packet
        (rng.choice("789xyz{[ !~") + _random_text(rng, rng.randint(0, 20)), MUST_END),  # unknown Engine.IO type
        ("\x00" + _random_text(rng, 5), MUST_END),
        ("b" + "AAEC" * rng.randint(1, 10), MUST_END),  # base64 binary in a text packet
        ("4" + rng.choice("789x-/ {[") + _random_text(rng, rng.randint(0, 10)), MUST_END),  # unknown Socket.IO type
        ('42["subscribe"', MUST_END),
        ("42[", MUST_END),
        ('42["a",}', MUST_END),
        ("42['x']", MUST_END),
        ("42nul", MUST_END),
        ('42{"event":"subscribe"}', MUST_END),  # not an array
        ('42"subscribe"', MUST_END),
        ("42true", MUST_END),
        ("42null", MUST_END),
        ("42[]", MUST_END),
        ("42[1,2,3]", MUST_END),  # the event name is not a string
        ('42[{"a":1},"org:x"]', MUST_END),
        ('421234567890["subscribe","org:x"]', MUST_END),  # ack id over 9 digits
        ('42' + "9" * 40 + '["subscribe","org:x"]', MUST_END),
        ('451-["subscribe",{"_placeholder":true,"num":0}]', MUST_END),  # binary event
        ('461-0[{"_placeholder":true,"num":0}]', MUST_END),  # binary ack
        ('45["x"]', MUST_END),
        ("40[1]", MUST_END),  # CONNECT with non-object auth
        ('40"token"', MUST_END),
        ("40null", MUST_END),
        ("40true", MUST_END),
        ("40[]", MUST_END),
        ("40{", MUST_END),
        ('40{"token":', MUST_END),
        ("43", MUST_END),  # ACK without id or data
        ("437", MUST_END),
        ('437{"a":1}', MUST_END),
    ]
    return rng.choice(choices)


def _odd_but_valid_packet(rng: random.Random, org: str, token: str) -> str:
    """Valid or harmless packets (the server may answer anything, or nothing, but must stay sane)."""
    huge = rng.choice(["1e999", "-1e999", "123456789012345678901234567890", "1" * 300, "0.0000000000000000001",
                       "9223372036854775808", "-9223372036854775809"])
    depth = rng.choice([50, 200, 600, 2000, 10000, 30000])
    choices = [
        "6", "5", "3", "2", "2" + _random_text(rng, 8).replace("\x1e", ""),
        f'42["subscribe",{huge}]',
        f'42{rng.randint(0, 999999999)}["subscribe",{huge}]',
        f'42["subscribe",{_nested(depth)}]',
        f'42["subscribe",{{"a":{_nested(min(depth, 2000))}}}]',
        '42["subscribe","' + "x" * rng.randint(1000, MAX_PAYLOAD - 100) + '"]',
        '42["subscribe","org:' + org + '"]',
        '42["unsubscribe","chat:' + _random_text(rng, 10).replace('"', "").replace("\\", "") + '"]',
        '42["' + rng.choice(["event", "message", "connected", "ping", "pong", "error", "__proto__"]) + '",{"x":1}]',
        '42["subscribe","\\ud800"]',  # a lone surrogate escape
        '42["subscribe","\\u0000org:x"]',
        "40" + json.dumps({"token": token, "offset": rng.choice([-1, 0, 1, 10**30, "abc", None, 1.5])}),
        "40" + json.dumps({"token": token, "extra": [_random_text(rng, 5)]}),
        "40" + json.dumps({"token": _random_text(rng, rng.randint(0, 300))}),
        "40" + json.dumps({"token": token[:-1] + ("A" if token[-1] != "A" else "B")}),
        "40/admin," + json.dumps({"token": token}),
        "41/admin,",
        "40" + json.dumps({}),
        _mutate(rng, '42["subscribe","org:' + org + '"]'),
        _mutate(rng, "40" + json.dumps({"token": token})),
        _random_text(rng, rng.randint(1, 200)),
    ]
    return rng.choice(choices)


def build_cases(org: str, token: str, seed: int = SEED, count: int = CASES) -> list[Case]:
    rng = random.Random(seed)
    cases: list[Case] = []
    for index in range(count):
        roll = rng.random()
        authenticate = rng.random() < 0.6
        if roll < 0.40:  # WebSocket text packets
            if rng.random() < 0.55:
                packet, expect = _malformed_packet(rng, org)
                family = "ws-malformed"
            else:
                packet, expect = _odd_but_valid_packet(rng, org, token), ANY
                family = "ws-odd"
            frames = [("text", packet)]
            if rng.random() < 0.2:  # several packets in a row
                frames = [("text", _odd_but_valid_packet(rng, org, token)) for _ in range(rng.randint(2, 6))] + frames
            cases.append(Case(index, family, "websocket", expect, authenticate, frames=frames))
        elif roll < 0.52:  # WebSocket frames of the wrong kind / size / encoding
            kind = rng.choice(["binary", "non-utf8", "oversize", "oversize-binary"])
            if kind == "binary":
                frame = ("binary", bytes(rng.randrange(256) for _ in range(rng.randint(0, 64))))
            elif kind == "non-utf8":
                frame = ("text-bytes", b"42[\"subscribe\",\"" + bytes([rng.choice([0x80, 0xC0, 0xFF, 0xFE])]) + b"\"]")
            elif kind == "oversize":
                frame = ("text", '42["subscribe","' + "y" * (MAX_PAYLOAD + rng.randint(1, 50000)) + '"]')
            else:
                frame = ("binary", b"\x04" + bytes(MAX_PAYLOAD + rng.randint(1, 1000)))
            cases.append(Case(index, f"ws-{kind}", "websocket", MUST_END, authenticate, frames=[frame]))
        elif roll < 0.82:  # polling POST bodies
            kind = rng.choice(["malformed", "odd", "batch", "garbage", "non-utf8", "oversize", "empty"])
            expect = ANY
            if kind == "malformed":
                body = _malformed_packet(rng, org)[0].encode()
                expect = MUST_END
            elif kind == "odd":
                body = _odd_but_valid_packet(rng, org, token).encode()
            elif kind == "batch":
                packets = [_odd_but_valid_packet(rng, org, token) for _ in range(rng.randint(2, 8))]
                if rng.random() < 0.5:
                    packets.insert(rng.randrange(len(packets)), _malformed_packet(rng, org)[0])
                    expect = MUST_END
                body = "\x1e".join(packets).encode()
            elif kind == "garbage":
                body = _random_text(rng, rng.randint(1, 2000)).encode()
            elif kind == "non-utf8":
                body = b"42[\"x\",\"" + bytes(rng.randrange(128, 256) for _ in range(rng.randint(1, 40))) + b"\"]"
                expect = MUST_END
            elif kind == "oversize":
                body = b'42["subscribe","' + b"z" * (MAX_PAYLOAD + rng.randint(1, 50000)) + b'"]'
                expect = MUST_END
            else:
                body = b""
                expect = MUST_END
            cases.append(Case(index, f"polling-{kind}", "polling", expect, authenticate, bodies=[body]))
        elif roll < 0.94:  # bare HTTP requests that must be refused
            sid = rng.choice(["", "nope", "A" * 10000, "..%2F..%2Fetc", "%00", "%F0%9F%98%80", _random_text(rng, 12)])
            eio = rng.choice(["3", "5", "", "abc", "04", "4.0", None])
            variant = rng.choice(["bad-eio", "bad-transport", "bad-sid", "bad-sid-post", "no-query"])
            if variant == "bad-eio":
                query = "transport=polling" + ("" if eio is None else f"&EIO={eio}")
                method = rng.choice(["GET", "POST"])
            elif variant == "bad-transport":
                query = "EIO=4&transport=" + rng.choice(["", "flashsocket", "websocket", "POLLING", "jsonp"])
                method = rng.choice(["GET", "POST"])
            elif variant == "bad-sid":
                query, method = f"EIO=4&transport=polling&sid={sid or 'x'}", "GET"
            elif variant == "bad-sid-post":
                query, method = f"EIO=4&transport=polling&sid={sid}", "POST"
            else:
                query, method = "", rng.choice(["GET", "POST"])
            cases.append(Case(index, f"http-{variant}", "http", MUST_END, request={
                "method": method, "query": query, "body": _random_text(rng, rng.randint(0, 50)).encode()}))
        else:  # WebSocket handshakes that must not be accepted
            variant = rng.choice(["eio3", "eio-missing", "unknown-sid", "transport-polling"])
            query = {
                "eio3": "EIO=3&transport=websocket",
                "eio-missing": "transport=websocket",
                "unknown-sid": f"EIO=4&transport=websocket&sid=nosid-{rng.getrandbits(48):012x}",
                "transport-polling": "EIO=4&transport=polling",
            }[variant]
            cases.append(Case(index, f"ws-handshake-{variant}", "ws-handshake", MUST_END, request={"query": query}))
    return cases


# ---------------------------------------------------------------------------------------------
# Running one case


@dataclass
class Outcome:
    closed: bool = False
    alive: bool = False
    hung: bool = False
    errors: list = field(default_factory=list)  # error answers: 44…, 42["error"…, 41, HTTP 4xx
    notes: list = field(default_factory=list)
    failure: str | None = None


_CLOSED = (websocket.WebSocketConnectionClosedException, ConnectionError, BrokenPipeError, OSError)


def _ws_read_until(ws, outcome: Outcome, done, deadline: float) -> None:
    """Reads frames (answering pings) until `done(frame)` is true, the socket closes or time runs out."""
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            outcome.hung = True
            return
        ws.settimeout(remaining)
        try:
            frame = ws.recv()
        except websocket.WebSocketTimeoutException:
            outcome.hung = True
            return
        except _CLOSED:
            outcome.closed = True
            return
        if frame == "":  # a close frame
            outcome.closed = True
            return
        if isinstance(frame, bytes):
            outcome.notes.append(f"binary frame from the server: {frame[:40]!r}")
            continue
        if frame == "2":
            try:
                ws.send("3")
            except _CLOSED:
                outcome.closed = True
                return
            continue
        if frame == "1" or frame == "41":
            outcome.errors.append(frame)
        elif frame.startswith("44") or frame.startswith('42["error"'):
            outcome.errors.append(frame[:200])
        if done(frame):
            return


def run_websocket(gateway: GatewayProcess, token: str, case: Case) -> Outcome:
    outcome = Outcome()
    try:
        ws = websocket.create_connection(gateway.ws_url, timeout=CASE_TIMEOUT)
    except Exception as error:  # noqa: BLE001
        outcome.failure = f"WebSocket handshake failed: {error!r}"
        return outcome
    try:
        deadline = time.monotonic() + CASE_TIMEOUT
        opening = ws.recv()
        if not (isinstance(opening, str) and opening.startswith("0{")):
            outcome.failure = f"bad open packet {opening!r}"
            return outcome
        handshake = json.loads(opening[1:])
        if handshake.get("maxPayload") != MAX_PAYLOAD:
            outcome.failure = f"maxPayload {handshake.get('maxPayload')} != {MAX_PAYLOAD}"
            return outcome
        if case.authenticate:
            ws.send("40" + json.dumps({"token": token}))
            _ws_read_until(ws, outcome, lambda f: f.startswith('42["connected"'), deadline)
            if outcome.closed or outcome.hung:
                outcome.failure = f"could not authenticate: {outcome}"
                return outcome
        outcome.errors.clear()
        for kind, data in case.frames:
            try:
                if kind == "binary":
                    ws.send_binary(data)
                elif kind == "text-bytes":
                    ws.send(data, opcode=websocket.ABNF.OPCODE_TEXT)
                else:
                    ws.send(data)
            except _CLOSED:
                outcome.closed = True
                return outcome
        try:
            ws.send("2" + PROBE)
        except _CLOSED:
            outcome.closed = True
            return outcome

        def probe_answered(frame: str) -> bool:
            if frame == "3" + PROBE:
                outcome.alive = True
                return True
            return False

        _ws_read_until(ws, outcome, probe_answered, time.monotonic() + CASE_TIMEOUT)
        if outcome.alive:
            try:
                ws.send("1")  # end the session properly (an abrupt close is another test's subject)
            except _CLOSED:
                pass
    except _CLOSED:
        outcome.closed = True
    finally:
        try:
            ws.close(timeout=1)
        except Exception:  # noqa: BLE001
            pass
    return outcome


def _session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    return session


def _polling_url(gateway: GatewayProcess, sid: str | None = None) -> str:
    url = f"{gateway.base_url}/socket.io/?EIO=4&transport=polling"
    return url + (f"&sid={sid}" if sid else "")


def run_polling(gateway: GatewayProcess, token: str, case: Case) -> Outcome:
    outcome = Outcome()
    session = _session()
    opening = session.get(_polling_url(gateway), timeout=CASE_TIMEOUT)
    if opening.status_code != 200 or not opening.text.startswith("0{"):
        outcome.failure = f"polling handshake answered {opening.status_code}: {opening.text[:200]}"
        return outcome
    sid = json.loads(opening.text[1:])["sid"]
    url = _polling_url(gateway, sid)

    def get_until(predicate) -> None:
        deadline = time.monotonic() + CASE_TIMEOUT
        while time.monotonic() < deadline:
            reply = session.get(url, timeout=CASE_TIMEOUT + 5)
            if reply.status_code >= 500:
                outcome.failure = f"GET answered {reply.status_code}: {reply.text[:200]}"
                return
            if reply.status_code == 400:
                outcome.closed = True
                return
            packets = reply.text.split("\x1e")
            for packet in packets:
                if packet == "2":
                    session.post(url, data=b"3", timeout=CASE_TIMEOUT)
                elif packet in ("1", "41") or packet.startswith("44") or packet.startswith('42["error"'):
                    outcome.errors.append(packet[:200])
            if "1" in packets:
                outcome.closed = True
                return
            if any(predicate(p) for p in packets):
                return
        outcome.hung = True

    if case.authenticate:
        session.post(url, data=("40" + json.dumps({"token": token})).encode(), timeout=CASE_TIMEOUT)
        get_until(lambda p: p.startswith('42["connected"'))
        if outcome.closed or outcome.hung or outcome.failure:
            outcome.failure = outcome.failure or f"could not authenticate: {outcome}"
            return outcome
        outcome.errors.clear()
    for body in case.bodies:
        reply = session.post(url, data=body, headers={"Content-Type": "text/plain;charset=UTF-8"},
                             timeout=CASE_TIMEOUT + 5)
        if reply.status_code >= 500:
            outcome.failure = f"POST answered {reply.status_code}: {reply.text[:200]}"
            return outcome
        if reply.status_code >= 400:
            outcome.errors.append(f"HTTP {reply.status_code} {reply.text[:100]}")
    probe = session.post(url, data=("2" + PROBE).encode(), timeout=CASE_TIMEOUT)
    if probe.status_code >= 500:
        outcome.failure = f"probe POST answered {probe.status_code}"
        return outcome
    if probe.status_code == 400:
        outcome.closed = True
        return outcome

    def answered(packet: str) -> bool:
        if packet == "3" + PROBE:
            outcome.alive = True
            return True
        return False

    get_until(answered)
    if outcome.alive:
        session.post(url, data=b"1", timeout=CASE_TIMEOUT)
    return outcome


def run_http(gateway: GatewayProcess, case: Case) -> Outcome:
    outcome = Outcome()
    request = case.request
    url = f"{gateway.base_url}/socket.io/" + (f"?{request['query']}" if request["query"] else "")
    reply = _session().request(request["method"], url, data=request["body"], timeout=CASE_TIMEOUT + 5)
    if reply.status_code != 400:
        outcome.failure = f"{request['method']} answered {reply.status_code} (expected 400): {reply.text[:200]}"
        return outcome
    try:
        body = reply.json()
    except ValueError:
        outcome.failure = f"Engine.IO error body is not JSON: {reply.text[:200]}"
        return outcome
    if not (isinstance(body.get("code"), int) and isinstance(body.get("message"), str)):
        outcome.failure = f"Engine.IO error body without code/message: {body}"
        return outcome
    outcome.errors.append(f"HTTP 400 {body}")
    outcome.closed = True
    return outcome


def run_ws_handshake(gateway: GatewayProcess, case: Case) -> Outcome:
    outcome = Outcome()
    url = f"ws://127.0.0.1:{gateway.port}/socket.io/?{case.request['query']}"
    try:
        ws = websocket.create_connection(url, timeout=CASE_TIMEOUT)
    except websocket.WebSocketBadStatusException as error:
        if not 400 <= error.status_code < 500:
            outcome.failure = f"handshake refused with {error.status_code} (expected 4xx)"
        outcome.errors.append(f"handshake {error.status_code}")
        outcome.closed = True
        return outcome
    except websocket.WebSocketTimeoutException:
        outcome.hung = True
        return outcome
    except _CLOSED:
        outcome.closed = True
        return outcome
    ws.close()
    outcome.failure = "the WebSocket handshake was accepted"
    return outcome


def run_case(gateway: GatewayProcess, token: str, case: Case) -> Outcome:
    try:
        if case.transport == "websocket":
            outcome = run_websocket(gateway, token, case)
        elif case.transport == "polling":
            outcome = run_polling(gateway, token, case)
        elif case.transport == "http":
            outcome = run_http(gateway, case)
        else:
            outcome = run_ws_handshake(gateway, case)
    except requests.Timeout as error:
        outcome = Outcome(hung=True, failure=f"HTTP request timed out: {error!r}")
    except requests.RequestException as error:
        outcome = Outcome(failure=f"HTTP request failed: {error!r}")
    if outcome.failure:
        return outcome
    if outcome.hung:
        outcome.failure = f"no answer and no close within {CASE_TIMEOUT} s (errors seen: {outcome.errors})"
    elif case.expect == MUST_END and not (outcome.closed or outcome.errors):
        outcome.failure = "malformed input was neither refused with an error nor did it close the session"
    elif not (outcome.closed or outcome.alive):
        outcome.failure = f"neither closed nor responsive: {outcome}"
    return outcome


# ---------------------------------------------------------------------------------------------
# Tests


def _check_gateway(gateway: GatewayProcess, observers: list[HubClient], where: str) -> None:
    assert gateway.alive(), (f"the gateway died {where} (status {gateway.proc.returncode})\n"
                             f"--- gateway output ---\n{gateway.log_tail(60)}")
    reply = requests.get(f"{gateway.base_url}/health", timeout=10)
    assert reply.status_code == 200, f"/health answered {reply.status_code} {where}: {reply.text[:300]}"
    for observer in observers:
        assert observer.connected, f"the well-behaved {observer.transport} client was disconnected {where}: " \
                                   f"{observer.disconnects}"


def test_fuzz_cases_are_deterministic(fuzz_org):
    first = build_cases(fuzz_org.org, "t")
    second = build_cases(fuzz_org.org, "t")
    assert [c.describe() for c in first] == [c.describe() for c in second]
    assert len(first) == CASES
    families = {c.family.split("-")[0] for c in first}
    assert {"ws", "polling", "http"} <= families, families


@pytest.mark.parametrize("batch", range(CASES // BATCH))
def test_fuzz_batch(fuzz_gateway, fuzz_org, observers, batch):
    cases = build_cases(fuzz_org.org, fuzz_org.token)[batch * BATCH:(batch + 1) * BATCH]
    failures = []
    started = time.monotonic()
    for case in cases:
        outcome = run_case(fuzz_gateway, fuzz_org.token, case)
        if outcome.failure:
            failures.append(f"{case.describe()}\n    -> {outcome.failure}")
        if not fuzz_gateway.alive():
            failures.append(f"THE GATEWAY DIED after {case.describe()}")
            break
    _check_gateway(fuzz_gateway, observers, f"after batch {batch}")
    assert not failures, f"{len(failures)} of {len(cases)} cases failed (seed {SEED}):\n" + "\n".join(failures)
    assert time.monotonic() - started < BATCH * (2 * CASE_TIMEOUT + 5)


def test_upgrade_of_a_websocket_session_is_refused(fuzz_gateway, fuzz_org, observers):
    """Engine.IO upgrades only a polling session, once. A second WebSocket that names the sid of a
    session already on WebSocket must not be upgraded onto it (it would take the session's events)."""
    ws = websocket.create_connection(fuzz_gateway.ws_url, timeout=CASE_TIMEOUT)
    sid = json.loads(ws.recv()[1:])["sid"]
    ws.send("40" + json.dumps({"token": fuzz_org.token}))
    assert ws.recv().startswith("40")
    assert ws.recv().startswith('42["connected"')
    hijacked = False
    try:
        second = websocket.create_connection(f"{fuzz_gateway.ws_url}&sid={sid}", timeout=CASE_TIMEOUT)
    except websocket.WebSocketBadStatusException as error:
        assert 400 <= error.status_code < 500, error
    except _CLOSED:
        pass
    else:
        try:
            second.send("2probe")
            second.settimeout(2)
            try:
                hijacked = second.recv() == "3probe"
            except (websocket.WebSocketTimeoutException, *_CLOSED):
                hijacked = False
            if hijacked:
                second.send("5")
        except _CLOSED:
            pass
    try:
        account = fuzz_org.connect_account()
        ws.settimeout(CASE_TIMEOUT)
        got = ""
        deadline = time.monotonic() + CASE_TIMEOUT
        while account["id"] not in got and time.monotonic() < deadline:
            try:
                got = ws.recv()
            except websocket.WebSocketTimeoutException:
                break
            if got == "2":
                ws.send("3")
        assert not hijacked, (
            f"a second WebSocket naming the sid of a WebSocket session was upgraded onto it (2probe -> 3probe, 5); "
            f"the original socket then {'still' if account['id'] in got else 'no longer'} received the session's "
            "events")
        assert account["id"] in got, "the original WebSocket no longer receives its events"
    finally:
        ws.close()


@pytest.mark.parametrize("frame", [b"2\xff", b'42["subscribe","org:ORG","\xff"]', b'40{"token":"TOKEN","x":"\xc0"}'],
                         ids=["ping", "subscribe", "connect"])
def test_websocket_text_frame_with_invalid_utf8_fails_the_connection(fuzz_gateway, fuzz_org, frame):
    """RFC 6455 §8.1: a text frame that is not valid UTF-8 fails the WebSocket connection (like the
    polling transport, which closes a session whose body is not UTF-8). It must not be decoded
    lossily (U+FFFD) and acted upon."""
    ws = websocket.create_connection(fuzz_gateway.ws_url, timeout=CASE_TIMEOUT)
    try:
        ws.recv()
        if not frame.startswith(b"40"):
            ws.send("40" + json.dumps({"token": fuzz_org.token}))
            assert ws.recv().startswith("40")
            assert ws.recv().startswith('42["connected"')
        ws.send(frame.replace(b"ORG", fuzz_org.org.encode()).replace(b"TOKEN", fuzz_org.token.encode()),
                opcode=websocket.ABNF.OPCODE_TEXT)
        outcome = Outcome()
        answers: list[str] = []

        def acted_upon(answer: str) -> bool:
            answers.append(answer)
            return answer.startswith("3") or answer.startswith('42["subscribed"') or answer.startswith("40{")

        _ws_read_until(ws, outcome, acted_upon, time.monotonic() + CASE_TIMEOUT)
        assert outcome.closed or outcome.errors, (
            f"the invalid UTF-8 text frame {frame!r} was decoded lossily and acted upon: the server answered "
            f"{answers[-1:]!r} instead of failing the connection (1007)")
    finally:
        ws.close()


def test_observers_still_receive_events(fuzz_gateway, fuzz_org, observers):
    _check_gateway(fuzz_gateway, observers, "at the end")
    account = fuzz_org.connect_account()
    text = unique("after-fuzz")
    fuzz_org.send(account, "chat-after-fuzz", text)
    for observer in observers:
        observer.wait_for(event_with_text(text), what=f"the event after fuzzing ({observer.transport})")
        observer.wait_for(event_with_text(f"echo: {text}"), what=f"the echo after fuzzing ({observer.transport})")
        for name, payload in observer.received:
            assert name in ("connected", "event", "ping"), f"unexpected {name!r} to a well-behaved client: {payload}"
            if name == "event":
                assert payload["organizationId"] == fuzz_org.org and payload["type"] in (
                    "MESSAGE_SENT", "MESSAGE_RECEIVED", "BD_ACCOUNT_CONNECTED"), payload
    _check_gateway(fuzz_gateway, observers, "after the final event")


def test_socket_left_open_mid_packet_does_not_block_others(fuzz_gateway, fuzz_org, observers):
    """A raw TCP client that sends half an HTTP request and stalls must not block the hub."""
    stalled = socket.create_connection(("127.0.0.1", fuzz_gateway.port), timeout=CASE_TIMEOUT)
    try:
        stalled.sendall(b"POST /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                        b"Content-Length: 100000\r\n\r\n42[\"subscr")
        account = fuzz_org.connect_account()
        for observer in observers:
            observer.wait_for(lambda n, p: n == "event" and p["data"].get("id") == account["id"],
                              what="an event while a request is stalled")
        _check_gateway(fuzz_gateway, observers, "with a stalled request open")
    finally:
        stalled.close()
