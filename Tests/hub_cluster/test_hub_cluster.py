"""The hub in cluster mode: three gateways (A, B, C) sharing one Redis, real python-socketio
clients. Events enter through A's REST API and the loopback plugin (BD_ACCOUNT_CONNECTED on
connect; MESSAGE_SENT and the echoed MESSAGE_RECEIVED on send).

The Redis outage test is last in this file (it stops and restarts the shared redis-server).
"""

from __future__ import annotations

import os
import signal
import time

import pytest

from conftest import CAP
from hub_harness import HubClient, Principal, event_with_text, eventually, unique
from redis_process import command

SETTLE = 0.5


def org_events(client: HubClient, org: str) -> list[dict]:
    return client.system_events(lambda e: e.get("organizationId") == org)


def send_and_wait(principal: Principal, account: dict, chat: str, text: str, *observers: HubClient) -> list[dict]:
    """Sends through `principal`'s gateway; waits until every observer has MESSAGE_SENT and the
    echo; returns the first observer's two events."""
    principal.send(account, chat, text)
    got = []
    for observer in observers:
        sent = observer.wait_for(event_with_text(text), what=f"MESSAGE_SENT {text!r} on {observer.gateway.name}")[0]
        echo = observer.wait_for(event_with_text(f"echo: {text}"), what=f"echo of {text!r} on {observer.gateway.name}")[0]
        got.append([sent, echo])
    return got[0]


@pytest.mark.parametrize("transport", ["websocket", "polling"])
def test_message_entering_a_reaches_sockets_on_every_instance(cluster, hub_client, transport):
    a, b, c = cluster
    org = unique("org")
    sender = Principal(a, org)
    on_c = hub_client(c, Principal(c, org).token, transport).connect()
    on_b = hub_client(b, Principal(b, org).token, transport).connect()
    on_a = hub_client(a, sender.token, transport).connect()
    account = sender.connect_account()
    for client in (on_a, on_b, on_c):
        client.wait_for(lambda n, p: n == "event" and p.get("type") == "BD_ACCOUNT_CONNECTED",
                        what=f"BD_ACCOUNT_CONNECTED on {client.gateway.name}")
    send_and_wait(sender, account, "chat-1", "hello from A", on_c, on_b, on_a)
    time.sleep(SETTLE)
    # Every socket got each event once, with the same cluster-wide offsets, in offset order.
    seen = [[(e["id"], e["offset"]) for e in org_events(client, org)] for client in (on_a, on_b, on_c)]
    assert seen[0] == seen[1] == seen[2], seen
    assert len(seen[0]) == 3 and len({i for i, _ in seen[0]}) == 3, seen[0]
    offsets = [o for _, o in seen[0]]
    assert offsets == sorted(offsets) and offsets[0] < 2**53, offsets


def test_other_organizations_get_nothing(cluster, hub_client):
    a, b, c = cluster
    org, other = unique("org"), unique("org")
    sender = Principal(a, org)
    outsider = hub_client(c, Principal(c, other).token).connect()
    insider = hub_client(c, Principal(c, org).token).connect()
    account = sender.connect_account()
    send_and_wait(sender, account, "chat-x", "private", insider)
    time.sleep(SETTLE)
    assert outsider.system_events() == [], outsider.system_events()


def test_events_from_several_instances_share_one_order(cluster, hub_client):
    """Messages entering A and B for the same organization: C and A see the same sequence."""
    a, b, c = cluster
    org = unique("org")
    via_a, via_b = Principal(a, org), Principal(b, org)
    on_c = hub_client(c, Principal(c, org).token).connect()
    on_a = hub_client(a, Principal(a, org).token).connect()
    account_a, account_b = via_a.connect_account(), via_b.connect_account()
    for i in range(5):
        via_a.send(account_a, "chat-a", f"a{i}")
        via_b.send(account_b, "chat-b", f"b{i}")
    for client in (on_c, on_a):
        client.wait_for(lambda n, p: n == "event" and p.get("type") in ("MESSAGE_SENT", "MESSAGE_RECEIVED"),
                        count=20, what=f"20 message events on {client.gateway.name}")
    time.sleep(SETTLE)
    order_c = [(e["id"], e["offset"]) for e in org_events(on_c, org)]
    order_a = [(e["id"], e["offset"]) for e in org_events(on_a, org)]
    assert order_c == order_a, (order_c, order_a)
    offsets = [o for _, o in order_c]
    assert offsets == sorted(offsets) and len(set(offsets)) == len(offsets) == 22, offsets


def test_recovery_after_reconnecting_to_another_instance(cluster, hub_client):
    a, b, c = cluster
    org = unique("org")
    sender = Principal(a, org)
    reader = Principal(a, org, user=unique("reader"))
    observer = hub_client(c, Principal(c, org).token).connect()
    first = hub_client(a, reader.token).connect()
    account = sender.connect_account()
    send_and_wait(sender, account, "chat-r", "before", first, observer)
    last = max(e["offset"] for e in first.system_events())
    first.close()
    for i in range(3):
        send_and_wait(sender, account, "chat-r", f"missed {i}", observer)
    missed = [e for e in org_events(observer, org) if e["offset"] > last]
    assert len(missed) == 6, missed

    back = hub_client(b, reader.token, offset=last).connect()
    assert back.events("connected")[0]["recovered"] is True, back.events("connected")
    back.wait_for(lambda n, p: n == "event", count=6, what="the 6 missed events")
    send_and_wait(sender, account, "chat-r", "live", back)
    got = org_events(back, org)
    assert [(e["id"], e["offset"]) for e in got[:6]] == [(e["id"], e["offset"]) for e in missed], (got, missed)
    assert got[:6] == missed, "replayed events must be the same events (same payload and offset)"
    assert [e["data"]["content"] for e in got[6:]] == ["live", "echo: live"], got[6:]
    offsets = [e["offset"] for e in got]
    assert offsets == sorted(offsets) and len(set(offsets)) == len(offsets), offsets
    # `connected` comes first.
    assert back.received[0][0] == "connected", back.received[:3]


def test_recovery_with_nothing_missed_and_with_unknown_offsets(cluster, hub_client):
    a, b, c = cluster
    org = unique("org")
    sender = Principal(a, org)
    first = hub_client(a, sender.token).connect()
    account = sender.connect_account()
    send_and_wait(sender, account, "chat-n", "only", first)
    last = max(e["offset"] for e in first.system_events())
    first.close()

    def recovered(gateway, offset, token=sender.token):
        client = hub_client(gateway, token, offset=offset).connect()
        time.sleep(SETTLE)
        client.close()
        assert client.system_events() == [], client.received
        return client.events("connected")[0]["recovered"]

    assert recovered(c, last) is True, "nothing missed"
    assert recovered(b, 1) is False, "too old"
    assert recovered(b, last + 10**9) is False, "from the future"
    assert recovered(c, last, Principal(c, unique("quiet")).token) is False, "an organization without events"


def test_recovery_while_events_keep_coming(cluster, hub_client):
    """Reconnecting to B with an offset while A keeps producing: every missed and live event
    exactly once, in order (no gap and no duplicate between replay and live)."""
    a, b, c = cluster
    org = unique("org")
    sender = Principal(a, org)
    observer = hub_client(c, Principal(c, org).token).connect()
    account = sender.connect_account()
    observer.wait_for(lambda n, p: n == "event", what="BD_ACCOUNT_CONNECTED")
    offset = observer.system_events()[-1]["offset"]
    import threading
    stop = threading.Event()

    def produce():
        i = 0
        while not stop.is_set() and i < 60:
            sender.send(account, "chat-load", f"load {i}")
            i += 1

    producer = threading.Thread(target=produce)
    producer.start()
    try:
        time.sleep(0.3)
        back = hub_client(b, sender.token, offset=offset).connect()
    finally:
        producer.join(timeout=60)
        stop.set()
    observer.wait_for(event_with_text("echo: load 59"), timeout=20, what="the last echo on C")
    back.wait_for(event_with_text("echo: load 59"), timeout=20, what="the last echo on B")
    time.sleep(SETTLE)
    expected = [(e["id"], e["offset"]) for e in org_events(observer, org) if e["offset"] > offset]
    got = [(e["id"], e["offset"]) for e in org_events(back, org)]
    assert back.events("connected")[0]["recovered"] is True
    assert got == expected, f"got {len(got)} events, expected {len(expected)}"


def test_chat_and_account_rooms_across_instances_with_a_shared_store(shared_store_cluster, hub_client):
    """With the PostgreSQL store shared, a socket on Q subscribes to the chat and the account of
    messages entering P and gets their events (and only those rooms' events)."""
    p, q = shared_store_cluster
    org = unique("org")
    sender = Principal(p, org)
    account = sender.connect_account()
    sender.send(account, "chat-shared", "creates the chat")
    watcher = Principal(q, org)
    client = hub_client(q, watcher.token).connect()
    client.emit("unsubscribe", "org:" + org)
    client.wait_event("unsubscribed")
    eventually(lambda: client.call("subscribe", "chat:chat-shared") == {"room": "chat:chat-shared"},
               what="Q allows chat:chat-shared (the chat is in the shared store)")
    send_and_wait(sender, account, "chat-shared", "in the chat", client)
    sender.send(account, "chat-other", "elsewhere")
    time.sleep(SETTLE)
    assert not [e for e in client.system_events() if "elsewhere" in str(e.get("data"))], client.system_events()
    assert client.call("subscribe", f"bd-account:{account['id']}") == {"room": f"bd-account:{account['id']}"}
    send_and_wait(sender, account, "chat-third", "on the account", client)


def test_connection_cap_is_cluster_wide(cluster, hub_client):
    a, b, c = cluster
    org = unique("org")
    token = Principal(a, org).token
    clients = [hub_client(gateway, token).connect() for gateway in (a, b, c)]
    assert len(clients) == CAP
    refused = hub_client(c, token).try_connect()
    assert "limit" in str(refused).lower(), refused
    refused = hub_client(a, token, "polling").try_connect()
    assert "limit" in str(refused).lower(), refused
    # /health: local and cluster-wide counts.
    health = eventually(lambda: (h := a.health())["hub"].get("cluster", {}).get("connectionsPerOrganization", {}).get(org) == CAP and h,
                        what="cluster count 3 in A's /health", last=lambda: a.health()["hub"])
    assert health["hub"]["connectionsPerOrganization"].get(org) == 1, health["hub"]
    assert health["hub"]["cluster"]["redis"] == "connected", health["hub"]
    # A slot freed on B is usable on C.
    clients[1].close()
    eventually(lambda: a.health()["hub"]["cluster"]["connectionsPerOrganization"].get(org) == CAP - 1,
               what="cluster count back to 2", last=lambda: a.health()["hub"])
    hub_client(c, token).connect()
    refused = hub_client(b, token).try_connect()
    assert "limit" in str(refused).lower(), refused


def test_dead_instance_stops_counting(cluster, extra_gateway, hub_client):
    """kill -9 of an instance: its connections stop counting once its heartbeat expires (10 s)."""
    a, b, c = cluster
    d = extra_gateway("D")
    org = unique("org")
    token = Principal(a, org).token
    held = [hub_client(d, token).connect() for _ in range(CAP)]
    refused = hub_client(a, token).try_connect()
    assert "limit" in str(refused).lower(), refused
    os.killpg(d.proc.pid, signal.SIGKILL)
    d.proc.wait(timeout=10)
    eventually(lambda: a.health()["hub"]["cluster"]["connectionsPerOrganization"].get(org) is None,
               timeout=20, what="D's connections to stop counting", last=lambda: a.health()["hub"])
    for gateway in (a, b, c):
        hub_client(gateway, token).connect()


def test_malformed_stream_entries_are_skipped(cluster, redis, hub_client):
    """Garbage written into the cluster's streams by someone else: logged and skipped, never a crash."""
    a, b, c = cluster
    org = unique("org")
    for fields in (["o", org], ["o", org, "n", "x", "a", "", "c", "", "e", "{}"], ["o", org, "n", "5", "a", "", "c", "", "e", "not json"],
                   ["junk", "\x00\xff"]):
        assert command(redis.port, "XADD", "cg:hub:events", "*", *fields).startswith(b"$"), fields
    assert command(redis.port, "XADD", f"cg:hub:org:{org}", "*", "x", "y").startswith(b"$")
    sender = Principal(a, org)
    on_c = hub_client(c, Principal(c, org).token).connect()
    account = sender.connect_account()
    send_and_wait(sender, account, "chat-g", "after garbage", on_c)
    for gateway in (a, b, c):
        gateway.assert_alive()
    assert all(e.get("organizationId") == org and "offset" in e for e in on_c.system_events()), on_c.system_events()


def test_redis_outage_local_delivery_then_resume(cluster, redis, hub_client):
    """Redis stopped: A's events still reach A's sockets, /health says so, nothing crashes;
    Redis back (empty, on the same port): events from A reach C again."""
    a, b, c = cluster
    org = unique("org")
    sender = Principal(a, org)
    on_a = hub_client(a, sender.token).connect()
    on_c = hub_client(c, Principal(c, org).token).connect()
    account = sender.connect_account()
    send_and_wait(sender, account, "chat-o", "before the outage", on_a, on_c)

    redis.stop()
    try:
        send_and_wait(sender, account, "chat-o", "during the outage", on_a)
        eventually(lambda: a.health()["hub"]["cluster"]["redis"] == "unreachable", what="redis unreachable in /health")
        assert a.health()["status"] == "degraded"
        # Connecting still works (this instance's count decides).
        hub_client(b, Principal(b, org, user=unique("u")).token).connect()
    finally:
        redis.start()
    for gateway in (a, b, c):
        eventually(lambda: gateway.health()["hub"]["cluster"]["redis"] == "connected", timeout=20,
                   what=f"{gateway.name} reconnected to Redis", last=lambda: gateway.health()["hub"])

    def delivered_again():
        text = unique("after")
        sender.send(account, "chat-o", text)
        try:
            on_c.wait_for(event_with_text(text), timeout=3, what="an event after the outage")
            return True
        except BaseException:  # noqa: BLE001 - pytest.fail raises Failed (a BaseException)
            return False

    eventually(delivered_again, timeout=30, interval=0.1, what="events from A reaching C after Redis restarted")
    for gateway in (a, b, c):
        gateway.assert_alive()
    # Counts were rewritten by the heartbeats: the cluster knows the connections again.
    eventually(lambda: (a.health()["hub"]["cluster"]["connectionsPerOrganization"] or {}).get(org) == 3, timeout=10,
               what="cluster counts restored", last=lambda: a.health()["hub"])
