"""End to end through the real gateway process and its Telegram plugin (libTelegramChannel.so):
REST (docs/API.md) and the Socket.IO hub on one side, a `fake-dc --world` process (two DCs, 2
and 4, sharing one fake Telegram) on the other.

- log in with the code the world sent (and a wrong one first: 400 PHONE_CODE_INVALID, the account
  still awaits a code), with 2FA, and with PHONE_MIGRATE to the user's home DC 4;
- status, dialogs, sending (idempotent) and receiving (stored exactly once, MESSAGE_RECEIVED on
  the hub);
- a gateway restart on the same data directory: the account comes back by itself (no new code)
  and a message delivered while it was down arrives exactly once.

Gateways here: `gateway serve` with SQLite under a temporary directory, storage.state_key set
(sessions encrypted at rest), the telegram plugin pointed at the world's DCs and RSA key.
Every HTTP request and every wait is bounded.
"""

from __future__ import annotations

import base64
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests

from fake_dc import API_HASH, API_ID, FakeWorld

_TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(_TESTS / "support"))
sys.path.insert(0, str(_TESTS / "hub"))
from gateway_process import GatewayProcess, gateway_binary  # noqa: E402
from hub_harness import JWT_SECRET, HubClient, event_with_text, make_token  # noqa: E402
from polling import eventually  # noqa: E402

# A plugin call that logs in does RSA + DH handshakes (twice with PHONE_MIGRATE) in a debug build.
LOGIN_TIMEOUT = 60
REQUEST_TIMEOUT = 15
# How long a message must stay single after it first appeared to count as "exactly once".
DUPLICATE_GRACE = 2.0
STATE_KEY = base64.b64encode(bytes(range(32))).decode()
PLUGIN = "libTelegramChannel.so"


# ---------------------------------------------------------------------------------------------
# Processes


def telegram_gateway_binary() -> Path:
    binary = gateway_binary()
    if not (binary.parent / PLUGIN).is_file():
        pytest.fail(f"{PLUGIN} not found next to the gateway binary ({binary.parent}): `swift build` builds it",
                    pytrace=False)
    return binary


def gateway_config(work: Path, binary: Path, world: FakeWorld) -> dict:
    assert world.info is not None
    return {
        "version": 1,
        "server": {"host": "127.0.0.1", "cors_origin": "*"},
        "auth": {"jwt": {"secret": JWT_SECRET}},
        "storage": {"sqlite": {"path": str(work / "gateway.sqlite")}, "state_key": STATE_KEY},
        "api": {"rate_limit_per_minute": 100000},
        "plugins": [{
            "name": "telegram",
            "path": str(binary.parent / PLUGIN),
            "config": {
                "api_id": API_ID,
                "api_hash": API_HASH,
                "test_servers": True,
                "data_centers": {str(dc): f"127.0.0.1:{port}" for dc, port in world.data_centers.items()},
                "rsa_public_keys": [world.info.public_key_pem],
            },
        }],
        "routes": [{"name": "everything", "match": {}, "to": ["store", "hub"]}],
        "hub": {"ping_interval_ms": 5000, "ping_timeout_ms": 5000},
        "metrics": {"public": True},
        "logging": {"level": "debug"},
    }


@pytest.fixture(scope="module")
def world(tmp_path_factory, fake_dc_bin):
    """DCs 2 and 4 sharing one world; random login codes (read with code_for)."""
    dc = FakeWorld("e2e-world", tmp_path_factory.mktemp("e2e-world"), fake_dc_bin, extra_dc_ids=[4]).start()
    yield dc
    dc.stop()


def start_gateway(name: str, work: Path, world: FakeWorld) -> GatewayProcess:
    binary = telegram_gateway_binary()
    return GatewayProcess(name, work, gateway_config(work, binary, world), binary).start()


@pytest.fixture(scope="module")
def gateway(tmp_path_factory, world):
    process = start_gateway("telegram-e2e", tmp_path_factory.mktemp("gateway-e2e"), world)
    plugins = process.health().get("plugins")
    assert "telegram" in str(plugins), f"/health does not list the telegram plugin: {plugins}"
    yield process
    process.stop()


# ---------------------------------------------------------------------------------------------
# REST


class Api:
    """One organization's admin on a gateway; every answer is checked (no 5xx, the error shape)."""

    def __init__(self, gateway: GatewayProcess, org: str | None = None):
        self.gateway = gateway
        self.org = org or f"org-tg-{uuid.uuid4().hex[:10]}"
        self.token = make_token(self.org, "admin")
        self.session = requests.Session()
        self.session.trust_env = False

    def request(self, method: str, path: str, body: Any = None, *, expect: int | tuple[int, ...],
                params: dict | None = None, timeout: float = REQUEST_TIMEOUT) -> Any:
        try:
            response = self.session.request(method, self.gateway.base_url + path, json=body, params=params,
                                            headers={"Authorization": f"Bearer {self.token}"}, timeout=timeout)
        except requests.RequestException as error:
            state = "running" if self.gateway.alive() else f"EXITED ({self.gateway.proc.returncode})"
            pytest.fail(f"{method} {path} {body!r} failed: {error!r} (gateway {state})", pytrace=False)
        expected = (expect,) if isinstance(expect, int) else expect
        assert response.status_code in expected, (
            f"{method} {path} {body!r} answered {response.status_code} (expected {expected}): {response.text[:1000]}")
        data = response.json() if response.content else None
        if response.status_code >= 400:
            assert isinstance(data, dict) and isinstance(data.get("error"), dict) and data["error"].get("code"), (
                f"not the error shape: {response.status_code} {response.text[:500]}")
        return data

    def connect(self, phone: str) -> dict:
        return self.request("POST", "/api/bd-accounts/connect", {"platform": "telegram", "phoneNumber": phone},
                            expect=202, timeout=LOGIN_TIMEOUT)

    def code(self, account_id: str, code: str, expect: int | tuple[int, ...] = 200) -> dict:
        return self.request("POST", f"/api/bd-accounts/{account_id}/code", {"phoneCode": code}, expect=expect,
                            timeout=LOGIN_TIMEOUT)

    def password(self, account_id: str, password: str, expect: int | tuple[int, ...] = 200) -> dict:
        return self.request("POST", f"/api/bd-accounts/{account_id}/password", {"password": password}, expect=expect,
                            timeout=LOGIN_TIMEOUT)

    def account(self, account_id: str) -> dict:
        return self.request("GET", f"/api/bd-accounts/{account_id}", expect=200)

    def status(self, account_id: str) -> dict:
        return self.request("GET", f"/api/bd-accounts/{account_id}/status", expect=200)

    def dialogs(self, account_id: str, **params: Any) -> dict:
        return self.request("GET", f"/api/bd-accounts/{account_id}/dialogs", params=params, expect=200,
                            timeout=LOGIN_TIMEOUT)

    def send(self, account_id: str, chat_id: str, text: str, key: str, expect: int | tuple[int, ...] = 201) -> dict:
        return self.request("POST", "/api/messaging/send", {
            "channel": "telegram", "channelId": chat_id, "content": text, "bdAccountId": account_id,
            "idempotencyKey": key}, expect=expect, timeout=LOGIN_TIMEOUT)

    def messages(self, account_id: str) -> list[dict]:
        return self.request("GET", "/api/messaging/messages", params={"bdAccountId": account_id, "limit": 200},
                            expect=200)["messages"]

    def wait_status(self, account_id: str, status: str, timeout: float = LOGIN_TIMEOUT) -> dict:
        return eventually(lambda: (lambda s: s if s["status"] == status else None)(self.status(account_id)),
                          timeout=timeout, interval=0.1, what=f"account {account_id} to be {status}",
                          last=lambda: self.status(account_id))


def log_in(api: Api, world: FakeWorld, phone: str, password: str | None = None) -> dict:
    """connect → awaiting_code → the world's code (→ awaiting_password → password) → connected."""
    account = api.connect(phone)
    assert account["platform"] == "telegram" and account["phoneNumber"] == phone, account
    assert account["status"] == "awaiting_code", account
    account = api.code(account["id"], world.code_for(phone))
    if password is not None:
        assert account["status"] == "awaiting_password", account
        account = api.password(account["id"], password)
    assert account["status"] == "connected" and account["isConnected"] is True, account
    return account


def stored_with_text(api: Api, account_id: str, text: str) -> list[dict]:
    return [m for m in api.messages(account_id) if m["content"] == text]


def arrives_once(api: Api, account_id: str, text: str, timeout: float = 30) -> dict:
    """Waits until the account's stored messages hold `text`, then checks it stays single."""
    eventually(lambda: stored_with_text(api, account_id, text), timeout=timeout, interval=0.1,
               what=f"message {text!r} to be stored for account {account_id}",
               last=lambda: [(m["direction"], m["content"]) for m in api.messages(account_id)])
    time.sleep(DUPLICATE_GRACE)
    found = stored_with_text(api, account_id, text)
    assert len(found) == 1, f"{text!r} stored {len(found)} times: {found}"
    return found[0]


_numbers = iter(range(1, 100_000))


def new_phone(dc: int = 2) -> str:
    return f"+1666{dc}{next(_numbers):05d}"


@pytest.fixture
def hub():
    made: list[HubClient] = []

    def connect(gateway: GatewayProcess, api: Api) -> HubClient:
        client = HubClient(gateway, api.token, "websocket")
        made.append(client)
        return client.connect()

    yield connect
    for client in made:
        client.close()


# ---------------------------------------------------------------------------------------------
# Tests


def test_login_dialogs_send_and_receive(gateway, world, hub):
    api = Api(gateway)
    ann_phone = new_phone()
    ann = world.add_user(ann_phone, "Ann", username=f"ann{ann_phone[-5:]}")["userId"]
    bob = world.add_user(new_phone(), "Bob", last_name="Builder", username=f"bob{ann_phone[-5:]}")["userId"]
    world.deliver(bob, ann, "hello Ann")
    observer = hub(gateway, api)

    account = log_in(api, world, ann_phone)
    account_id = account["id"]
    status = api.status(account_id)
    assert status["id"] == account_id and status["status"] == "connected" and status["isConnected"] is True, status

    # Dialogs: the world's private chat with Bob.
    dialogs = api.dialogs(account_id, limit=20)
    assert [(d["chatId"], d["kind"], d["unreadCount"], d.get("lastMessageText")) for d in dialogs["dialogs"]] == [
        (str(bob), "user", 1, "hello Ann")], dialogs
    assert "Bob" in (dialogs["dialogs"][0].get("title") or ""), dialogs
    assert dialogs["hasMore"] is False, dialogs

    # Sending: stored as sent, in Bob's box once; the same idempotency key never sends twice.
    key = f"send-{uuid.uuid4().hex}"
    sent = api.send(account_id, str(bob), "hi Bob, from the gateway", key)
    assert sent["status"] == "sent" and sent["direction"] == "outbound" and sent["externalId"], sent
    assert sent["chatId"] == str(bob) and sent["channel"] == "telegram" and sent["content"] == "hi Bob, from the gateway"
    again = api.send(account_id, str(bob), "hi Bob, from the gateway", key, expect=200)
    assert again["id"] == sent["id"], (sent, again)
    bob_box = world.messages(bob)
    copies = [m for m in bob_box if m["text"] == "hi Bob, from the gateway"]
    assert len(copies) == 1 and copies[0]["fromId"] == ann and copies[0]["out"] is False, bob_box
    assert copies[0]["chatPeer"] == {"type": "user", "id": ann}
    assert sent["externalId"] == str([m for m in world.messages(ann) if m["text"] == "hi Bob, from the gateway"][0]["id"])

    # Receiving: Bob answers from another app.
    world.deliver(bob, ann, "hi Ann, from Bob's phone")
    stored = arrives_once(api, account_id, "hi Ann, from Bob's phone")
    assert stored["direction"] == "inbound" and stored["chatId"] == str(bob) and stored["channel"] == "telegram", stored
    assert stored["externalId"] == str(world.messages(ann)[-1]["id"]), (stored, world.messages(ann)[-1])
    events = observer.wait_for(event_with_text("hi Ann, from Bob's phone"), timeout=10,
                               what="MESSAGE_RECEIVED for Bob's reply")
    assert events[0]["type"] == "MESSAGE_RECEIVED" and events[0]["organizationId"] == api.org, events[0]
    assert len(observer.system_events(lambda e: (e.get("data") or {}).get("content") == "hi Ann, from Bob's phone")) == 1
    # The outgoing message was published too (MESSAGE_SENT), once.
    sent_events = observer.system_events(lambda e: e.get("type") == "MESSAGE_SENT"
                                         and (e.get("data") or {}).get("content") == "hi Bob, from the gateway")
    assert len(sent_events) == 1, observer.received[-20:]


def test_wrong_code_then_the_right_one(gateway, world):
    api = Api(gateway)
    phone = new_phone()
    world.add_user(phone, "Cat")
    account = api.connect(phone)
    assert account["status"] == "awaiting_code", account
    code = world.code_for(phone)
    wrong = "00000" if code != "00000" else "11111"
    error = api.code(account["id"], wrong, expect=400)["error"]
    assert error["code"] == "PHONE_CODE_INVALID", error
    assert api.account(account["id"])["status"] == "awaiting_code"
    assert api.status(account["id"])["isConnected"] is False
    connected = api.code(account["id"], code)
    assert connected["status"] == "connected", connected
    # A code to a connected account is a conflict, not a new login.
    assert api.code(account["id"], code, expect=(400, 409))["error"]["code"] in {"conflict", "NOT_AWAITING_CODE"}


def test_two_step_verification(gateway, world):
    api = Api(gateway)
    phone = new_phone()
    world.add_user(phone, "Dan", password="correct horse", password_hint="horse")
    account = api.connect(phone)
    account = api.code(account["id"], world.code_for(phone))
    assert account["status"] == "awaiting_password", account
    error = api.password(account["id"], "battery staple", expect=400)["error"]
    assert error["code"] == "PASSWORD_HASH_INVALID", error
    assert api.account(account["id"])["status"] == "awaiting_password"
    assert api.password(account["id"], "correct horse")["status"] == "connected"
    assert api.status(account["id"])["isConnected"] is True


def test_phone_migrate_to_the_home_dc_is_transparent(gateway, world, hub):
    api = Api(gateway)
    phone = new_phone(4)
    eve = world.add_user(phone, "Eve", home_dc=4)["userId"]
    fay = world.add_user(new_phone(4), "Fay", home_dc=4)["userId"]
    world.deliver(fay, eve, "welcome to DC 4")
    observer = hub(gateway, api)
    account = log_in(api, world, phone)
    assert [d["chatId"] for d in api.dialogs(account["id"])["dialogs"]] == [str(fay)]
    sent = api.send(account["id"], str(fay), "sent through DC 4", f"k-{uuid.uuid4().hex}")
    assert sent["status"] == "sent", sent
    assert [m["text"] for m in world.messages(fay)][-1] == "sent through DC 4"
    world.deliver(fay, eve, "answer from DC 4")
    arrives_once(api, account["id"], "answer from DC 4")
    observer.wait_for(event_with_text("answer from DC 4"), timeout=10, what="MESSAGE_RECEIVED on DC 4")


def test_restart_reconnects_by_itself_and_catches_up(tmp_path, world):
    work = tmp_path / "gateway"
    gateway = start_gateway("telegram-restart", work, world)
    try:
        api = Api(gateway)
        phone = new_phone()
        gus = world.add_user(phone, "Gus")["userId"]
        hal = world.add_user(new_phone(), "Hal")["userId"]
        world.deliver(hal, gus, "before the restart")
        account = log_in(api, world, phone)
        world.deliver(hal, gus, "while running")
        arrives_once(api, account["id"], "while running", timeout=30)
        code_used = world.code_for(phone)
        # A second account, homed on DC 4 (logged in through PHONE_MIGRATE).
        phone4 = new_phone(4)
        ida = world.add_user(phone4, "Ida", home_dc=4)["userId"]
        account4 = log_in(api, world, phone4)
        code4 = world.code_for(phone4)

        gateway.stop()
        assert not gateway.alive()
        # storage.state_key: the saved sessions (TelegramSessionState JSON) are not in the clear.
        database = b"".join(path.read_bytes() for path in work.glob("gateway.sqlite*"))
        assert b"homeDataCenter" not in database and b"updateState" not in database, "a session is stored in plaintext"
        world.deliver(hal, gus, "while the gateway was down")
        world.deliver(hal, ida, "to DC 4 while down")
        gateway.start()

        for restored in (account, account4):
            api.wait_status(restored["id"], "connected")
            assert api.status(restored["id"])["isConnected"] is True
        assert world.code_for(phone) == code_used, "a new login code was requested: the session was not restored"
        assert world.code_for(phone4) == code4, "a new login code was requested for the DC 4 account"
        arrives_once(api, account4["id"], "to DC 4 while down")
        stored = arrives_once(api, account["id"], "while the gateway was down")
        assert stored["direction"] == "inbound" and stored["chatId"] == str(hal), stored
        assert len(stored_with_text(api, account["id"], "while running")) == 1

        # And it goes on receiving and sending.
        world.deliver(hal, gus, "after the restart")
        arrives_once(api, account["id"], "after the restart")
        assert api.send(account["id"], str(hal), "back online", f"k-{uuid.uuid4().hex}")["status"] == "sent"
        assert world.messages(hal)[-1]["text"] == "back online"
    finally:
        gateway.stop()


def test_groups_and_supergroups(gateway, world, hub):
    api = Api(gateway)
    phone = new_phone()
    ivy = world.add_user(phone, "Ivy")["userId"]
    jon = world.add_user(new_phone(), "Jon")["userId"]
    group = world.create_group("Basic group", [jon, ivy])
    channel = world.create_channel("Supergroup", [jon, ivy], megagroup=True)
    account = log_in(api, world, phone)
    observer = hub(gateway, api)

    dialogs = {d["title"]: d for d in api.dialogs(account["id"])["dialogs"]}
    assert set(dialogs) == {"Basic group", "Supergroup"}, dialogs
    assert dialogs["Basic group"]["kind"] == "group" and dialogs["Supergroup"]["kind"] == "group", dialogs
    group_chat, channel_chat = dialogs["Basic group"]["chatId"], dialogs["Supergroup"]["chatId"]
    assert group_chat != channel_chat and str(group) in group_chat and str(channel) in channel_chat, dialogs

    world.deliver_group(jon, group, "in the basic group")
    world.deliver_group(jon, channel, "in the supergroup")
    in_group = arrives_once(api, account["id"], "in the basic group")
    in_channel = arrives_once(api, account["id"], "in the supergroup")
    assert in_group["chatId"] == group_chat and in_group["direction"] == "inbound", in_group
    assert in_channel["chatId"] == channel_chat and in_channel["direction"] == "inbound", in_channel
    for text in ("in the basic group", "in the supergroup"):
        observer.wait_for(event_with_text(text), timeout=10, what=f"MESSAGE_RECEIVED {text!r}")

    assert api.send(account["id"], group_chat, "ivy to the group", f"k-{uuid.uuid4().hex}")["status"] == "sent"
    assert api.send(account["id"], channel_chat, "ivy to the supergroup", f"k-{uuid.uuid4().hex}")["status"] == "sent"
    assert world.messages(jon)[-1]["text"] == "ivy to the group"
    assert world.channel_messages(channel)[-1]["text"] == "ivy to the supergroup"
    # The account's own messages come back as updates too: stored once (the sent record), not twice.
    time.sleep(DUPLICATE_GRACE)
    for text in ("ivy to the group", "ivy to the supergroup"):
        assert len(stored_with_text(api, account["id"], text)) == 1, api.messages(account["id"])


def test_missed_pushes_are_recovered_from_the_gap(gateway, world):
    api = Api(gateway)
    phone = new_phone()
    kim = world.add_user(phone, "Kim")["userId"]
    lou = world.add_user(new_phone(), "Lou")["userId"]
    account = log_in(api, world, phone)
    world.deliver(lou, kim, "first, pushed")
    arrives_once(api, account["id"], "first, pushed")

    world.withhold(kim)
    world.deliver(lou, kim, "second, never pushed")
    world.deliver(lou, kim, "third, never pushed")
    world.withhold(kim, False)
    world.deliver(lou, kim, "fourth, pushed after a gap")
    for text in ("second, never pushed", "third, never pushed", "fourth, pushed after a gap"):
        arrives_once(api, account["id"], text)
    inbound = [m["content"] for m in api.messages(account["id"]) if m["direction"] == "inbound"]
    assert sorted(inbound) == sorted(["first, pushed", "second, never pushed", "third, never pushed",
                                      "fourth, pushed after a gap"]), inbound


def test_revoked_session_disconnects_the_account(gateway, world):
    api = Api(gateway)
    phone = new_phone()
    max_ = world.add_user(phone, "Max")["userId"]
    ned = world.add_user(new_phone(), "Ned")["userId"]
    world.deliver(ned, max_, "hi Max")
    account = log_in(api, world, phone)
    assert [d["chatId"] for d in api.dialogs(account["id"])["dialogs"]] == [str(ned)]
    world.revoke(max_)
    # The next call to Telegram finds out: 502 with Telegram's code, and the account is disconnected.
    reply = api.request("POST", "/api/messaging/send", {
        "channel": "telegram", "channelId": str(ned), "content": "after revoke", "bdAccountId": account["id"],
        "idempotencyKey": f"k-{uuid.uuid4().hex}"}, expect=502, timeout=LOGIN_TIMEOUT)
    assert reply["error"]["code"] == "channel_error" and reply["error"]["details"]["channelCode"] == "SESSION_REVOKED", reply
    assert reply["error"]["details"]["message"]["status"] == "failed", reply
    status = api.wait_status(account["id"], "disconnected", timeout=20)
    assert status["isConnected"] is False, status
    assert api.request("GET", f"/api/bd-accounts/{account['id']}/dialogs", expect=409)["error"]["code"] == "conflict"
    assert not [m for m in world.messages(ned) if m["text"] == "after revoke"]
