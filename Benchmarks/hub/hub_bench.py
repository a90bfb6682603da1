#!/usr/bin/env python3
"""Hub benchmark: the gateway's Socket.IO hub next to python-socketio's own server, same run.

    python3 Benchmarks/hub/hub_bench.py --output docs/BENCHMARKS.md [--quick]

For each server (the peer first, then the gateway, both on 127.0.0.1 only):
  1. connect rate: N raw-WebSocket Engine.IO clients opened as fast as possible (N = 1,000, and
     1,000 → 10,000 in full mode), handshake = TCP connect → Socket.IO CONNECT acknowledged;
  2. idle RSS: (VmRSS with N idle connections − VmRSS before) / N, idle server CPU;
  3. broadcast: 100 and 1,000 clients in one room; a paced HTTP sender triggers events at rising
     rates (each trigger = 2 events: MESSAGE_SENT + the loopback echo MESSAGE_RECEIVED); every
     client counts and timestamps the `42["event",...]` packets. Per step: delivered messages/s,
     p50/p99 latency (receive time − send time embedded in the content), server CPU seconds (utime +
     stime from /proc/<pid>/stat), client CPU seconds (workers + sender).
The peer's saturation rate is the highest sustained step; the gateway's p99 is read at that rate.
Results go between `<!-- bench:hub -->` and `<!-- /bench:hub -->` in the --output file.

Needs: the release gateway (.build/release/gateway, plugins next to it), python3 with aiohttp,
python-socketio and PyJWT (uvloop is used by the load generator when installed).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import multiprocessing as mp
import os
import platform
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))
import eio_client  # noqa: E402

SECRET = "hub-bench-secret-0123456789-abcdefghijklmn"  # HS256 needs ≥ 32 bytes
ORG = "bench"
CLK_TCK = os.sysconf("SC_CLK_TCK")
MARK_BEGIN, MARK_END = "<!-- bench:hub -->", "<!-- /bench:hub -->"
# A step is "sustained" when all hold (documented in the output):
SUSTAIN_SEND_FRACTION = 0.9  # the sender achieved ≥ 90 % of the offered trigger rate
SUSTAIN_DELIVERED_FRACTION = 0.99  # ≥ 99 % of the expected deliveries arrived ≤ 1 s after the last send
SUSTAIN_THROUGHPUT_FRACTION = 0.9  # delivered/s ≥ 90 % of the offered deliveries/s
SUSTAIN_P99_MS = 1000.0  # and p99 latency stayed under 1 s (a backlog, not a tail)
SCRUBBED_ENV = [
    "HOST", "PORT", "JWT_SECRET", "AUTH_SERVICE_URL", "SQLITE_PATH", "DATABASE_URL", "REDIS_URL",
    "RABBITMQ_URL", "CORS_ORIGIN", "MAX_CONNECTIONS_PER_ORG", "LOG_LEVEL",
]


def log(message: str) -> None:
    print(f"[hub-bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def token(sub: str, role: str = "admin") -> str:
    import jwt

    claims = {"sub": sub, "organizationId": ORG, "role": role, "exp": int(time.time()) + 3600}
    return jwt.encode(claims, SECRET, algorithm="HS256")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def raise_nofile() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else 1_048_576
    if soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):
            pass
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def percentile_from_hist(hist: list[int], fraction: float) -> float | None:
    total = sum(hist)
    if not total:
        return None
    rank = fraction * total
    running = 0
    for bucket, count in enumerate(hist):
        running += count
        if running >= rank:
            return (bucket + 0.5) / 10.0  # ms (0.1 ms buckets)
    return (len(hist) - 0.5) / 10.0


def pct(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def http_json(method: str, url: str, body: dict | None = None, bearer: str | None = None, timeout: float = 10) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if bearer:
        request.add_header("Authorization", f"Bearer {bearer}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, {"body": error.read().decode(errors="replace")[:300]}


# ------------------------------------------------------------------------------------------------
# Servers


class Server:
    name = ""
    label = ""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.port = 0
        self.proc: subprocess.Popen | None = None
        self.log_path = work / f"{self.name}.log"

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        raise NotImplementedError

    def start(self) -> None:
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if k not in SCRUBBED_ENV}
        with open(self.log_path, "ab") as out:
            self.proc = subprocess.Popen(
                self.command(), stdout=out, stderr=out, stdin=subprocess.DEVNULL, cwd=str(self.work), env=env,
                start_new_session=True,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.base}/health", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not answer /health within 60 s:\n{self.log_tail()}")

    def stop(self) -> None:
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no output)"

    def cpu_split(self) -> tuple[float, float]:
        """(utime, stime) of the server process, seconds."""
        assert self.proc is not None
        with open(f"/proc/{self.proc.pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        return int(fields[11]) / CLK_TCK, int(fields[12]) / CLK_TCK

    def cpu(self) -> float:
        """utime + stime of the server process, seconds."""
        return sum(self.cpu_split())

    def rss_kb(self) -> int:
        assert self.proc is not None
        with open(f"/proc/{self.proc.pid}/status") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def setup(self) -> None:
        pass

    # the trigger: POST path with a JSON body whose `content` is the send time
    trigger_path = ""

    def trigger_body(self) -> tuple[str, str]:
        """(prefix, suffix) around the content string."""
        raise NotImplementedError


class GatewayServer(Server):
    name = "gateway"
    label = "gateway"

    def __init__(self, work: Path, binary: Path) -> None:
        super().__init__(work)
        self.binary = binary
        self.account = ""
        self.admin = token("bench-admin")

    def command(self) -> list[str]:
        config = {
            "version": 1,
            "server": {"host": "127.0.0.1", "cors_origin": "*"},
            "auth": {"jwt": {"secret": SECRET}},
            "storage": {"sqlite": {"path": str(self.work / "gateway.sqlite")}},
            "hub": {"max_connections_per_org": 20000, "events_per_minute": 1000000},
            # 10,000,000 is the largest value the config accepts (ConfigLoader: 1...10_000_000).
            "api": {"rate_limit_per_minute": 10000000},
            "plugins": [{"name": "loopback", "path": str(self.binary.parent / "libLoopbackChannel.so")}],
            "routes": [{"name": "everything", "match": {}, "to": ["store", "hub"]}],
            "metrics": {"public": True},
            "logging": {"level": "warning"},
        }
        path = self.work / "gateway.yaml"
        path.write_text(json.dumps(config, indent=2))  # JSON is YAML
        return [str(self.binary), "serve", "--config", str(path), "--port", str(self.port)]

    def setup(self) -> None:
        status, body = http_json("POST", f"{self.base}/api/bd-accounts/connect", {"platform": "loopback"}, self.admin)
        if status not in (200, 201, 202) or "id" not in body:
            raise RuntimeError(f"connecting the loopback account failed: {status} {body}")
        self.account = body["id"]
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            _, account = http_json("GET", f"{self.base}/api/bd-accounts/{self.account}", None, self.admin)
            if account.get("status") == "connected":
                return
            time.sleep(0.1)
        raise RuntimeError(f"loopback account not connected: {account}")

    trigger_path = "/api/messaging/send"

    def trigger_body(self) -> tuple[str, str]:
        return '{"channel":"loopback","channelId":"bench","content":"', f'","bdAccountId":"{self.account}"}}'


class PeerServer(Server):
    name = "peer"
    label = "python-socketio"

    def __init__(self, work: Path) -> None:
        super().__init__(work)
        self.admin = token("bench-admin")

    def command(self) -> list[str]:
        return [sys.executable, str(HERE / "peer_server.py"), "--port", str(self.port), "--secret", SECRET]

    trigger_path = "/send"

    def trigger_body(self) -> tuple[str, str]:
        return '{"channel":"loopback","channelId":"bench","content":"', '","bdAccountId":"peer"}'


# ------------------------------------------------------------------------------------------------
# Load generator processes


class LoadGen:
    def __init__(self, workers: int, port: int, use_uvloop: bool) -> None:
        ctx = mp.get_context("fork")
        self.pipes = []
        self.procs = []
        for index in range(workers):
            parent, child = ctx.Pipe()
            proc = ctx.Process(
                target=eio_client.worker_main, args=(child, "127.0.0.1", port, SECRET, ORG, index, use_uvloop), daemon=True)
            proc.start()
            child.close()
            self.pipes.append(parent)
            self.procs.append(proc)

    def call(self, messages: list[tuple], timeout: float) -> list[dict]:
        for pipe, message in zip(self.pipes, messages):
            pipe.send(message)
        deadline = time.monotonic() + timeout
        replies = []
        for pipe, proc in zip(self.pipes, self.procs):
            if not pipe.poll(max(0.0, deadline - time.monotonic())):
                raise RuntimeError(f"load-generator worker {proc.pid} did not answer {messages[0][0]} within {timeout} s")
            reply = pipe.recv()
            if "error" in reply:
                raise RuntimeError(f"load-generator worker: {reply['error']}")
            replies.append(reply)
        return replies

    def call_all(self, message: tuple, timeout: float = 30) -> list[dict]:
        return self.call([message] * len(self.pipes), timeout)

    def split(self, n: int) -> list[int]:
        w = len(self.pipes)
        return [n // w + (1 if i < n % w else 0) for i in range(w)]

    def prepare(self, n: int) -> None:
        self.call([("tokens", k) for k in self.split(n)], timeout=120)

    def connect(self, n: int, concurrency: int, timeout: float) -> dict:
        start = time.perf_counter()
        replies = self.call([("connect", k, concurrency, timeout) for k in self.split(n)], timeout=timeout + 15)
        seconds = time.perf_counter() - start
        handshakes = [h for r in replies for h in r["handshakes"]]
        return {
            "ok": sum(r["ok"] for r in replies), "failed": sum(r["failed"] for r in replies),
            "errors": [e for r in replies for e in r["errors"]][:5], "seconds": seconds,
            "handshake_p50_ms": (pct(handshakes, 0.5) or 0) * 1000, "handshake_p99_ms": (pct(handshakes, 0.99) or 0) * 1000,
        }

    def quit(self) -> None:
        for pipe in self.pipes:
            try:
                pipe.send(("quit",))
            except (BrokenPipeError, OSError):
                pass
        for proc in self.procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.kill()
                proc.join(timeout=5)


# ------------------------------------------------------------------------------------------------
# The paced HTTP sender (raw HTTP/1.1 keep-alive; a few requests in flight)


async def send_step(server: Server, bearer: str, rate: float, duration: float, inflight: int) -> dict:
    prefix, suffix = server.trigger_body()
    head = (
        f"POST {server.trigger_path} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nAuthorization: Bearer {bearer}\r\n"
        "Content-Type: application/json\r\nContent-Length: "
    )
    conns = [await asyncio.open_connection("127.0.0.1", server.port) for _ in range(inflight)]
    for _, writer in conns:
        writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    state = {"next": 0, "ok": 0, "errors": 0, "statuses": {}}
    response_times: list[float] = []
    t0 = time.perf_counter()
    stop_at = t0 + duration

    async def run(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            i = state["next"]
            state["next"] = i + 1
            due = t0 + i / rate
            if due >= stop_at:
                return
            now = time.perf_counter()
            if now > stop_at + 1.0:  # hopelessly behind: the step is over anyway
                return
            if due > now:
                await asyncio.sleep(due - now)
            body = f"{prefix}{time.time():.6f}{suffix}"
            began = time.perf_counter()
            writer.write(f"{head}{len(body)}\r\n\r\n{body}".encode())
            headers = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 15)
            status = int(headers[9:12])
            length = 0
            for line in headers.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if length:
                await asyncio.wait_for(reader.readexactly(length), 15)
            response_times.append(time.perf_counter() - began)
            if 200 <= status < 300:
                state["ok"] += 1
            else:
                state["errors"] += 1
                state["statuses"][status] = state["statuses"].get(status, 0) + 1

    await asyncio.gather(*(run(r, w) for r, w in conns))
    seconds = time.perf_counter() - t0
    for _, writer in conns:
        writer.close()
    return {
        "ok": state["ok"], "errors": state["errors"], "statuses": state["statuses"], "seconds": seconds,
        "response_p50_ms": 1000 * (pct(response_times, 0.5) or 0), "response_p99_ms": 1000 * (pct(response_times, 0.99) or 0),
    }


def run_async(coroutine, use_uvloop: bool):
    if use_uvloop:
        try:
            import uvloop  # type: ignore

            return uvloop.run(coroutine)
        except ImportError:
            pass
    return asyncio.run(coroutine)


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# ------------------------------------------------------------------------------------------------
# Phases


@dataclass
class Plan:
    quick: bool
    idle_counts: list[int]
    broadcast_clients: list[int]
    step_seconds: float
    ladder: list[int]  # offered deliveries/s
    workers: int
    concurrency: int
    inflight: int
    deadline: float  # monotonic time after which remaining ladder steps are skipped


@dataclass
class ServerResult:
    name: str
    label: str
    connect: list[dict] = field(default_factory=list)
    rss_before_kb: int = 0
    idle: list[dict] = field(default_factory=list)
    trigger: dict = field(default_factory=dict)
    broadcast: dict = field(default_factory=dict)  # clients → [step]
    notes: list[str] = field(default_factory=list)


def idle_cpu(server: Server, seconds: float) -> float:
    c0 = server.cpu()
    time.sleep(seconds)
    return (server.cpu() - c0) / seconds * 1000  # ms per s


def broadcast_step(server: Server, gen: LoadGen, clients: int, deliveries_per_s: float, plan: Plan, use_uvloop: bool) -> dict:
    rate = deliveries_per_s / (2 * clients)  # triggers/s (2 events per trigger)
    gen.call_all(("reset",))
    workers0 = sum(r["cpu"] for r in gen.call_all(("count",)))
    (user0, sys0), own0 = server.cpu_split(), own_cpu()
    wall0 = time.time()
    sent = run_async(send_step(server, server.admin, rate, plan.step_seconds, plan.inflight), use_uvloop)
    send_end = time.time()
    expected = 2 * clients * sent["ok"]
    at_1s = None
    last_count, last_change = -1, time.monotonic()
    stop = time.monotonic() + 8.0
    while time.monotonic() < stop:
        count = sum(r["events"] for r in gen.call_all(("count",)))
        if at_1s is None and (count >= expected or time.time() >= send_end + 1.0):
            at_1s = count
        if count >= expected:
            break
        if count != last_count:
            last_count, last_change = count, time.monotonic()
        elif time.monotonic() - last_change > 1.0 and at_1s is not None:
            break  # nothing more is coming
        time.sleep(0.05)
    user1, sys1 = server.cpu_split()
    server_user, server_sys = user1 - user0, sys1 - sys0
    server_cpu = server_user + server_sys
    stats = gen.call_all(("stats",), timeout=30)
    client_cpu = sum(r["cpu"] for r in stats) - workers0 + own_cpu() - own0
    hist = [0] * eio_client.HIST_BUCKETS
    for reply in stats:
        for i, v in reply["hist"].items():
            hist[i] += v
    delivered = sum(r["events"] for r in stats)
    last_recv = max((r["last_recv"] for r in stats), default=0.0)
    span = max(last_recv - wall0, plan.step_seconds * 0.5) if last_recv else plan.step_seconds
    p50, p99 = percentile_from_hist(hist, 0.5), percentile_from_hist(hist, 0.99)
    at_1s = at_1s if at_1s is not None else delivered
    failures = []
    if sent["ok"] < SUSTAIN_SEND_FRACTION * rate * plan.step_seconds:
        failures.append("rate")  # the server did not take the triggers as fast as offered
    if expected == 0 or at_1s < SUSTAIN_DELIVERED_FRACTION * expected:
        failures.append("late")  # deliveries still arriving > 1 s after the last send (or lost)
    if delivered / span < SUSTAIN_THROUGHPUT_FRACTION * deliveries_per_s:
        failures.append("slow")  # the server fell behind during the step
    if p99 is None or p99 >= SUSTAIN_P99_MS:
        failures.append("p99")
    if sent["errors"]:
        failures.append("err")
    sustained = not failures
    step = {
        "clients": clients, "offered_deliveries_per_s": deliveries_per_s, "offered_triggers_per_s": rate,
        "trigger_response_p50_ms": sent["response_p50_ms"], "trigger_response_p99_ms": sent["response_p99_ms"],
        "triggers_ok": sent["ok"], "trigger_errors": sent["errors"], "trigger_statuses": sent["statuses"],
        "achieved_triggers_per_s": sent["ok"] / sent["seconds"] if sent["seconds"] else 0,
        "expected": expected, "delivered": delivered, "delivered_within_1s": at_1s,
        "delivered_per_s": delivered / span, "p50_ms": p50, "p99_ms": p99,
        "server_cpu_s": server_cpu, "server_user_s": server_user, "server_sys_s": server_sys,
        "failures": failures, "server_cpu_pct": 100 * server_cpu / max(span, 1e-9),
        "client_cpu_s": client_cpu, "deliveries_per_server_cpu_s": delivered / server_cpu if server_cpu > 0 else None,
        "unparsed": sum(r["unparsed"] for r in stats), "open_clients": sum(r["open"] for r in stats),
        "sustained": sustained,
    }
    log(
        f"  {server.name} N={clients} offered {deliveries_per_s:>7.0f}/s ({rate:.1f} trig/s): delivered "
        f"{delivered}/{expected} {step['delivered_per_s']:.0f}/s p50 {p50} p99 {p99} ms (trigger response p99 "
        f"{sent['response_p99_ms']:.1f} ms), server CPU {server_cpu:.2f}s, "
        f"client CPU {client_cpu:.2f}s{'' if sustained else '  NOT SUSTAINED: ' + ','.join(failures)}"
    )
    return step


def run_server(server: Server, plan: Plan, use_uvloop: bool, peer_saturation: dict[int, float] | None) -> ServerResult:
    result = ServerResult(server.name, server.label)
    log(f"starting {server.label}")
    server.start()
    gen: LoadGen | None = None
    try:
        server.setup()
        gen = LoadGen(plan.workers, server.port, use_uvloop)
        # Warm-up: a few connections and triggers, so lazy initialisation is not measured.
        gen.prepare(20)
        warm = gen.connect(20, plan.concurrency, 20)
        if warm["ok"] != 20:
            raise RuntimeError(f"{server.name}: warm-up connections failed: {warm}")
        run_async(send_step(server, server.admin, 20, 1.0, 2), use_uvloop)
        time.sleep(0.5)
        gen.call_all(("close_all",))
        time.sleep(1.0)

        # Trigger cost with no clients: what one trigger (REST call → events) costs the server.
        c0 = server.cpu()
        sent = run_async(send_step(server, server.admin, 200, 2.0, plan.inflight), use_uvloop)
        c1 = server.cpu()
        result.trigger = {"rate": 200, "ok": sent["ok"], "errors": sent["errors"], "server_cpu_s": c1 - c0,
                          "ms_per_trigger": 1000 * (c1 - c0) / max(sent["ok"], 1)}
        log(f"  trigger cost: {result.trigger['ms_per_trigger']:.3f} ms server CPU per trigger ({sent['ok']} sent)")
        time.sleep(0.5)

        # Phases 1 + 2: connect rate and idle RSS.
        result.rss_before_kb = server.rss_kb()
        connected = 0
        for target in plan.idle_counts:
            add = target - connected
            gen.prepare(add)
            c0, w0 = server.cpu(), sum(r["cpu"] for r in gen.call_all(("count",)))
            outcome = gen.connect(add, plan.concurrency, timeout=90)
            outcome["server_cpu_s"] = server.cpu() - c0
            outcome["client_cpu_s"] = sum(r["cpu"] for r in gen.call_all(("count",))) - w0
            outcome["from"], outcome["to"] = connected, target
            outcome["rate"] = outcome["ok"] / outcome["seconds"] if outcome["seconds"] else 0
            connected += outcome["ok"]
            result.connect.append(outcome)
            log(f"  connect {outcome['from']}→{target}: {outcome['ok']} ok, {outcome['failed']} failed in "
                f"{outcome['seconds']:.2f}s = {outcome['rate']:.0f}/s, server CPU {outcome['server_cpu_s']:.2f}s "
                f"{outcome['errors'][:2]}")
            time.sleep(2.0 if target <= 1000 else 3.0)
            rss = server.rss_kb()
            open_now = sum(r["open"] for r in gen.call_all(("count",)))
            cpu_ms = idle_cpu(server, 2.0)
            result.idle.append({
                "connections": open_now, "rss_kb": rss,
                "kb_per_connection": (rss - result.rss_before_kb) / open_now if open_now else None,
                "idle_cpu_ms_per_s": cpu_ms,
            })
            log(f"  idle {open_now}: RSS {rss / 1024:.1f} MB, "
                f"{result.idle[-1]['kb_per_connection'] or 0:.1f} KB/connection, idle CPU {cpu_ms:.1f} ms/s")
        gen.call_all(("close_all",))
        time.sleep(3.0)

        # Phase 3: broadcast, each client count on fresh load-generator processes.
        for clients in plan.broadcast_clients:
            gen.quit()
            gen = LoadGen(plan.workers, server.port, use_uvloop)
            gen.prepare(clients)
            outcome = gen.connect(clients, plan.concurrency, timeout=60)
            if outcome["ok"] != clients:
                raise RuntimeError(f"{server.name}: only {outcome['ok']} of {clients} clients connected: {outcome['errors']}")
            time.sleep(1.0)
            # Warm-up step (not reported): the first broadcast after connecting is not representative.
            warm_plan = Plan(**{**plan.__dict__, "step_seconds": 1.0})
            broadcast_step(server, gen, clients, plan.ladder[0], warm_plan, use_uvloop)
            time.sleep(0.3)
            steps = []
            must_reach = (peer_saturation or {}).get(clients, 0)
            strikes = 0
            for level in plan.ladder:
                if time.monotonic() > plan.deadline:
                    result.notes.append(f"N={clients}: ladder cut at {level}/s by the time budget")
                    break
                step = broadcast_step(server, gen, clients, level, plan, use_uvloop)
                steps.append(step)
                if step["open_clients"] < clients:
                    result.notes.append(f"N={clients}: {clients - step['open_clients']} clients were disconnected by the server at {level}/s")
                    break
                strikes = 0 if step["sustained"] else strikes + 1
                if strikes >= 2 and level >= must_reach:
                    break
                time.sleep(0.3)
            result.broadcast[clients] = steps
            gen.call_all(("close_all",))
            time.sleep(1.5)
    finally:
        if gen is not None:
            gen.quit()
        server.stop()
        log(f"stopped {server.label}")
    return result


def saturation(steps: list[dict]) -> dict | None:
    """The highest sustained step (steps are in rising order; a ladder ends after two unsustained in a row)."""
    best = None
    for step in steps:
        if step["sustained"]:
            best = step
    return best


# ------------------------------------------------------------------------------------------------
# Report


def fmt(value, digits: int = 0, none: str = "—") -> str:
    if value is None:
        return none
    if isinstance(value, float) and digits:
        return f"{value:,.{digits}f}"
    return f"{value:,.0f}"


def ratio(a, b, digits: int = 1) -> str:
    if a is None or b is None or not b:
        return "—"
    return f"{a / b:.{digits}f}×"


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                mem = f", {int(line.split()[1]) / 1024 / 1024:.0f} GB RAM"
    except OSError:
        pass
    return f"{os.cpu_count()} cores ({model}){mem}, Linux {platform.release()}"


def versions(use_uvloop: bool) -> str:
    import aiohttp
    import engineio
    import socketio

    loop = "asyncio"
    if use_uvloop:
        try:
            import uvloop  # type: ignore

            loop = f"uvloop {uvloop.__version__}"
        except ImportError:
            pass
    engineio_version = getattr(engineio, "__version__", None)
    if engineio_version is None:
        from importlib.metadata import version

        engineio_version = version("python-engineio")
    from importlib.metadata import version as dist_version

    return (f"Python {platform.python_version()}, python-socketio {dist_version('python-socketio')} / "
            f"python-engineio {engineio_version} on aiohttp {aiohttp.__version__} (default asyncio loop); "
            f"load generator on {loop}")


FLOOR_FRAME_BYTES = 650  # about the average of the two gateway event frames a trigger produces (~610 and ~680 bytes)


def write_floor(plan: Plan, work: Path, peer_saturation: dict[int, float]) -> list[dict]:
    """The kernel's floor per delivery on this machine: write_floor.c (compiled here with cc) writes
    ready frames to N loopback TCP connections, one write call per frame (and per 2 coalesced frames),
    and reports its own CPU per frame. No server does less per delivery that writes each one.
    Back to back, and paced like the broadcast at the peer's saturation rate: one round of 2-frame
    writes (a trigger's two events) per trigger, idle in between."""
    binary = work / "write_floor"
    subprocess.run(["cc", "-O2", "-o", str(binary), str(HERE / "write_floor.c")], check=True, timeout=120)
    seconds = "1.5" if plan.quick else "3"
    rows = []
    for clients in plan.broadcast_clients:
        runs = [(1, 0.0), (2, 0.0)]
        if peer_saturation.get(clients):
            runs.append((2, peer_saturation[clients] / (2 * clients)))
        for per_write, rounds in runs:
            out = subprocess.run([str(binary), str(clients), str(FLOOR_FRAME_BYTES), str(per_write), seconds, f"{rounds:g}"],
                                 check=True, capture_output=True, text=True, timeout=60)
            row = json.loads(out.stdout)
            rows.append(row)
            pace = f"{rounds:g} rounds/s" if rounds else "back to back"
            log(f"  write floor {clients} connections, {per_write} frame(s) per write, {pace}: {row['us_per_frame']:.2f} µs "
                f"CPU per frame = {row['frames_per_cpu_s']:,.0f} frames per CPU-s ({row['refused_writes']} writes refused)")
    return rows


def render(results: dict[str, ServerResult], plan: Plan, started: float, use_uvloop: bool, floor: list[dict]) -> str:
    g, p = results["gateway"], results["peer"]
    out: list[str] = []
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    out.append(f"_Measured {now} on {machine()}; release build; {'quick' if plan.quick else 'full'} mode, "
               f"{time.monotonic() - started:.0f} s. {versions(use_uvloop)}._")
    out.append("")
    out.append("### Hub: Socket.IO broadcast — gateway vs python-socketio (same run)")
    out.append("")
    out.append(
        "`python3 Benchmarks/hub/hub_bench.py --output docs/BENCHMARKS.md" + (" --quick`" if plan.quick else "`") +
        ". Peer reference: `socketio.AsyncServer(async_mode=\"aiohttp\")` (Benchmarks/hub/peer_server.py), same "
        "auth payload, everyone in one room, `POST /send` broadcasts the same two events a gateway send produces "
        "(real gateway event JSON as the template, ~610 and ~680 bytes). Gateway trigger: `POST /api/messaging/send` "
        "on a loopback account (stored in SQLite, sent, echoed: MESSAGE_SENT + MESSAGE_RECEIVED to `org:bench`). "
        f"Clients: raw-WebSocket Engine.IO v4 clients in {plan.workers} processes (Benchmarks/hub/eio_client.py); "
        "a paced sender with "
        f"{plan.inflight} requests in flight embeds `time.time()` in the content; latency = receive time − send time. "
        "Load generator and server share the cores, so efficiency is deliveries per **server CPU-second** "
        "(utime+stime from /proc/<pid>/stat around each step); client CPU (workers + sender) is shown too. "
        "127.0.0.1 only.")
    out.append("")

    # Connect
    out.append("#### Connect rate")
    out.append("")
    out.append("| | gateway | python-socketio | gateway / peer |")
    out.append("|---|---:|---:|---:|")
    for gc, pc in zip(g.connect, p.connect):
        span = f"{gc['from']:,} → {gc['to']:,}"
        out.append(f"| connections/s, {span} | {fmt(gc['rate'])} | {fmt(pc['rate'])} | {ratio(gc['rate'], pc['rate'])} |")
        out.append(f"| handshake p50 / p99 (ms), {span} | {gc['handshake_p50_ms']:.1f} / {gc['handshake_p99_ms']:.1f} | "
                   f"{pc['handshake_p50_ms']:.1f} / {pc['handshake_p99_ms']:.1f} | |")
        gk = 1000 * 1000 * gc["server_cpu_s"] / max(gc["ok"], 1)
        pk = 1000 * 1000 * pc["server_cpu_s"] / max(pc["ok"], 1)
        out.append(f"| server CPU per 1,000 connects (ms), {span} | {gk:.0f} | {pk:.0f} | {ratio(pk, gk)} less |")
        gcl = 1000 * 1000 * gc["client_cpu_s"] / max(gc["ok"], 1)
        pcl = 1000 * 1000 * pc["client_cpu_s"] / max(pc["ok"], 1)
        out.append(f"| client CPU per 1,000 connects (ms), {span} | {gcl:.0f} | {pcl:.0f} | |")
        if gc["failed"] or pc["failed"]:
            out.append(f"| failed connects, {span} | {gc['failed']} | {pc['failed']} | |")
    out.append("")
    out.append(f"{plan.concurrency} handshakes in flight per worker process; handshake = TCP connect → WebSocket upgrade → "
               "Engine.IO open → `40{token}` → Socket.IO CONNECT acknowledged (JWT verified, rooms joined).")
    out.append("")

    # Idle memory
    out.append("#### Idle connections: server memory and CPU")
    out.append("")
    out.append("| | gateway | python-socketio | gateway / peer |")
    out.append("|---|---:|---:|---:|")
    out.append(f"| RSS before (MB) | {g.rss_before_kb / 1024:.1f} | {p.rss_before_kb / 1024:.1f} | |")
    for gi, pi in zip(g.idle, p.idle):
        n = gi["connections"]
        out.append(f"| RSS with {n:,} idle (MB) | {gi['rss_kb'] / 1024:.1f} | {pi['rss_kb'] / 1024:.1f} | |")
        out.append(f"| **RSS per idle connection at {n:,} (KB)** | **{fmt(gi['kb_per_connection'], 1)}** | "
                   f"{fmt(pi['kb_per_connection'], 1)} | {ratio(gi['kb_per_connection'], pi['kb_per_connection'], 2)} |")
        out.append(f"| idle server CPU with {n:,} (ms per s) | {gi['idle_cpu_ms_per_s']:.1f} | {pi['idle_cpu_ms_per_s']:.1f} | |")
    out.append("")
    out.append("RSS per connection = (VmRSS with N idle connections − VmRSS before) / N, 2–3 s after the last connect.")
    out.append("")

    # Trigger cost
    out.append("#### Trigger cost (no clients connected)")
    out.append("")
    out.append("| | gateway | python-socketio |")
    out.append("|---|---:|---:|")
    out.append(f"| server CPU per trigger at 200/s (ms) | {g.trigger['ms_per_trigger']:.3f} | {p.trigger['ms_per_trigger']:.3f} |")
    out.append("")
    out.append("A gateway trigger is a full REST send (JWT, validation, SQLite writes, plugin call, echo, routing); the "
               "peer's is a JWT check and two `emit`s. This cost is inside the gateway's deliveries per CPU-second below.")
    out.append("")

    # Broadcast
    targets: list[tuple[str, str, str]] = []
    for clients in plan.broadcast_clients:
        gsteps = {s["offered_deliveries_per_s"]: s for s in g.broadcast.get(clients, [])}
        psteps = {s["offered_deliveries_per_s"]: s for s in p.broadcast.get(clients, [])}
        out.append(f"#### Broadcast: {clients:,} clients in one room")
        out.append("")
        out.append("| offered deliveries/s (triggers/s) | gateway delivered/s | p50 / p99 (ms) | trigger response p99 (ms) | "
                   "server CPU s (user + sys) | deliveries per server CPU-s | client CPU s | python-socketio delivered/s | "
                   "p50 / p99 (ms) | trigger response p99 (ms) | server CPU s (user + sys) | deliveries per server CPU-s | "
                   "client CPU s | gateway / peer per CPU-s |")
        out.append("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")

        def cells(step: dict | None) -> list[str]:
            if step is None:
                return ["—"] * 6
            mark = "" if step["sustained"] else " ✗ " + ",".join(step["failures"])
            return [
                f"{fmt(step['delivered_per_s'])}{mark}",
                f"{fmt(step['p50_ms'], 1)} / {fmt(step['p99_ms'], 1)}",
                f"{step['trigger_response_p99_ms']:.1f}",
                f"{step['server_user_s']:.2f} + {step['server_sys_s']:.2f}",
                fmt(step["deliveries_per_server_cpu_s"]),
                f"{step['client_cpu_s']:.2f}",
            ]

        for level in sorted(set(gsteps) | set(psteps)):
            gs, ps = gsteps.get(level), psteps.get(level)
            r = ratio(gs and gs["deliveries_per_server_cpu_s"], ps and ps["deliveries_per_server_cpu_s"])
            trig = level / (2 * clients)
            out.append(f"| {fmt(level)} ({trig:g}) | " + " | ".join(cells(gs)) + " | " + " | ".join(cells(ps)) + f" | {r} |")
        out.append("")
        psat, gsat = saturation(p.broadcast.get(clients, [])), saturation(g.broadcast.get(clients, []))
        at = gsteps.get(psat["offered_deliveries_per_s"]) if psat else None
        lines = []
        if psat:
            lines.append(f"python-socketio saturates at **{fmt(psat['offered_deliveries_per_s'])} deliveries/s** "
                         f"(highest sustained step; p99 {fmt(psat['p99_ms'], 1)} ms, "
                         f"{fmt(psat['deliveries_per_server_cpu_s'])} deliveries per server CPU-s).")
        else:
            lines.append("python-socketio sustained none of the steps.")
        if at:
            lines.append(f"At that rate the gateway: p99 **{fmt(at['p99_ms'], 1)} ms**, "
                         f"{fmt(at['deliveries_per_server_cpu_s'])} deliveries per server CPU-s "
                         f"(**{ratio(at['deliveries_per_server_cpu_s'], psat['deliveries_per_server_cpu_s'])}** the peer's).")
            targets.append((f"≥ 10× the peer's deliveries per server CPU-s ({clients:,} clients, at the peer's saturation rate)",
                            ratio(at["deliveries_per_server_cpu_s"], psat["deliveries_per_server_cpu_s"]),
                            "yes" if at["deliveries_per_server_cpu_s"] and at["deliveries_per_server_cpu_s"]
                            >= 10 * psat["deliveries_per_server_cpu_s"] else "**no**"))
            if g.trigger.get("ms_per_trigger"):
                # Each trigger yields 2 deliveries per client; its own cost (measured with no clients) caps the rate.
                bound = 2 * clients / (g.trigger["ms_per_trigger"] / 1000)
                targets.append((f"↳ reference: the gateway's trigger cost alone ({g.trigger['ms_per_trigger']:.2f} ms of REST send per "
                                f"2×{clients:,} deliveries) would allow at most", ratio(bound, psat["deliveries_per_server_cpu_s"], 2),
                                "reachable" if bound >= 10 * psat["deliveries_per_server_cpu_s"] else "**out of reach**"))
            for row in floor:
                if row["connections"] == clients:
                    pace = f", {row['rounds_per_s']:g} rounds/s: the peer's saturation rate" if row["rounds_per_s"] else ""
                    targets.append((f"↳ reference: the kernel's write floor alone ({clients:,} connections, "
                                    f"{row['frames_per_write']} frame{'s' if row['frames_per_write'] > 1 else ''} per write call"
                                    f"{pace}) would allow at most", ratio(row["frames_per_cpu_s"], psat["deliveries_per_server_cpu_s"], 2),
                                    "reachable" if row["frames_per_cpu_s"] >= 10 * psat["deliveries_per_server_cpu_s"]
                                    else "**out of reach**"))
                    if row["rounds_per_s"] and g.trigger.get("ms_per_trigger"):
                        # Both costs at once: no server that does a REST send per trigger and writes
                        # every client once per trigger spends less per delivery.
                        per_delivery_s = row["us_per_frame"] / 1e6 + g.trigger["ms_per_trigger"] / 1000 / (2 * clients)
                        bound = 1 / per_delivery_s
                        targets.append(("↳ reference: the trigger cost and the paced write floor together "
                                        f"({per_delivery_s * 1e6:.2f} µs per delivery) would allow at most",
                                        ratio(bound, psat["deliveries_per_server_cpu_s"], 2),
                                        "reachable" if bound >= 10 * psat["deliveries_per_server_cpu_s"] else "**out of reach**"))
            targets.append((f"p99 ≤ 50 ms at the peer's saturation rate ({clients:,} clients, "
                            f"{fmt(psat['offered_deliveries_per_s'])} deliveries/s)", f"{fmt(at['p99_ms'], 1)} ms",
                            "yes" if at["p99_ms"] is not None and at["p99_ms"] <= 50 else "**no**"))
        if gsat:
            top = gsteps[max(gsteps)]
            lines.append(f"Gateway: highest sustained step {fmt(gsat['offered_deliveries_per_s'])} deliveries/s "
                         f"(p99 {fmt(gsat['p99_ms'], 1)} ms, server CPU {gsat['server_cpu_pct']:.0f} % of one core, "
                         f"client CPU {gsat['client_cpu_s']:.2f} s in {plan.step_seconds:g} s)"
                         + ("." if top is gsat else f"; at {fmt(top['offered_deliveries_per_s'])}/s it no longer kept up."))
        out.append(" ".join(lines))
        out.append("")
    out.append(f"Each step runs {plan.step_seconds:g} s after an unreported 1 s warm-up step. ✗ = not sustained: "
               f"`rate` = the server took < {SUSTAIN_SEND_FRACTION:.0%} of the offered triggers ({plan.inflight} in flight), "
               f"`late` = < {SUSTAIN_DELIVERED_FRACTION:.0%} of the expected deliveries arrived within 1 s of the last send, "
               f"`slow` = delivered/s < {SUSTAIN_THROUGHPUT_FRACTION:.0%} of the offered deliveries/s, "
               f"`p99` = p99 ≥ {SUSTAIN_P99_MS:g} ms, `err` = a trigger failed. A ladder ends after two unsustained steps "
               "in a row (the gateway's not below the peer's saturation rate); saturation = the highest sustained step. "
               "Delivered/s = deliveries / (last delivery − step start). Server CPU covers the step and its drain. "
               "Trigger response = the sender's HTTP round trip for one trigger; it is inside the end-to-end latency (the "
               "gateway publishes MESSAGE_SENT only once the message is stored and sent through the plugin).")
    out.append("")

    # Kernel floor
    if floor:
        out.append("#### Reference: the kernel's cost of one delivery (write floor, same run)")
        out.append("")
        out.append("| connections | frames per write call | pace | server CPU per frame (µs, user + sys) | frames per server CPU-s |")
        out.append("|---:|---:|---|---:|---:|")
        for row in floor:
            pace = f"{row['rounds_per_s']:g} rounds/s" if row["rounds_per_s"] else "back to back"
            out.append(f"| {row['connections']:,} | {row['frames_per_write']} | {pace} | {row['us_per_frame']:.2f} "
                       f"({row['user_s']:.2f} + {row['sys_s']:.2f} s) | {fmt(row['frames_per_cpu_s'])} |")
        out.append("")
        out.append(f"`Benchmarks/hub/write_floor.c`: a C program that does nothing but write ready {FLOOR_FRAME_BYTES}-byte "
                   "WebSocket frames (the size of a gateway event) round-robin to N loopback TCP connections (TCP_NODELAY, "
                   "like the servers' sockets; a forked reader drains them with epoll) and counts its own CPU per frame. "
                   "On loopback the sender is also charged most of the receiver's TCP processing, as the servers above are. "
                   "This is the least any server pays per delivery when each delivery is its own write call; when two "
                   "events for a client are pending together they can share one call (2 frames per write call). "
                   "Back to back, the reader never sleeps; paced (one round of writes to every connection per trigger, "
                   "at the trigger rate of the peer's saturation step, idle in between: the broadcasts' own pattern) it "
                   "sleeps between rounds, and waking it is part of each round's cost. The paced row is the floor for "
                   "the target's load.")
        out.append("")

    # Targets
    per_conn = [i for i in g.idle if i["kb_per_connection"] is not None]
    for item in per_conn:
        targets.append((f"≤ 20 KB RSS per idle connection ({item['connections']:,})", f"{item['kb_per_connection']:.1f} KB",
                        "yes" if item["kb_per_connection"] <= 20 else "**no**"))
    out.append("#### Targets")
    out.append("")
    out.append("| target | gateway measured | met |")
    out.append("|---|---:|---|")
    for name, value, met in targets:
        out.append(f"| {name} | {value} | {met} |")
    out.append("")
    notes = [f"{r.label}: {n}" for r in (g, p) for n in r.notes]
    if notes:
        out.append("Notes: " + "; ".join(notes) + ".")
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def write_section(path: Path, body: str) -> None:
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    section = f"{MARK_BEGIN}\n{body}{MARK_END}"
    if MARK_BEGIN in text and MARK_END in text and text.index(MARK_BEGIN) < text.index(MARK_END):
        start = text.index(MARK_BEGIN)
        end = text.index(MARK_END) + len(MARK_END)
        text = text[:start] + section + text[end:]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text)


# ------------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", type=Path, help="markdown file whose bench:hub section is rewritten")
    parser.add_argument("--quick", action="store_true", help="1,000 idle connections only, shorter steps (< 2 min)")
    parser.add_argument("--gateway", type=Path, default=REPO / ".build" / "release" / "gateway")
    parser.add_argument("--workers", type=int, default=2, help="load-generator processes")
    parser.add_argument("--json", type=Path, help="also dump the raw results here")
    parser.add_argument("--no-uvloop", action="store_true", help="load generator on the plain asyncio loop")
    args = parser.parse_args()

    binary = args.gateway.resolve()
    if not binary.is_file() or not os.access(binary, os.X_OK):
        print(f"gateway binary not found at {binary} (build it: swift build -c release)", file=sys.stderr)
        return 2
    if not (binary.parent / "libLoopbackChannel.so").is_file():
        print(f"libLoopbackChannel.so not found next to {binary}", file=sys.stderr)
        return 2
    try:
        import aiohttp  # noqa: F401
        import jwt  # noqa: F401
        import socketio  # noqa: F401
    except ImportError as error:
        print(f"missing Python package ({error}); pip install aiohttp python-socketio PyJWT", file=sys.stderr)
        return 2
    use_uvloop = not args.no_uvloop
    limit = raise_nofile()
    started = time.monotonic()
    quick = args.quick
    plan = Plan(
        quick=quick,
        idle_counts=[1000] if quick else [1000, 10000],
        broadcast_clients=[100, 1000],
        step_seconds=2.0 if quick else 3.0,
        ladder=([int(10_000 * f) for f in (1, 2, 3, 4, 6, 8, 12)] if quick
                else [int(5_000 * f) for f in (1, 1.5, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64)]),
        workers=max(1, args.workers),
        concurrency=100,
        inflight=16,
        deadline=0.0,  # set per server below
    )
    if max(plan.idle_counts) + 200 > limit * plan.workers:
        print(f"open-file limit {limit} is too low for {max(plan.idle_counts)} connections", file=sys.stderr)
        return 2
    log(f"{'quick' if quick else 'full'} mode, gateway {binary}, {plan.workers} load-generator processes, nofile {limit}")

    results: dict[str, ServerResult] = {}
    servers: list[Server] = []

    def terminate(signum, _frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, terminate)
    with tempfile.TemporaryDirectory(prefix="hub-bench-") as tmp:
        work = Path(tmp)
        try:
            peer = PeerServer(work)
            servers.append(peer)
            plan.deadline = time.monotonic() + (45 if quick else 140)
            results["peer"] = run_server(peer, plan, use_uvloop, None)
            peer_sat = {}
            for clients, steps in results["peer"].broadcast.items():
                sat = saturation(steps)
                peer_sat[clients] = sat["offered_deliveries_per_s"] if sat else 0
            gateway = GatewayServer(work, binary)
            servers.append(gateway)
            plan.deadline = time.monotonic() + (50 if quick else 150)
            results["gateway"] = run_server(gateway, plan, use_uvloop, peer_sat)
            log("write floor (kernel reference)")
            floor = write_floor(plan, work, peer_sat)
        except BaseException:
            for server in servers:
                if server.proc is not None and server.proc.poll() is None:
                    sys.stderr.write(f"--- {server.name} log tail ---\n{server.log_tail()}\n")
            raise
        finally:
            for server in servers:
                server.stop()
            for child in mp.active_children():
                child.kill()

    body = render(results, plan, started, use_uvloop, floor)
    print(body)
    if args.json:
        args.json.write_text(json.dumps({**{k: v.__dict__ for k, v in results.items()}, "write_floor": floor}, indent=1, default=str))
    if args.output:
        write_section(args.output, body)
        log(f"wrote the bench:hub section of {args.output}")
    log(f"done in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
