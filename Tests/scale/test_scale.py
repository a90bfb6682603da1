"""Scale-out: three gateways (A, B, C) on loopback sharing one PostgreSQL database and one Redis
hub (conftest.py, cluster.py), with account leases of LEASE_SECONDS.

1. A python-socketio client on C receives the message that entered through A.
2. A loopback account is driven by exactly one instance; API calls through the others are
   forwarded to it; when its owner is SIGKILLed another instance owns it within the lease
   timeout plus one renew interval, sends work again, and every inbound echo is stored once.
3. A Telegram account (fake DC) logged in through the cluster keeps receiving while its owner is
   SIGKILLed mid-stream: another instance resumes the saved session and every message the fake
   DC delivered is stored exactly once (counted by external id), none missing.

Every event is also published to RabbitMQ (the store's outbox, drained by whichever instance
holds the publisher's lock); a pika consumer checks each test's events arrived at least once,
with the event id as message_id — including those that entered the instance that was killed.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter

import pytest
import requests

from cluster import RENEW_SECONDS, TAKEOVER_BOUND, TAKEOVER_SLACK, LEASE_SECONDS
from hub_harness import Principal, event_with_text, unique
from polling import eventually

HOP = "X-Gateway-Forwarded-By"


def send(principal: Principal, account_id: str, text: str, key: str, expect=(200, 201)) -> requests.Response:
    return principal.request("POST", "/api/messaging/send", {
        "channel": "loopback", "channelId": "chat-1", "content": text, "bdAccountId": account_id, "idempotencyKey": key,
    }, expect=expect)


def echoes(principal: Principal, account_id: str) -> Counter:
    """External ids of the stored inbound echoes of the account, with how often each is stored."""
    messages = principal.request("GET", "/api/messaging/messages", params={
        "bdAccountId": account_id, "direction": "inbound", "limit": 200}, expect=200).json()["messages"]
    return Counter(m["externalId"] for m in messages if m["content"].startswith("echo: "))


def drives_locally(principal: Principal, account_id: str) -> bool:
    """Whether this instance serves the account's plugin calls itself: a call marked as forwarded
    is answered by the owner's plugin, and refused (503, never run or forwarded) elsewhere."""
    response = principal.session.get(
        f"{principal.gateway.base_url}/api/bd-accounts/{account_id}/dialogs",
        headers={"Authorization": f"Bearer {principal.token}", HOP: "test"}, timeout=10)
    if response.status_code == 503:
        assert response.json()["error"]["code"] == "owner_unavailable", response.text
        return False
    assert response.status_code == 200, response.text
    return True


def test_socket_on_c_receives_a_message_that_entered_through_a(make_cluster, hub_client, bus):
    cluster = make_cluster()
    a, b, c = cluster.gateways
    org = unique("org")
    sender = Principal(a, org)
    on_c = hub_client(c, Principal(c, org).token).connect()
    account = sender.connect_account()
    sender.send(account, "chat-1", "hello from A")
    sent = on_c.wait_for(event_with_text("hello from A"), what="MESSAGE_SENT on C")[0]
    echo = on_c.wait_for(event_with_text("echo: hello from A"), what="the echo (MESSAGE_RECEIVED) on C")[0]
    assert sent["type"] == "MESSAGE_SENT" and echo["type"] == "MESSAGE_RECEIVED", (sent, echo)
    assert sent["organizationId"] == org == echo["organizationId"], (sent, echo)
    # The same events on RabbitMQ, with the ids the hub showed.
    bus.wait_for(lambda got: {sent["id"], echo["id"]} <= {d["message_id"] for d in got}, what="both events")
    bus.assert_ids()


def test_loopback_account_one_owner_forwarding_and_takeover(make_cluster, bus):
    cluster = make_cluster()
    org = unique("org")
    via = {g.name: Principal(g, org) for g in cluster.gateways}
    account = via["A"].connect_account()
    account_id = account["id"]

    # Connected through A: A drives it, and only A.
    assert cluster.owner(account_id).name == "A"
    assert [name for name, p in via.items() if drives_locally(p, account_id)] == ["A"]

    # Sends through every instance work; B's and C's are answered by A.
    texts: dict[str, str] = {}
    message_ids: set[str] = set()
    for name in ("A", "B", "C", "B", "C"):
        key = uuid.uuid4().hex
        text = f"before {name} {key[:6]}"
        response = send(via[name], account_id, text, key, expect=201)
        assert response.json()["status"] == "sent", response.text
        assert response.headers.get(HOP) == (None if name == "A" else "A"), (name, dict(response.headers))
        texts[key] = text
        message_ids.add(response.json()["id"])
    dialogs = via["C"].request("GET", f"/api/bd-accounts/{account_id}/dialogs", expect=200)
    assert dialogs.headers.get(HOP) == "A" and dialogs.json()["dialogs"][0]["chatId"] == "chat-1", dialogs.text
    # The echoes come from A's plugin, asynchronously: all stored before A dies (the loopback has
    # no upstream to fetch a lost echo from again, unlike Telegram below).
    eventually(lambda: len(echoes(via["B"], account_id)) == len(texts), timeout=10,
               what="the echoes of the first sends", last=lambda: echoes(via["B"], account_id))

    cluster.kill(cluster.by_name("A"))
    killed_at = time.monotonic()
    assert cluster.lease(account_id)["live"], "A's lease outlives A for up to the lease duration"
    # Meanwhile a call forwarded to the dead owner fails at once with the API's error shape.
    started = time.monotonic()
    response = send(via["B"], account_id, "while the owner is dead", uuid.uuid4().hex, expect=503)
    answered = time.monotonic() - started
    print(f"\n503 from a dead owner after {answered:.3f} s")
    assert answered < 2, "a refused connection to the dead owner is answered at once, not after a timeout"
    error = response.json()["error"]
    assert error["code"] == "owner_unavailable" and account_id in error["message"], error
    assert response.headers.get("Retry-After"), dict(response.headers)

    new_owner = cluster.owner(account_id, other_than="A", timeout=TAKEOVER_BOUND + TAKEOVER_SLACK + 5)
    took = time.monotonic() - killed_at
    print(f"\ntakeover after SIGKILL: {took:.2f} s (lease {LEASE_SECONDS} s, renew every {RENEW_SECONDS:.1f} s)")
    assert took <= TAKEOVER_BOUND + TAKEOVER_SLACK, f"took {took:.2f} s"
    assert cluster.lease(account_id)["epoch"] == 2, cluster.lease(account_id)
    survivors = {g.name for g in cluster.survivors()}
    assert [n for n in survivors if drives_locally(via[n], account_id)] == [new_owner.name]

    # Sends work again through both survivors, and earlier keys are not sent twice.
    for name in sorted(survivors) * 2:
        key = uuid.uuid4().hex
        text = f"after {name} {key[:6]}"
        response = send(via[name], account_id, text, key, expect=201)
        assert response.headers.get(HOP) == (None if name == new_owner.name else new_owner.name), dict(response.headers)
        texts[key] = text
        message_ids.add(response.json()["id"])
    first_key = next(iter(texts))
    again = send(via[sorted(survivors)[0]], account_id, texts[first_key], first_key, expect=200)
    assert again.json()["content"] == texts[first_key]

    def all_echoes():
        found = echoes(via[new_owner.name], account_id)
        return found if len(found) >= len(texts) else None
    found = eventually(all_echoes, timeout=15, what="every echo stored", last=lambda: echoes(via[new_owner.name], account_id))
    time.sleep(1.0)
    found = echoes(via[new_owner.name], account_id)
    assert set(found) == {f"echo-out-{key}" for key in texts}, found
    assert all(count == 1 for count in found.values()), found

    # RabbitMQ got every send and every echo at least once — A's too, though A died.
    def published(got):
        sent = {d["event"]["data"]["id"] for d in got if d["type"] == "MESSAGE_SENT"}
        return message_ids <= sent and set(found) <= bus.received_external_ids(account_id)
    bus.wait_for(published, what="every MESSAGE_SENT and echo")
    bus.assert_ids()


@pytest.fixture
def world(tmp_path, fake_dc_bin):
    from fake_dc import FakeWorld  # noqa: PLC0415 - Telethon is only needed here
    dc = FakeWorld("scale-world", tmp_path / "world", fake_dc_bin).start()
    yield dc
    dc.stop()


def test_telegram_session_moves_on_when_its_owner_is_killed_mid_stream(make_cluster, world, gateway_bin, bus):
    from test_gateway_e2e import Api, gateway_config, new_phone  # noqa: PLC0415

    plugin = gateway_config(gateway_bin.parent, gateway_bin, world)["plugins"][0]
    cluster = make_cluster([plugin])
    api = {g.name: Api(g) for g in cluster.gateways}
    org = api["A"].org
    for client in api.values():
        client.org = org
        client.token = api["A"].token
    phone = new_phone()
    ann = world.add_user(phone, "Ann")["userId"]
    bob = world.add_user(new_phone(), "Bob")["userId"]

    # Log in: connect through A (A drives the new account), the code through B (forwarded to A).
    account = api["A"].connect(phone)
    assert account["status"] == "awaiting_code", account
    account_id = account["id"]
    assert cluster.owner(account_id).name == "A"
    account = api["B"].code(account_id, world.code_for(phone))
    assert account["status"] == "connected", account

    count = 150
    delivered: list[int] = []

    def burst() -> None:
        for index in range(count):
            delivered.append(world.deliver(bob, ann, f"burst-{index:03d}"))
            time.sleep(0.02)

    def stored() -> Counter:
        return Counter(m["externalId"] for m in api["B"].messages(account_id) if m["content"].startswith("burst-"))

    sender = threading.Thread(target=burst, daemon=True)
    sender.start()
    eventually(lambda: sum(stored().values()) >= 20, timeout=30, what="the first messages of the burst to be stored")
    cluster.kill(cluster.by_name("A"))
    killed_at = time.monotonic()
    new_owner = cluster.owner(account_id, other_than="A", timeout=TAKEOVER_BOUND + TAKEOVER_SLACK + 5)
    took = time.monotonic() - killed_at
    print(f"\ntelegram takeover after SIGKILL: {took:.2f} s")
    assert took <= TAKEOVER_BOUND + TAKEOVER_SLACK, f"took {took:.2f} s"
    sender.join(timeout=60)
    assert len(delivered) == count, "the world did not take every delivery"

    sent_ids = {str(message_id) for message_id in delivered}
    found = eventually(lambda: (lambda f: f if set(f) >= sent_ids else None)(stored()), timeout=60, interval=0.2,
                       what=f"all {count} messages stored", last=lambda: sorted(sent_ids - set(stored())))
    time.sleep(2)
    found = stored()
    assert set(found) == sent_ids, sorted(set(found) ^ sent_ids)
    assert all(value == 1 for value in found.values()), {k: v for k, v in found.items() if v != 1}
    bus.wait_for(lambda _: sent_ids <= bus.received_external_ids(account_id), timeout=30,
                 what=f"all {count} MESSAGE_RECEIVED events")
    bus.assert_ids()

    # The new owner drives the session: a send through the third instance goes out once.
    other = next(name for name in ("B", "C") if name != new_owner.name)
    key = uuid.uuid4().hex
    sent = api[other].send(account_id, str(bob), "after the takeover", key)
    assert sent["status"] == "sent", sent
    assert [m["text"] for m in world.messages(bob)].count("after the takeover") == 1


def test_graceful_stop_hands_accounts_over_at_once(make_cluster):
    """SIGTERM: the owner releases its accounts in their plugins and deletes its leases, so a
    survivor takes them at its next scan (one renew interval), and the accounts stay connected."""
    cluster = make_cluster()
    org = unique("org")
    via = {g.name: Principal(g, org) for g in cluster.gateways}
    accounts = [via["B"].connect_account()["id"] for _ in range(3)]
    assert {cluster.owner(a).name for a in accounts} == {"B"}
    stopped_at = time.monotonic()
    cluster.by_name("B").stop()
    took = 0.0
    for account_id in accounts:
        cluster.owner(account_id, other_than="B", timeout=RENEW_SECONDS + TAKEOVER_SLACK + 5)
        took = time.monotonic() - stopped_at
    print(f"\nhandover after SIGTERM: {took:.2f} s for {len(accounts)} accounts")
    assert took <= RENEW_SECONDS + TAKEOVER_SLACK + 1, f"took {took:.2f} s"  # the stop itself takes up to ~1 s
    for account_id in accounts:
        status = via["A"].request("GET", f"/api/bd-accounts/{account_id}/status", expect=200).json()
        assert status["status"] == "connected", status
        key = uuid.uuid4().hex
        assert send(via["A"], account_id, f"after handover {key[:6]}", key, expect=201).json()["status"] == "sent"
