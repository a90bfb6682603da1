"""Fixtures of the email suite: a throwaway CA, aiosmtpd (STARTTLS and implicit TLS), one
dovecot, and gateways running libEmailChannel.so, all on 127.0.0.1 (see mail_servers.py).

`make test` may collect other suites in the same pytest run: fixture names here are specific to
this suite (`mail_...`, `email_...`) and the hooks act on this directory's items only.
"""

from __future__ import annotations

import base64
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests

from mail_servers import Dovecot, SMTPServer, TestCA

_TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(_TESTS / "support"))
sys.path.insert(0, str(_TESTS / "hub"))
from gateway_process import GatewayProcess, gateway_binary  # noqa: E402
from hub_harness import JWT_SECRET, HubClient, make_token  # noqa: E402
from polling import eventually  # noqa: E402

_HERE = Path(__file__).resolve().parent
_LOG_OFFSETS_KEY = pytest.StashKey[dict]()
PLUGIN = "libEmailChannel.so"
STATE_KEY = base64.b64encode(bytes(range(32, 64))).decode()
REQUEST_TIMEOUT = 30
_DOVECOTS: list[Dovecot] = []


def _ours(item) -> bool:
    return Path(str(item.path)).resolve().parent == _HERE


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    if _ours(item):
        item.stash[_LOG_OFFSETS_KEY] = {id(p): p.log_size() for p in GatewayProcess.running}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed and report.when in ("setup", "call") and _ours(item):
        offsets = item.stash.get(_LOG_OFFSETS_KEY, {})
        for gateway in list(GatewayProcess.running):
            state = "running" if gateway.alive() else f"exited ({gateway.proc.returncode})"
            report.sections.append((f"gateway '{gateway.name}' output during this test [{state}]",
                                    gateway.log_tail(120, since=offsets.get(id(gateway), 0))))
        for dovecot in _DOVECOTS:
            report.sections.append(("dovecot log", dovecot.log_tail(40)))


# ---------------------------------------------------------------------------------------------
# Servers


@pytest.fixture(scope="session")
def mail_ca(tmp_path_factory) -> TestCA:
    return TestCA(tmp_path_factory.mktemp("mail-ca"))


# Users are created before dovecot starts (it re-reads a changed passwd-file lazily, which made
# logins of users added later fail now and then): each test takes fresh ones from this pool.
USER_POOL = 60


@pytest.fixture(scope="session")
def mail_dovecot(mail_ca):
    users = {f"user{n}-{uuid.uuid4().hex[:6]}@example.test": f"pw-{uuid.uuid4().hex}" for n in range(USER_POOL)}
    dovecot = Dovecot(mail_ca, users).start()
    dovecot.pool = list(users)
    _DOVECOTS.append(dovecot)
    yield dovecot
    _DOVECOTS.remove(dovecot)
    dovecot.stop()


@pytest.fixture(scope="session")
def mail_smtp(mail_ca):
    server = SMTPServer(mail_ca, "starttls", {}).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def mail_smtps(mail_ca):
    server = SMTPServer(mail_ca, "implicit", {}).start()
    yield server
    server.stop()


class Mailbox:
    """A throwaway user known to both servers, and the connect config for it."""

    def __init__(self, dovecot: Dovecot, smtp: SMTPServer, ca: TestCA):
        assert dovecot.pool, f"the pool of {USER_POOL} test users is used up: raise USER_POOL"
        self.address = dovecot.pool.pop(0)
        self.password = dovecot.users[self.address]
        self.dovecot = dovecot
        self.smtp = smtp
        self.ca = ca
        smtp.users[self.address] = self.password

    def config(self, *, smtp_tls: str | None = None, imap_tls: str = "starttls", ca: bool = True,
               mailbox: str | None = None, smtp: SMTPServer | None = None, **imap_extra: Any) -> dict:
        server = smtp or self.smtp
        imap = self.dovecot.config(self.address, imap_tls, self.ca if ca else None, **imap_extra)
        if mailbox:
            imap["mailbox"] = mailbox
        return {"address": self.address, "displayName": "Support Desk",
                "smtp": server.config(self.address, self.ca if ca else None),
                "imap": imap}

    def append(self, raw: bytes, mailbox: str = "INBOX") -> None:
        self.dovecot.append(self.address, raw, mailbox)


@pytest.fixture
def mail_user(mail_dovecot, mail_smtp, mail_ca):
    def make(role: str = "desk") -> Mailbox:  # the role only documents the test
        return Mailbox(mail_dovecot, mail_smtp, mail_ca)
    return make


# ---------------------------------------------------------------------------------------------
# Gateways


def email_gateway_config(work: Path, binary: Path, **plugin: Any) -> dict:
    return {
        "version": 1,
        "server": {"host": "127.0.0.1", "cors_origin": "*"},
        "auth": {"jwt": {"secret": JWT_SECRET}},
        "storage": {"sqlite": {"path": str(work / "gateway.sqlite")}, "state_key": STATE_KEY},
        "api": {"rate_limit_per_minute": 100000},
        "plugins": [{
            "name": "email",
            "path": str(binary.parent / PLUGIN),
            "config": {"idle": True, "poll_interval_seconds": 0.5, "max_backoff_seconds": 2, "timeout_seconds": 10,
                       **plugin},
        }],
        "routes": [{"name": "everything", "match": {}, "to": ["store", "hub"]}],
        "hub": {"ping_interval_ms": 5000, "ping_timeout_ms": 5000},
        "metrics": {"public": True},
        "logging": {"level": "debug"},
    }


def email_gateway_binary() -> Path:
    binary = gateway_binary()
    if not (binary.parent / PLUGIN).is_file():
        pytest.fail(f"{PLUGIN} not found next to the gateway binary ({binary.parent}): `swift build` builds it",
                    pytrace=False)
    return binary


def wait_for_plugin(process: GatewayProcess) -> GatewayProcess:
    """/health answers before the plugins are loaded: wait for the email plugin too."""
    eventually(lambda: "email" in str(process.health().get("plugins")), timeout=10, what="the email plugin in /health",
               last=process.health)
    return process


def start_email_gateway(name: str, work: Path, **plugin: Any) -> GatewayProcess:
    binary = email_gateway_binary()
    process = GatewayProcess(name, work, email_gateway_config(work, binary, **plugin), binary).start()
    try:
        return wait_for_plugin(process)
    except BaseException:
        process.stop()  # never leave a gateway running behind a failed start
        raise


@pytest.fixture(scope="module")
def email_gateway(tmp_path_factory):
    process = start_email_gateway("email", tmp_path_factory.mktemp("email-gateway"))
    yield process
    process.stop()


class Api:
    """One organization's admin on a gateway; every answer is checked (status, error shape)."""

    def __init__(self, gateway: GatewayProcess, org: str | None = None):
        self.gateway = gateway
        self.org = org or f"org-mail-{uuid.uuid4().hex[:10]}"
        self.token = make_token(self.org, "admin")
        self.session = requests.Session()
        self.session.trust_env = False

    def request(self, method: str, path: str, body: Any = None, *, expect: int | tuple[int, ...],
                params: dict | None = None) -> Any:
        try:
            response = self.session.request(method, self.gateway.base_url + path, json=body, params=params,
                                            headers={"Authorization": f"Bearer {self.token}"}, timeout=REQUEST_TIMEOUT)
        except requests.RequestException as error:
            state = "running" if self.gateway.alive() else f"EXITED ({self.gateway.proc.returncode})"
            pytest.fail(f"{method} {path} failed: {error!r} (gateway {state})", pytrace=False)
        expected = (expect,) if isinstance(expect, int) else expect
        assert response.status_code in expected, (
            f"{method} {path} answered {response.status_code} (expected {expected}): {response.text[:1000]}")
        return response.json() if response.content else None

    def connect(self, config: dict) -> dict:
        return self.request("POST", "/api/bd-accounts/connect", {"platform": "email", "config": config}, expect=(200, 201, 202))

    def account(self, account_id: str) -> dict:
        return self.request("GET", f"/api/bd-accounts/{account_id}", expect=200)

    def accounts(self) -> Any:
        return self.request("GET", "/api/bd-accounts", expect=200)

    def status(self, account_id: str) -> dict:
        return self.request("GET", f"/api/bd-accounts/{account_id}/status", expect=200)

    def send(self, account_id: str, chat_id: str, text: str, key: str | None = None, reply_to: str | None = None,
             expect: int | tuple[int, ...] = 201) -> dict:
        body = {"channel": "email", "channelId": chat_id, "content": text, "bdAccountId": account_id,
                "idempotencyKey": key or f"k-{uuid.uuid4().hex}"}
        if reply_to:
            body["replyTo"] = reply_to
        return self.request("POST", "/api/messaging/send", body, expect=expect)

    def messages(self, account_id: str) -> list[dict]:
        return self.request("GET", "/api/messaging/messages", params={"bdAccountId": account_id, "limit": 200},
                            expect=200)["messages"]

    def wait_status(self, account_id: str, status: str, timeout: float = 30) -> dict:
        return eventually(lambda: (lambda s: s if s["status"] == status else None)(self.status(account_id)),
                          timeout=timeout, interval=0.1, what=f"account {account_id} to be {status}",
                          last=lambda: self.status(account_id))


@pytest.fixture
def email_hub():
    made: list[HubClient] = []

    def connect(gateway: GatewayProcess, api: Api) -> HubClient:
        client = HubClient(gateway, api.token, "websocket")
        made.append(client)
        return client.connect()

    yield connect
    for client in made:
        client.close()
