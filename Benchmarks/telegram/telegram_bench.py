#!/usr/bin/env python3
"""Telegram resource benchmark: N Telegram user accounts in one gateway process, against the fake DC.

    python3 Benchmarks/telegram/telegram_bench.py --output docs/BENCHMARKS.md [--accounts 1000]

One `fake-dc --world --login-code 12345` process (plugins/telegram, our fake Telegram) and a
release gateway whose `telegram` plugin (libTelegramChannel.so) points at it, on 127.0.0.1 only:
  0. the gateway with the plugin loaded and 0 accounts: VmRSS, and CPU over the idle window
     (the reference for memory and idle CPU: same process, same run);
  1. connect: N users added to the world, each logged in through the REST API (POST
     /api/bd-accounts/connect → awaiting_code, POST /api/bd-accounts/:id/code → connected),
     `--concurrency` logins in flight → accounts/s, per-login latency, CPU per login;
  2. idle: all N accounts connected and quiet for `--settle` s → VmRSS; KB per idle account =
     (VmRSS with N − VmRSS with 0) / N; then CPU over the idle window (default 60 s: one MTProto
     ping interval of the client, so every account's ping falls inside it once);
  3. inbound: M private messages from S other world users (not on the gateway) round-robin over
     the N accounts, pushed by the fake DC (`deliver` commands pipelined on its stdin; each is
     answered once the DC handed the update to the account's connection); stored/s = M / (first
     command → `gateway_messages_stored_total` on /metrics grew by M). Reference: the fake DC's own
     push rate in the same run (M / first command → last answer): the gateway cannot receive faster.
     Every message is then read back over the REST API (stored once, on its account) and its
     pipeline latency taken from its UUIDv7 id;
  4. (unless --no-reference) a second gateway, same binary and config but the plugin saves no
     sessions, connects N other users and takes the same burst: what saving sessions costs.
Results go between `<!-- bench:telegram -->` and `<!-- /bench:telegram -->` in the --output file.

Needs: the release gateway (.build/release/gateway, libTelegramChannel.so next to it), the release
fake-dc (next to the gateway: `swift build -c release --product fake-dc`; or
plugins/telegram/.build/release/fake-dc), python3 with PyJWT.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import json
import os
import platform
import queue
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]

SECRET = "telegram-bench-secret-0123456789-abcdefghij"  # HS256 needs ≥ 32 bytes
STATE_KEY = base64.b64encode(bytes(range(32))).decode()  # sessions encrypted at rest, as in production
ORG = "bench"
LOGIN_CODE = "12345"
API_ID = 12345
API_HASH = "0123456789abcdef0123456789abcdef"
PLUGIN = "libTelegramChannel.so"
CLK_TCK = os.sysconf("SC_CLK_TCK")
MARK_BEGIN, MARK_END = "<!-- bench:telegram -->", "<!-- /bench:telegram -->"
TARGET_KB_PER_ACCOUNT = 200
CLIENT_PING_INTERVAL_S = 60  # TelegramClientConfiguration.pingInterval (plugins/telegram/Sources/TelegramClient)
STARTUP_TIMEOUT = 60
STOP_TIMEOUT = 10
REQUEST_TIMEOUT = 60  # one REST call (a login is RSA + DH handshakes on the plugin side)
COMMAND_TIMEOUT = 30  # one fake-dc world command
SCRUBBED_ENV = [
    "HOST", "PORT", "JWT_SECRET", "AUTH_SERVICE_URL", "SQLITE_PATH", "DATABASE_URL", "REDIS_URL",
    "RABBITMQ_URL", "CORS_ORIGIN", "MAX_CONNECTIONS_PER_ORG", "LOG_LEVEL", "GATEWAY_STATE_KEY",
    "TELEGRAM_API_ID", "TELEGRAM_API_HASH",
]


def log(message: str) -> None:
    print(f"[telegram-bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def token(sub: str, role: str = "admin") -> str:
    import jwt

    claims = {"sub": sub, "organizationId": ORG, "role": role, "exp": int(time.time()) + 6 * 3600}
    return jwt.encode(claims, SECRET, algorithm="HS256")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def raise_nofile() -> int:
    """Raises this process's soft open-file limit to the hard one; the children inherit it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else 1_048_576
    if soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):
            pass
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def pct(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def http_json(method: str, url: str, body: dict | None = None, bearer: str | None = None,
              timeout: float = REQUEST_TIMEOUT) -> tuple[int, dict]:
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
    except (urllib.error.URLError, OSError) as error:  # timeouts, refused, reset
        return 0, {"body": f"{type(error).__name__}: {error}"}


# ------------------------------------------------------------------------------------------------
# Processes


class Child:
    """A child process in its own session; /proc figures; SIGTERM then SIGKILL."""

    name = ""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.proc: subprocess.Popen | None = None
        self.log_path = work / f"{self.name}.log"

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=STOP_TIMEOUT)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no output)"

    def cpu_split(self) -> tuple[float, float]:
        """(utime, stime) in seconds."""
        assert self.proc is not None
        with open(f"/proc/{self.proc.pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        return int(fields[11]) / CLK_TCK, int(fields[12]) / CLK_TCK

    def cpu(self) -> float:
        return sum(self.cpu_split())

    def status(self) -> dict[str, int]:
        """VmRSS, RssAnon, RssFile (KB) and Threads from /proc/<pid>/status."""
        assert self.proc is not None
        wanted = {"VmRSS", "RssAnon", "RssFile", "Threads", "VmHWM"}
        found: dict[str, int] = {}
        with open(f"/proc/{self.proc.pid}/status") as handle:
            for line in handle:
                key, _, value = line.partition(":")
                if key in wanted:
                    found[key] = int(value.split()[0])
        return found

    def rss_kb(self) -> int:
        return self.status().get("VmRSS", 0)

    def fds(self) -> int:
        assert self.proc is not None
        try:
            return len(os.listdir(f"/proc/{self.proc.pid}/fd"))
        except OSError:
            return -1

    def sample(self) -> dict:
        status = self.status()
        return {"rss_kb": status.get("VmRSS", 0), "rss_anon_kb": status.get("RssAnon", 0),
                "rss_file_kb": status.get("RssFile", 0), "threads": status.get("Threads", 0), "fds": self.fds(),
                "cpu_s": self.cpu()}


class FakeWorld(Child):
    """`fake-dc --world --login-code 12345` on 127.0.0.1: JSON-line commands on stdin, one answer
    line each on stdout, in order (plugins/telegram/Sources/fake-dc/WorldControl.swift)."""

    name = "fake-dc"

    def __init__(self, work: Path, binary: Path) -> None:
        super().__init__(work)
        self.binary = binary
        self.answers: queue.Queue[tuple[float, str] | None] = queue.Queue()  # (time.time() when read, line)
        self.ready: dict = {}
        self.public_key_pem = ""
        self.lock = threading.Lock()

    def start(self) -> None:
        command = [str(self.binary), "--rsa-key", str(self.work / "dc.pem"), "--host", "127.0.0.1", "--port", "0",
                   "--dc-id", "2", "--world", "--login-code", LOGIN_CODE]
        with open(self.log_path, "ab") as err:
            self.proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err,
                                         cwd=str(self.work), start_new_session=True)
        threading.Thread(target=self._read, args=(self.proc,), name="fake-dc stdout", daemon=True).start()
        try:
            first = self.answers.get(timeout=STARTUP_TIMEOUT)
        except queue.Empty:
            raise RuntimeError(f"fake-dc printed no ready line within {STARTUP_TIMEOUT} s:\n{self.log_tail()}")
        if first is None:
            raise RuntimeError(f"fake-dc exited ({self.proc.poll()}) before listening:\n{self.log_tail()}")
        self.ready = json.loads(first[1])
        key_path = Path(self.ready["publicKey"])
        self.public_key_pem = (key_path if key_path.is_absolute() else self.work / key_path).read_text()
        self.command({"cmd": "ping"})

    def _read(self, proc: subprocess.Popen) -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            self.answers.put((time.time(), raw.decode(errors="replace").rstrip("\n")))
        self.answers.put(None)

    @property
    def data_centers(self) -> dict[str, str]:
        centers = self.ready.get("dataCenters") or {str(self.ready["dcId"]): self.ready["port"]}
        return {str(dc): f"127.0.0.1:{port}" for dc, port in centers.items()}

    def _answer(self, timeout: float, what: str) -> tuple[float, dict]:
        """(time.time() when the line was read, the decoded answer)."""
        try:
            item = self.answers.get(timeout=timeout)
        except queue.Empty:
            raise RuntimeError(f"fake-dc did not answer {what} within {timeout} s:\n{self.log_tail()}")
        if item is None:
            self.answers.put(None)
            raise RuntimeError(f"fake-dc ended its output (status {self.proc.poll()}) at {what}:\n{self.log_tail()}")
        reply = json.loads(item[1])
        if not reply.get("ok"):
            raise RuntimeError(f"fake-dc refused {what}: {reply.get('error')}")
        return item[0], reply

    def command(self, command: dict, timeout: float = COMMAND_TIMEOUT) -> dict:
        with self.lock:
            assert self.proc is not None and self.proc.stdin is not None
            self.proc.stdin.write((json.dumps(command) + "\n").encode())
            self.proc.stdin.flush()
            return self._answer(timeout, json.dumps(command)[:200])[1]

    def pipeline(self, commands: list[dict], timeout: float) -> dict:
        """Writes every command at once (a writer thread) and reads the answers in order; each
        answer is awaited for at most COMMAND_TIMEOUT s and the whole for at most `timeout` s.
        Returns the replies, when each was read (time.time()), and the perf_counter() of the first
        write and of the last answer."""
        lines = [json.dumps(c) + "\n" for c in commands]
        with self.lock:
            assert self.proc is not None and self.proc.stdin is not None
            stdin = self.proc.stdin
            errors: list[BaseException] = []

            def write() -> None:
                try:
                    for start in range(0, len(lines), 500):
                        stdin.write("".join(lines[start:start + 500]).encode())
                        stdin.flush()
                except BaseException as error:  # noqa: BLE001 (reported below)
                    errors.append(error)

            writer = threading.Thread(target=write, name="fake-dc stdin", daemon=True)
            first = time.perf_counter()
            writer.start()
            replies, read_at = [], []
            deadline = first + timeout
            for index in range(len(lines)):
                left = min(COMMAND_TIMEOUT, deadline - time.perf_counter())
                if left <= 0:
                    raise RuntimeError(f"fake-dc answered {index} of {len(lines)} commands within {timeout} s")
                at, reply = self._answer(left, f"command {index} of the pipeline")
                replies.append(reply)
                read_at.append(at)
            last = time.perf_counter()
            writer.join(timeout=COMMAND_TIMEOUT)
            if errors:
                raise RuntimeError(f"writing to fake-dc failed: {errors[0]!r}")
        return {"replies": replies, "read_at": read_at, "first": first, "last": last}

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None and self.proc.stdin is not None:
            try:
                self.proc.stdin.close()  # end of input ends the world (status 0)
                self.proc.wait(timeout=STOP_TIMEOUT)
            except (OSError, subprocess.TimeoutExpired):
                pass
        super().stop()


class Gateway(Child):
    name = "gateway"

    def __init__(self, work: Path, binary: Path, world: FakeWorld, sessions: str = "encrypted") -> None:
        super().__init__(work)
        self.binary = binary
        self.world = world
        self.sessions = sessions  # encrypted (state_key) | plaintext (insecure_plaintext_sessions) | unsaved
        self.port = 0
        self.admin = token("telegram-bench-admin")

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def config(self) -> dict:
        storage: dict = {"sqlite": {"path": str(self.work / "gateway.sqlite")}}
        if self.sessions == "encrypted":
            storage["state_key"] = STATE_KEY
        plugin_config: dict = {
            "api_id": API_ID,
            "api_hash": API_HASH,
            "test_servers": True,
            "data_centers": self.world.data_centers,
            "rsa_public_keys": [self.world.public_key_pem],
        }
        if self.sessions == "plaintext":
            plugin_config["insecure_plaintext_sessions"] = True
        return {
            "version": 1,
            "server": {"host": "127.0.0.1", "cors_origin": "*"},
            "auth": {"jwt": {"secret": SECRET}},
            "storage": storage,
            # 10,000,000 is the largest value the config accepts (ConfigLoader: 1...10_000_000).
            "api": {"rate_limit_per_minute": 10000000},
            "plugins": [{"name": "telegram", "path": str(self.binary.parent / PLUGIN), "config": plugin_config}],
            "routes": [{"name": "everything", "match": {}, "to": ["store", "hub"]}],
            "metrics": {"public": True},
            "logging": {"level": "warning"},
        }

    def start(self) -> None:
        path = self.work / "gateway.yaml"
        path.write_text(json.dumps(self.config(), indent=2))  # JSON is YAML
        env = {k: v for k, v in os.environ.items() if k not in SCRUBBED_ENV}
        for _attempt in range(3):  # a port taken between free_port() and bind: try another
            self.port = free_port()
            with open(self.log_path, "ab") as out:
                self.proc = subprocess.Popen(
                    [str(self.binary), "serve", "--config", str(path), "--port", str(self.port)],
                    stdout=out, stderr=out, stdin=subprocess.DEVNULL, cwd=str(self.work), env=env,
                    start_new_session=True)
            deadline = time.monotonic() + STARTUP_TIMEOUT
            while time.monotonic() < deadline and self.proc.poll() is None:
                status, body = http_json("GET", f"{self.base}/health", timeout=2)
                if status == 200:
                    if "telegram" not in json.dumps(body.get("plugins")):
                        raise RuntimeError(f"/health does not list the telegram plugin: {body.get('plugins')}")
                    return
                time.sleep(0.1)
            self.stop()
            if "address already in use" not in self.log_tail(200).lower():
                break
        raise RuntimeError(f"the gateway did not answer /health within {STARTUP_TIMEOUT} s:\n{self.log_tail()}")

    def health(self) -> dict:
        status, body = http_json("GET", f"{self.base}/health", timeout=10)
        if status != 200:
            raise RuntimeError(f"/health answered {status}: {body}")
        return body

    def stored_messages(self) -> int:
        """The store's message count from /health (cached there for up to 1 s)."""
        return int(self.health()["store"].get("messages") or 0)

    def stored_total(self) -> int:
        """`gateway_messages_stored_total` from /metrics: counted right after each store commit."""
        request = urllib.request.Request(f"{self.base}/metrics")
        with urllib.request.urlopen(request, timeout=10) as response:
            for line in response.read().decode().splitlines():
                if line.startswith("gateway_messages_stored_total"):
                    return int(float(line.split()[-1]))
        return 0

    def all_messages(self, deadline: float) -> list[dict]:
        """Every stored message of the organization (newest first), paged through the REST API."""
        messages: list[dict] = []
        cursor = None
        while time.monotonic() < deadline:
            query = "limit=200" + (f"&cursor={urllib.parse.quote(cursor)}" if cursor else "")
            status, page = http_json("GET", f"{self.base}/api/messaging/messages?{query}", None, self.admin)
            if status != 200:
                raise RuntimeError(f"GET /api/messaging/messages answered {status}: {page}")
            messages += page.get("messages", [])
            cursor = (page.get("pagination") or {}).get("nextCursor")
            if not cursor or not page.get("messages"):
                break
        return messages


# ------------------------------------------------------------------------------------------------
# Phases


@dataclass
class Result:
    accounts: int
    concurrency: int
    messages: int
    senders: int
    bursts: int
    settle_s: float
    idle_s: float
    sessions: str
    commit: str = ""
    baseline: dict = field(default_factory=dict)  # 0 accounts: samples + idle CPU
    connect: dict = field(default_factory=dict)
    idle: dict = field(default_factory=dict)  # N accounts
    inbound: dict = field(default_factory=dict)
    reference: dict = field(default_factory=dict)  # a second gateway, sessions not saved: connect + RSS + inbound
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0


def idle_window(gateway: Gateway, world: FakeWorld, seconds: float) -> dict:
    """CPU (user, sys) of both processes over `seconds` of quiet, plus 10-s slices of the gateway's."""
    (u0, s0), w0, t0 = gateway.cpu_split(), world.cpu(), time.perf_counter()
    slices = []
    last = gateway.cpu()
    end = t0 + seconds
    while True:
        left = end - time.perf_counter()
        if left <= 0:
            break
        time.sleep(min(10.0, left))
        now = gateway.cpu()
        slices.append(now - last)
        last = now
    elapsed = time.perf_counter() - t0
    (u1, s1), w1 = gateway.cpu_split(), world.cpu()
    return {
        "seconds": elapsed, "user_s": u1 - u0, "sys_s": s1 - s0,
        "cpu_pct": 100 * ((u1 - u0) + (s1 - s0)) / elapsed, "dc_cpu_pct": 100 * (w1 - w0) / elapsed,
        "slices_s": slices,
    }


def log_in(gateway: Gateway, phone: str) -> dict:
    """connect → awaiting_code → code → connected; timings of both calls."""
    began = time.perf_counter()
    status, body = http_json("POST", f"{gateway.base}/api/bd-accounts/connect",
                             {"platform": "telegram", "phoneNumber": phone}, gateway.admin)
    connected_at = time.perf_counter()
    if status != 202 or body.get("status") != "awaiting_code":
        return {"ok": False, "error": f"connect {phone}: {status} {json.dumps(body)[:300]}"}
    status, account = http_json("POST", f"{gateway.base}/api/bd-accounts/{body['id']}/code",
                                {"phoneCode": LOGIN_CODE}, gateway.admin)
    done = time.perf_counter()
    if status != 200 or account.get("status") != "connected":
        return {"ok": False, "error": f"code {phone}: {status} {json.dumps(account)[:300]}"}
    return {"ok": True, "id": body["id"], "connect_s": connected_at - began, "code_s": done - connected_at,
            "total_s": done - began, "done_at": done}


def phone(block: int, index: int) -> str:
    """Account phones: block 0 for the measured gateway, 1 for the reference one; senders elsewhere."""
    return f"+1555{block}{index:06d}"


def connect_all(gateway: Gateway, world: FakeWorld, block: int, n: int, args: argparse.Namespace, result: Result,
                label: str) -> tuple[list[dict], dict]:
    """Logs in N accounts through the REST API: the first alone, then `concurrency` at a time."""
    deadline = time.perf_counter() + args.connect_timeout

    def one(index: int) -> dict:
        if time.perf_counter() > deadline:
            return {"ok": False, "error": "connect phase deadline passed"}
        return log_in(gateway, phone(block, index))

    # The first login alone: its VmRSS is the "1 account" point (one-time allocations, kept out of
    # the marginal figure).
    first = one(0)
    if not first["ok"]:
        raise RuntimeError(f"{label}: the first login failed: {first['error']}\n{gateway.log_tail()}")
    logins = [first]
    time.sleep(1.0)
    one_sample = gateway.sample()
    g1, w1 = gateway.sample(), world.sample()
    t1 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=args.concurrency) as pool:
        for index, outcome in enumerate(pool.map(one, range(1, n)), start=1):
            logins.append(outcome)
            if index % max(1, n // 5) == 0:
                ok = sum(1 for x in logins if x["ok"])
                log(f"  {label}: {len(logins)}/{n} logins done ({ok} connected), {time.perf_counter() - t1:.1f} s")
    t2 = time.perf_counter()
    g2, w2 = gateway.sample(), world.sample()
    ok = [x for x in logins if x["ok"]]
    failed = [x for x in logins if not x["ok"]]
    rest_ok = sum(1 for x in logins[1:] if x["ok"])
    # Throughput over the first and the last tenth of the concurrent logins (does it degrade with N?).
    finished = sorted(x["done_at"] for x in logins[1:] if x["ok"])
    tenth = len(finished) // 10
    first_tenth = last_tenth = None
    if tenth >= 5:
        first_tenth = tenth / (finished[tenth - 1] - t1)
        last_tenth = tenth / (finished[-1] - finished[-tenth - 1])
    connect = {
        "connected": len(ok), "failed": len(failed), "errors": [x["error"] for x in failed][:5],
        "seconds": t2 - t1, "accounts_per_s": rest_ok / (t2 - t1) if t2 > t1 else None,
        "first_tenth_per_s": first_tenth, "last_tenth_per_s": last_tenth,
        "total_p50_ms": 1000 * (pct([x["total_s"] for x in ok], 0.5) or 0),
        "total_p99_ms": 1000 * (pct([x["total_s"] for x in ok], 0.99) or 0),
        "connect_p50_ms": 1000 * (pct([x["connect_s"] for x in ok], 0.5) or 0),
        "code_p50_ms": 1000 * (pct([x["code_s"] for x in ok], 0.5) or 0),
        "gateway_cpu_ms_per_login": 1000 * (g2["cpu_s"] - g1["cpu_s"]) / max(1, rest_ok),
        "dc_cpu_ms_per_login": 1000 * (w2["cpu_s"] - w1["cpu_s"]) / max(1, rest_ok),
        "first_login_ms": 1000 * first["total_s"],
        "one_account": one_sample,
    }
    log(f"{label}: connected {len(ok)}/{n} ({connect['accounts_per_s'] or 0:.1f} accounts/s after the first); "
        f"{len(failed)} failed")
    if failed:
        log(f"  first errors: {connect['errors']}")
        result.notes.append(f"{label}: {len(failed)} of {n} logins failed; first: {failed[0]['error'][:200]}")
    if not gateway.alive():
        raise RuntimeError(f"{label}: the gateway exited ({gateway.proc.returncode}) while connecting:\n"
                           f"{gateway.log_tail()}")
    return logins, connect


def burst(gateway: Gateway, world: FakeWorld, targets: list[tuple[int, str]], senders: list[int], m: int, tag: str,
          args: argparse.Namespace, label: str) -> dict:
    """One burst: M private messages from `senders`, round-robin over the accounts, pushed by the
    DC as fast as it goes; timed until the gateway has stored them all."""
    commands, expected = [], {}
    for k in range(m):
        to, account_id = targets[k % len(targets)]
        sender = senders[(k // len(targets)) % len(senders)]
        text = f"bench {tag}-{k}"
        commands.append({"cmd": "deliver", "from": sender, "to": to, "text": text})
        expected[text] = account_id
    before = gateway.stored_total()
    g0, w0 = gateway.sample(), world.sample()
    progress: list[tuple[float, int]] = []
    done = threading.Event()
    outcome: dict = {}

    def push() -> None:
        try:
            outcome.update(world.pipeline(commands, timeout=args.inbound_timeout))
        except BaseException as error:  # noqa: BLE001 (reported below)
            outcome["error"] = error
        finally:
            done.set()

    start = time.perf_counter()
    threading.Thread(target=push, name="deliver", daemon=True).start()
    stored_at = None
    final = 0
    limit = start + args.inbound_timeout
    while time.perf_counter() < limit:
        count = gateway.stored_total() - before
        now = time.perf_counter()
        progress.append((now - start, count))
        final = count
        if count >= m:
            stored_at = now
            break
        if not gateway.alive():
            break
        time.sleep(0.02)
    done.wait(timeout=max(1.0, limit - time.perf_counter()))
    g1, w1 = gateway.sample(), world.sample()
    if "error" in outcome:
        raise RuntimeError(f"{label}: delivering through fake-dc failed: {outcome['error']}")
    if not done.is_set() or "first" not in outcome:
        raise RuntimeError(f"{label}: fake-dc did not take the {m} deliver commands within {args.inbound_timeout} s")
    if not gateway.alive():
        raise RuntimeError(f"{label}: the gateway exited ({gateway.proc.returncode}) during the inbound phase:\n"
                           f"{gateway.log_tail()}")
    push_s = outcome["last"] - outcome["first"]
    stored_s = (stored_at - outcome["first"]) if stored_at else None
    figures = {
        "tag": tag, "messages": m, "stored": final, "complete": stored_at is not None,
        "dc_push_s": push_s, "dc_push_per_s": m / push_s if push_s > 0 else None,
        "stored_s": stored_s, "stored_per_s": m / stored_s if stored_s else None,
        "lag_after_last_push_ms": 1000 * (stored_at - outcome["last"]) if stored_at else None,
        "gateway_cpu_s": g1["cpu_s"] - g0["cpu_s"], "dc_cpu_s": w1["cpu_s"] - w0["cpu_s"],
        # The /metrics handler runs on the same Swift concurrency pool as the plugin: a long gap
        # between two answers (polled every 20 ms) means the pool was held up.
        "max_poll_gap_ms": 1000 * max((b[0] - a[0] for a, b in zip(progress, progress[1:])), default=0.0),
        "progress": progress[:: max(1, len(progress) // 60)],
        "read_at": dict(zip((c["text"] for c in commands), outcome["read_at"])), "expected": expected,
    }
    if stored_at is None:
        log(f"{label}: burst {tag}: only {final}/{m} stored within {args.inbound_timeout:g} s")
    else:
        log(f"{label}: burst {tag}: fake DC pushed {m} in {push_s:.2f} s ({m / push_s:.0f}/s); gateway stored all in "
            f"{stored_s:.2f} s ({m / stored_s:.0f}/s), {figures['lag_after_last_push_ms']:.0f} ms after the last push; "
            f"gateway CPU {figures['gateway_cpu_s']:.2f} s; longest /metrics wait {figures['max_poll_gap_ms']:.0f} ms")
    return figures


def inbound(gateway: Gateway, world: FakeWorld, logins: list[dict], user_ids: list[int], sender_ids: list[int],
            m: int, args: argparse.Namespace, result: Result, label: str) -> dict:
    """`--bursts` bursts of M messages (each from its own senders, so every burst has the same mix
    of first-contact and repeat messages), then every message read back over the REST API."""
    targets = [(user_ids[i], x["id"]) for i, x in enumerate(logins) if x["ok"]]
    if not targets:
        raise RuntimeError(f"{label}: no account connected")
    log(f"{label}: inbound, {args.bursts} × {m} messages from {args.senders} senders each to {len(targets)} accounts …")
    bursts = []
    for b in range(args.bursts):
        if b:
            time.sleep(args.burst_pause)
        senders = sender_ids[b * args.senders:(b + 1) * args.senders]
        bursts.append(burst(gateway, world, targets, senders, m, str(b + 1), args, label))

    # Every message stored once, on its account, with the text the world sent; pipeline latency from
    # the DC's answer to the message's id (UUIDv7: stamped in ms when the pipeline takes it, just
    # before its transaction commits).
    by_text: dict[str, list[dict]] = {}
    for message in gateway.all_messages(time.monotonic() + 180):
        text = message.get("content")
        if isinstance(text, str) and text.startswith("bench "):
            by_text.setdefault(text, []).append(message)
    latencies, wrong_account, missing = [], 0, 0
    for figures in bursts:
        burst_latencies = []
        for text, read_at in figures.pop("read_at").items():
            found = by_text.get(text, [])
            if not found:
                missing += 1
                continue
            wrong_account += sum(1 for msg in found if msg.get("bdAccountId") != figures["expected"][text])
            try:
                stamped = int(found[0]["id"].replace("-", "")[:12], 16) / 1000
            except (KeyError, ValueError, AttributeError):
                continue
            burst_latencies.append(1000 * (stamped - read_at))
        figures.pop("expected")
        figures["latency_p50_ms"] = pct(burst_latencies, 0.5)
        figures["latency_p99_ms"] = pct(burst_latencies, 0.99)
        latencies += burst_latencies
    total = m * len(bursts)
    check = {"distinct": len(by_text), "duplicates": sum(len(v) - 1 for v in by_text.values()),
             "missing": missing, "wrong_account": wrong_account}

    def median(key: str):
        values = sorted(f[key] for f in bursts if f.get(key) is not None)
        return values[len(values) // 2] if values and len(values) == len(bursts) else None

    def spread(key: str):
        values = [f[key] for f in bursts if f.get(key) is not None]
        return (min(values), max(values)) if values else (None, None)

    cpu = sum(f["gateway_cpu_s"] for f in bursts)
    dc_cpu = sum(f["dc_cpu_s"] for f in bursts)
    summary = {
        "accounts": len(targets), "messages": m, "bursts": bursts, "total": total,
        "complete": all(f["complete"] for f in bursts),
        "dc_push_per_s": median("dc_push_per_s"), "dc_push_range": spread("dc_push_per_s"),
        "stored_per_s": median("stored_per_s"), "stored_range": spread("stored_per_s"),
        "lag_after_last_push_ms": median("lag_after_last_push_ms"),
        "max_poll_gap_ms": max(f["max_poll_gap_ms"] for f in bursts),
        "gateway_cpu_ms_per_1000": cpu * 1e6 / total, "dc_cpu_ms_per_1000": dc_cpu * 1e6 / total,
        "latency_p50_ms": pct(latencies, 0.5), "latency_p99_ms": pct(latencies, 0.99),
        "latency_max_ms": max(latencies) if latencies else None, "check": check,
    }
    log(f"{label}: median of {len(bursts)} bursts: DC {fmt(summary['dc_push_per_s'])}/s, gateway stored "
        f"{fmt(summary['stored_per_s'])}/s (range {fmt(summary['stored_range'][0])}–{fmt(summary['stored_range'][1])}); "
        f"gateway CPU {summary['gateway_cpu_ms_per_1000']:.0f} ms per 1,000; pipeline latency p50 "
        f"{fmt(summary['latency_p50_ms'])} ms, p99 {fmt(summary['latency_p99_ms'])} ms")
    log(f"{label}: check: {check['distinct']} distinct stored, {check['missing']} missing, {check['duplicates']} "
        f"duplicates, {check['wrong_account']} on the wrong account")
    if not summary["complete"]:
        result.notes.append(f"{label}: a burst was not fully stored within {args.inbound_timeout:g} s")
    if check["missing"] or check["duplicates"] or check["wrong_account"]:
        result.notes.append(f"{label}: {check['missing']} messages missing, {check['duplicates']} duplicates, "
                            f"{check['wrong_account']} on the wrong account")
    return summary


def run(args: argparse.Namespace, gateway_bin: Path, dc_bin: Path, work: Path, result: Result) -> None:
    n, m = args.accounts, args.messages
    world = FakeWorld(work, dc_bin)
    children: list[Child] = [world]
    try:
        world.start()
        log(f"fake-dc listening on {world.data_centers} (pid {world.proc.pid})")

        # The accounts' users (block 0: measured gateway, block 1: the reference gateway) and the
        # senders, added before any gateway runs (nothing to push).
        blocks = 2 if args.reference else 1
        adds = [{"cmd": "add_user", "phone": phone(block, index), "firstName": f"Bench{block}x{index}", "homeDc": 2}
                for block in range(blocks) for index in range(n)]
        adds += [{"cmd": "add_user", "phone": f"+1666{index:07d}", "firstName": f"Sender{index}", "homeDc": 2}
                 for index in range(args.senders * args.bursts)]
        started = time.perf_counter()
        replies = world.pipeline(adds, timeout=120)["replies"]
        user_ids = [[r["userId"] for r in replies[block * n:(block + 1) * n]] for block in range(blocks)]
        sender_ids = [r["userId"] for r in replies[blocks * n:]]
        log(f"{blocks * n} account users + {args.senders * args.bursts} senders added to the world in "
            f"{time.perf_counter() - started:.1f} s")

        (work / "gateway").mkdir()
        gateway = Gateway(work / "gateway", gateway_bin, world, args.sessions)
        children.append(gateway)
        gateway.start()
        log(f"gateway on {gateway.base} (pid {gateway.proc.pid}), plugin loaded, sessions {args.sessions}")

        # 0. Reference: the same process with the plugin loaded and no account.
        time.sleep(args.settle)
        base_sample = gateway.sample()
        log(f"0 accounts: VmRSS {base_sample['rss_kb'] / 1024:.1f} MB; idle CPU over {args.idle:g} s …")
        base_idle = idle_window(gateway, world, args.idle)
        result.baseline = {"sample": base_sample, "idle": base_idle, "dc_sample": world.sample()}
        log(f"0 accounts: idle CPU {base_idle['cpu_pct']:.2f} % of one core")

        # 1. Connect.
        logins, result.connect = connect_all(gateway, world, 0, n, args, result, "gateway")

        # 2. Idle with N accounts.
        time.sleep(args.settle)
        idle_sample = gateway.sample()
        log(f"{result.connect['connected']} idle accounts: VmRSS {idle_sample['rss_kb'] / 1024:.1f} MB, "
            f"{idle_sample['fds']} fds, {idle_sample['threads']} threads; idle CPU over {args.idle:g} s …")
        idle = idle_window(gateway, world, args.idle)
        result.idle = {"sample": idle_sample, "after": gateway.sample(), "idle": idle, "dc_sample": world.sample()}
        log(f"idle CPU {idle['cpu_pct']:.2f} % of one core (CPU-s per 10-s slice: "
            f"{', '.join(f'{s:.2f}' for s in idle['slices_s'])}); VmRSS after {result.idle['after']['rss_kb'] / 1024:.1f} MB")

        # 3. Inbound.
        result.inbound = inbound(gateway, world, logins, user_ids[0], sender_ids, m, args, result, "gateway")
        gateway.stop()

        # 4. Reference for the inbound rate: a second gateway, same binary and config but the
        #    plugin saves no sessions (no state_key, no insecure_plaintext_sessions).
        if args.reference:
            (work / "reference").mkdir()
            reference = Gateway(work / "reference", gateway_bin, world, "unsaved")
            children.append(reference)
            reference.start()
            log(f"reference gateway on {reference.base} (pid {reference.proc.pid}), sessions not saved")
            time.sleep(min(args.settle, 3))
            ref_base = reference.sample()
            ref_logins, ref_connect = connect_all(reference, world, 1, n, args, result, "reference")
            time.sleep(args.settle)
            ref_idle = reference.sample()
            ref_inbound = inbound(reference, world, ref_logins, user_ids[1], sender_ids, m, args, result, "reference")
            result.reference = {"base": ref_base, "connect": ref_connect, "idle_sample": ref_idle,
                                "inbound": ref_inbound}
            reference.stop()
    except BaseException:
        for child in children:
            if child.proc is not None:
                sys.stderr.write(f"--- {child.name} log tail ---\n{child.log_tail()}\n")
        raise
    finally:
        for child in reversed(children):
            child.stop()


# ------------------------------------------------------------------------------------------------
# Report


def fmt(value, digits: int = 0) -> str:
    if value is None:
        return "—"
    return f"{value:,.{digits}f}"


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


def git_commit(binary: Path) -> str:
    """The commit of the checkout the gateway binary was built in (its .build lives inside it)."""
    try:
        where = str(binary.parent)
        head = subprocess.run(["git", "-C", where, "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              timeout=10).stdout.strip()
        if not head:
            return "commit unknown"
        top = subprocess.run(["git", "-C", where, "rev-parse", "--show-toplevel"], capture_output=True, text=True,
                             timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", top, "status", "--porcelain", "--untracked-files=no", "--", "Sources",
                                "plugins"], capture_output=True, text=True, timeout=10).stdout.strip()
        return f"commit {head}" + (" + uncommitted changes" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "commit unknown"


def render(r: Result) -> str:
    out: list[str] = []
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    c, base, idle, inb = r.connect, r.baseline, r.idle, r.inbound
    ref = r.reference
    n_ok = c["connected"]
    rss0 = base["sample"]["rss_kb"]
    rss1 = c["one_account"]["rss_kb"]
    rssn = idle["sample"]["rss_kb"]
    anon0, anon1, anonn = base["sample"]["rss_anon_kb"], c["one_account"]["rss_anon_kb"], idle["sample"]["rss_anon_kb"]
    per_account = (rssn - rss0) / n_ok if n_ok else None
    marginal = (rssn - rss1) / (n_ok - 1) if n_ok > 1 else None
    anon_per_account = (anonn - anon0) / n_ok if n_ok else None
    sessions = {"encrypted": "sessions saved, encrypted (`storage.state_key`)",
                "plaintext": "sessions saved in plaintext (`insecure_plaintext_sessions`)",
                "unsaved": "sessions not saved"}
    short = {"encrypted": "encrypted sessions", "plaintext": "plaintext sessions", "unsaved": "no sessions saved"}
    out.append(f"_Measured {now} on {machine()}; release build, {r.commit}; {r.seconds:.0f} s; "
               f"Python {platform.python_version()}._")
    out.append("")
    out.append(f"### Telegram: {n_ok:,} accounts in one gateway process (fake DC)")
    out.append("")
    out.append(
        f"`python3 Benchmarks/telegram/telegram_bench.py --accounts {r.accounts} --output docs/BENCHMARKS.md`. "
        "One `fake-dc --world` process (plugins/telegram: our MTProto server and fake Telegram, DC 2) and a "
        "release gateway whose `telegram` plugin (libTelegramChannel.so) points at it: intermediate transport, "
        f"{sessions[r.sessions]}, SQLite store, 127.0.0.1 only; the fake DC, the gateway and this driver share the "
        "cores. Each account is a world user logged in through the REST API (`connect` → `awaiting_code` → `code` "
        "→ `connected`: RSA + 2048-bit DH key exchange, sendCode, signIn, updates.getState), "
        f"{r.concurrency} logins in flight. References, same run: **the same gateway process with the plugin loaded "
        "and 0 accounts** (memory, idle CPU); **the fake DC's own push rate** (inbound)"
        + ("; and **a second gateway, same binary and config, whose plugin saves no sessions** (connect, inbound)."
           if ref else "."))
    out.append("")

    out.append("#### Memory and idle CPU")
    out.append("")
    out.append(f"| | 0 accounts (reference) | 1 account | {n_ok:,} idle accounts | per account |")
    out.append("|---|---:|---:|---:|---:|")
    out.append(f"| gateway VmRSS (MB) | {rss0 / 1024:.1f} | {rss1 / 1024:.1f} | {rssn / 1024:.1f} | "
               f"**{fmt(per_account, 1)} KB** |")
    out.append(f"| … anonymous memory (RssAnon, MB) | {anon0 / 1024:.1f} | {anon1 / 1024:.1f} | {anonn / 1024:.1f} | "
               f"{fmt(anon_per_account, 1)} KB |")
    fds_per = (idle["sample"]["fds"] - base["sample"]["fds"]) / n_ok if n_ok else None
    out.append(f"| open file descriptors | {base['sample']['fds']} | {c['one_account']['fds']} | "
               f"{idle['sample']['fds']:,} | {fmt(fds_per, 2)} |")
    out.append(f"| threads | {base['sample']['threads']} | {c['one_account']['threads']} | "
               f"{idle['sample']['threads']} | |")
    bi, ii = base["idle"], idle["idle"]
    per_account_us = (ii["user_s"] + ii["sys_s"]) / ii["seconds"] / n_ok * 1e6 if n_ok else None
    out.append(f"| **gateway CPU at idle** (% of one core, over {ii['seconds']:.0f} s) | {bi['cpu_pct']:.2f} | | "
               f"**{ii['cpu_pct']:.2f}** | {fmt(per_account_us, 1)} µs per s |")
    out.append(f"| fake DC CPU at idle (% of one core; context) | {bi['dc_cpu_pct']:.2f} | | {ii['dc_cpu_pct']:.2f} | |")
    out.append("")
    out.append(
        f"VmRSS from /proc/<pid>/status {r.settle_s:g} s after the last login; per account = (VmRSS with N − VmRSS "
        "with 0) / N. Marginal, without the first account's one-time allocations (the first login maps the TL "
        f"tables, crypto and client code): (VmRSS with N − VmRSS with 1) / (N − 1) = **{fmt(marginal, 1)} KB**. "
        f"VmRSS after the idle window: {idle['after']['rss_kb'] / 1024:.1f} MB. Idle CPU = utime + stime from "
        f"/proc/<pid>/stat over {ii['seconds']:.0f} s with nothing sent; the client pings every "
        f"{CLIENT_PING_INTERVAL_S} s, so a {CLIENT_PING_INTERVAL_S} s window holds each account's ping once "
        f"(gateway CPU-s per 10 s slice: {', '.join(f'{s:.2f}' for s in ii['slices_s'])}).")
    out.append("")

    rc = ref.get("connect") if ref else None
    out.append("#### Connect")
    out.append("")
    if rc:
        out.append(f"| | gateway, {short[r.sessions]} | reference gateway, no sessions saved |")
        out.append("|---|---:|---:|")
    else:
        out.append(f"| | gateway, {short[r.sessions]} |")
        out.append("|---|---:|")

    def row(name: str, key, digits: int = 1) -> None:
        def cell(d):
            value = key(d) if callable(key) else d.get(key)
            return value if isinstance(value, str) else fmt(value, digits)
        out.append(f"| {name} | {cell(c)} |" + (f" {cell(rc)} |" if rc else ""))

    row("accounts connected / attempted", lambda d: f"{d['connected']:,} / {r.accounts:,}")
    row(f"**connect throughput (accounts/s)**, {r.concurrency} in flight",
        lambda d: f"**{fmt(d['accounts_per_s'], 1)}**")
    row("… over the first / the last 10 % of the logins (accounts/s)",
        lambda d: f"{fmt(d['first_tenth_per_s'], 1)} / {fmt(d['last_tenth_per_s'], 1)}")
    row("login latency p50 / p99 (ms), connect + code",
        lambda d: f"{fmt(d['total_p50_ms'])} / {fmt(d['total_p99_ms'])}")
    row("… connect call p50 / code call p50 (ms)", lambda d: f"{fmt(d['connect_p50_ms'])} / {fmt(d['code_p50_ms'])}")
    row("gateway CPU per login (ms)", "gateway_cpu_ms_per_login")
    row("fake DC CPU per login (ms; the server side, same cores)", "dc_cpu_ms_per_login")
    out.append("")
    out.append(f"Throughput counts the logins after the first (timed alone: {c['first_login_ms']:.0f} ms). Both ends "
               "of every key exchange run on the same cores, so accounts/s is bounded by the two CPU costs together.")
    out.append("")

    out.append("#### Inbound messages across accounts")
    out.append("")
    out.append("| gateway | fake DC pushed (messages/s; reference) | **gateway stored (messages/s)** | "
               "stored, range over the bursts | stored / pushed | pipeline latency p50 / p99 (ms) | "
               "gateway CPU per 1,000 messages (ms) | fake DC CPU per 1,000 (ms) |")
    out.append("|---|---:|---:|---:|---:|---:|---:|---:|")

    def inbound_row(name: str, d: dict) -> None:
        share = d["stored_per_s"] / d["dc_push_per_s"] if d.get("stored_per_s") and d.get("dc_push_per_s") else None
        low, high = d["stored_range"]
        out.append(f"| {name} | {fmt(d['dc_push_per_s'])} | **{fmt(d['stored_per_s'])}** | {fmt(low)}–{fmt(high)} | "
                   f"{fmt(100 * share if share else None, 0)}{' %' if share else ''} | "
                   f"{fmt(d.get('latency_p50_ms'))} / {fmt(d.get('latency_p99_ms'))} | "
                   f"{fmt(d['gateway_cpu_ms_per_1000'])} | {fmt(d['dc_cpu_ms_per_1000'])} |")

    inbound_row(f"measured: {short[r.sessions]}", inb)
    if ref:
        inbound_row("reference: no sessions saved", ref["inbound"])
    out.append("")
    checks = [("measured gateway", inb)] + ([("reference gateway", ref["inbound"])] if ref else [])
    check_text = "; ".join(
        f"{name}: {d['check']['distinct']:,} distinct messages stored of {d['total']:,}, {d['check']['missing']} "
        f"missing, {d['check']['duplicates']} duplicates, {d['check']['wrong_account']} on another account"
        for name, d in checks)
    lag_text = "; ".join(
        f"{name}: {', '.join(fmt(f['stored_per_s']) for f in d['bursts'])} messages/s, all stored a median "
        f"{fmt(d['lag_after_last_push_ms'])} ms after the DC's last answer, longest wait between two /metrics "
        f"answers {fmt(d['max_poll_gap_ms'])} ms" for name, d in checks)
    lag_text = lag_text[:1].upper() + lag_text[1:]
    out.append(
        f"{r.bursts} bursts per gateway, {inb['messages']:,} private messages each over the {inb['accounts']:,} "
        f"accounts, {r.senders} world users who are not on the gateway sending each burst (their own "
        "senders per burst, round-robin over the accounts; an account's first message from a sender comes as "
        "`updates` with the user, the later ones as `updateShortMessage`), as `deliver` commands pipelined on fake-dc's "
        "stdin; each is answered once its update is handed to the account's MTProto connection. Figures are the "
        "median burst. Fake DC pushed = messages / (first command written → last answer). Gateway stored = "
        "messages / (first command written → `gateway_messages_stored_total` on /metrics, counted after each "
        "store commit and polled every 20 ms, grew by the burst). Pipeline latency (all bursts) = the stored "
        "message's id (UUIDv7, stamped in ms when the ingest pipeline takes it, just before its transaction "
        "commits) − the time the driver read the DC's answer for it. The gateway cannot be faster than the DC "
        "pushes: stored / pushed ≈ 100 % means it kept up (its own ceiling is higher); below, it is the "
        "bottleneck. The DC's rate differs between the rows because it shares the cores with the gateway under "
        f"test. {lag_text}. Read back over the REST API: {check_text}.")
    out.append("")
    if ref and inb.get("stored_per_s") and ref["inbound"].get("stored_per_s"):
        ratio = inb["stored_per_s"] / ref["inbound"]["stored_per_s"]
        cpu_ratio = inb["gateway_cpu_ms_per_1000"] / ref["inbound"]["gateway_cpu_ms_per_1000"]
        latency = (f", and its median pipeline latency is {inb['latency_p50_ms'] / ref['inbound']['latency_p50_ms']:.1f}× "
                   "the reference's" if inb.get("latency_p50_ms") and ref["inbound"].get("latency_p50_ms") else "")
        out.append(
            f"Saving sessions: with {short[r.sessions]} the gateway stores inbound messages at {100 * ratio:.0f} % of "
            f"the rate of the same gateway that saves none, at {cpu_ratio:.1f}× its CPU per message{latency}. After "
            "a burst of updates every account saves its session state (pts; coalesced over 200 ms) through the host "
            "state API: one SQLite write per account, beside the store's own transactions.")
        out.append("")

    per_ok = per_account is not None and per_account <= TARGET_KB_PER_ACCOUNT
    targets = [
        (f"≤ {TARGET_KB_PER_ACCOUNT} KB RSS per idle account ({n_ok:,} accounts)", f"{fmt(per_account, 1)} KB",
         "yes" if per_ok else "**no**"),
        (f"{r.accounts:,} accounts connected in one process", f"{n_ok:,}", "yes" if n_ok >= r.accounts else "**no**"),
    ]
    out.append("#### Targets")
    out.append("")
    out.append("| target | measured | met |")
    out.append("|---|---:|---|")
    for name, value, met in targets:
        out.append(f"| {name} | {value} | {met} |")
    out.append("")
    if r.notes:
        out.append("Notes: " + "; ".join(r.notes) + ".")
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
    parser.add_argument("--output", type=Path, help="markdown file whose bench:telegram section is rewritten")
    parser.add_argument("--accounts", type=int, default=1000, help="Telegram accounts to connect (default 1000)")
    parser.add_argument("--messages", type=int, default=20000, help="inbound messages (default 20000)")
    parser.add_argument("--senders", type=int, default=10, help="world users who send one burst (default 10)")
    parser.add_argument("--bursts", type=int, default=3, help="inbound bursts per gateway; the median is reported "
                                                             "(default 3)")
    parser.add_argument("--burst-pause", type=float, default=3.0, help="seconds between bursts (default 3)")
    parser.add_argument("--concurrency", type=int, default=20, help="logins in flight (default 20)")
    parser.add_argument("--settle", type=float, default=10.0, help="seconds of quiet before reading VmRSS (default 10)")
    parser.add_argument("--idle", type=float, default=float(CLIENT_PING_INTERVAL_S),
                        help=f"idle CPU window in seconds (default {CLIENT_PING_INTERVAL_S}: one client ping interval)")
    parser.add_argument("--connect-timeout", type=float, default=900.0, help="bound on the connect phase (s)")
    parser.add_argument("--inbound-timeout", type=float, default=300.0, help="bound on the inbound phase (s)")
    parser.add_argument("--sessions", choices=["encrypted", "plaintext", "unsaved"], default="encrypted",
                        help="how the plugin saves sessions: encrypted with storage.state_key (default, as in "
                             "production), insecure_plaintext_sessions, or not at all (diagnosis)")
    parser.add_argument("--no-reference", dest="reference", action="store_false",
                        help="skip the reference gateway that saves no sessions (connect and inbound again)")
    parser.add_argument("--gateway", type=Path, default=REPO / ".build" / "release" / "gateway")
    parser.add_argument("--fake-dc", type=Path,
                        help="fake-dc binary (default: next to the gateway, as `swift build -c release --product "
                             "fake-dc` at the root leaves it, else plugins/telegram/.build/release/fake-dc)")
    parser.add_argument("--json", type=Path, help="also dump the raw results here")
    args = parser.parse_args()

    if min(args.accounts, args.messages, args.senders, args.concurrency, args.bursts) < 1:
        parser.error("--accounts, --messages, --senders, --concurrency and --bursts must be ≥ 1")
    gateway_bin = args.gateway.resolve()
    if not gateway_bin.is_file() or not os.access(gateway_bin, os.X_OK):
        print(f"gateway binary not found at {gateway_bin} (build it: swift build -c release)", file=sys.stderr)
        return 2
    if not (gateway_bin.parent / PLUGIN).is_file():
        print(f"{PLUGIN} not found next to {gateway_bin}", file=sys.stderr)
        return 2
    if args.fake_dc is None:
        beside = gateway_bin.parent / "fake-dc"
        args.fake_dc = beside if beside.is_file() else REPO / "plugins" / "telegram" / ".build" / "release" / "fake-dc"
    dc_bin = args.fake_dc.resolve()
    if not dc_bin.is_file() or not os.access(dc_bin, os.X_OK):
        print(f"fake-dc not found at {dc_bin} (build it: cd plugins/telegram && swift build -c release --product fake-dc)",
              file=sys.stderr)
        return 2
    try:
        import jwt  # noqa: F401
    except ImportError as error:
        print(f"missing Python package ({error}); pip install PyJWT", file=sys.stderr)
        return 2
    limit = raise_nofile()
    # Each account holds one TCP connection in the gateway and one in the fake DC (plus the REST
    # client's sockets and SQLite's files): ask for headroom.
    if limit < args.accounts + 1000:
        print(f"open-file limit {limit} is too low for {args.accounts} accounts (ulimit -n)", file=sys.stderr)
        return 2

    def terminate(signum, _frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, terminate)
    started = time.monotonic()
    result = Result(accounts=args.accounts, concurrency=args.concurrency, messages=args.messages, senders=args.senders,
                    bursts=args.bursts,
                    settle_s=args.settle, idle_s=args.idle, sessions=args.sessions,
                    commit=git_commit(gateway_bin))
    log(f"{args.accounts} accounts, {args.messages} messages, gateway {gateway_bin}, fake-dc {dc_bin}, nofile {limit}")
    with tempfile.TemporaryDirectory(prefix="telegram-bench-") as tmp:
        run(args, gateway_bin, dc_bin, Path(tmp), result)
    result.seconds = time.monotonic() - started

    body = render(result)
    print(body)
    if args.json:
        args.json.write_text(json.dumps(result.__dict__, indent=1, default=str))
    if args.output:
        write_section(args.output, body)
        log(f"wrote the bench:telegram section of {args.output}")
    log(f"done in {result.seconds:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
