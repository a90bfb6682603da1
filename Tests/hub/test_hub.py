"""The real-time hub (Socket.IO v4 at /socket.io/) against a live gateway, over both transports.

Events are made through the REST API: connecting a loopback account publishes
BD_ACCOUNT_CONNECTED; sending a message publishes MESSAGE_SENT, and the loopback channel answers
at once with `echo: <text>` in the same chat (MESSAGE_RECEIVED).
"""

from __future__ import annotations

import json
import socket
import threading
import time

import pytest
import requests
import websocket

from hub_harness import (
    TRANSPORTS,
    HubClient,
    Principal,
    eventually,
    event_with_text,
    make_token,
    message_text,
    unique,
)

EVENT_KEYS = {"id", "type", "organizationId", "data", "timestamp", "offset"}
CONNECTED_KEYS = {"userId", "organizationId", "email", "role", "socketId", "recovered"}
# After a sentinel event reached an observer, how long a socket that should also have got some
# event is given before "it did not arrive" is concluded.
SETTLE = 0.5


@pytest.fixture(params=TRANSPORTS)
def transport(request):
    return request.param


def connected(hub_client, gateway, principal, transport, **kw) -> HubClient:
    return hub_client(gateway, principal.token, transport, **kw).connect()


def send_and_observe(principal, account, chat, text, observer: HubClient) -> list[dict]:
    """Sends `text` in `chat` and waits until `observer` (a socket in the org room) has both the
    MESSAGE_SENT and the echoed MESSAGE_RECEIVED; returns those two events."""
    principal.send(account, chat, text)
    sent = observer.wait_for(event_with_text(text), what=f"MESSAGE_SENT {text!r}")[0]
    received = observer.wait_for(event_with_text(f"echo: {text}"), what=f"MESSAGE_RECEIVED 'echo: {text}'")[0]
    assert sent["type"] == "MESSAGE_SENT", sent
    assert received["type"] == "MESSAGE_RECEIVED", received
    return [sent, received]


def ids(events: list[dict]) -> list[str]:
    return [e["id"] for e in events]


def assert_event_shape(event: dict, org: str) -> None:
    assert isinstance(event, dict), event
    assert set(event) == EVENT_KEYS, f"event keys {sorted(event)} != {sorted(EVENT_KEYS)}: {event}"
    assert event["organizationId"] == org, event
    assert isinstance(event["offset"], int) and event["offset"] > 0, event
    assert isinstance(event["id"], str) and event["id"], event
    assert isinstance(event["timestamp"], str) and event["timestamp"].endswith("Z"), event
    assert isinstance(event["data"], dict), event


# ---------------------------------------------------------------------------------------------
# Connecting


def test_connected_payload(main_gateway, new_principal, hub_client, transport):
    principal = new_principal(main_gateway, role="manager")
    client = connected(hub_client, main_gateway, principal, transport)
    payload = client.events("connected")
    assert len(payload) == 1, client.received
    payload = payload[0]
    assert set(payload) == CONNECTED_KEYS, payload
    assert payload["userId"] == principal.user
    assert payload["organizationId"] == principal.org
    assert payload["email"] == principal.email
    assert payload["role"] == "manager"
    assert payload["recovered"] is False
    assert isinstance(payload["socketId"], str) and payload["socketId"]
    # socketId is the Socket.IO id of the namespace connection (the CONNECT packet's sid).
    assert payload["socketId"] == client.sio.get_sid("/")
    assert client.received[0][0] == "connected", "connected must be the first event"


def test_socket_ids_are_unique(main_gateway, new_principal, hub_client, transport):
    principal = new_principal(main_gateway)
    first = connected(hub_client, main_gateway, principal, transport)
    second = connected(hub_client, main_gateway, principal, transport)
    assert first.events("connected")[0]["socketId"] != second.events("connected")[0]["socketId"]


def _bad_auth(org: str) -> dict:
    return {
        "missing token": {},
        "empty token": {"token": ""},
        "token not a string": {"token": 12345},
        "garbage token": {"token": "not-a-jwt"},
        "wrong secret": {"token": make_token(org, secret="another-secret-of-at-least-32-bytes-xx")},
        "expired": {"token": make_token(org, exp_in=-3600)},
        "truncated signature": {"token": make_token(org)[:-6]},
        "no organizationId": {"token": make_token(org, omit=("organizationId",))},
    }


@pytest.mark.parametrize("case", list(_bad_auth("x")))
def test_refused_tokens(main_gateway, hub_client, transport, case):
    org = unique("org-refused")
    auth = _bad_auth(org)[case]
    client = hub_client(main_gateway, None, transport, auth=auth)
    error = client.try_connect()
    assert isinstance(error, dict) and isinstance(error.get("message"), str) and error["message"], error
    if case in ("missing token", "empty token", "token not a string"):
        assert "token" in error["message"].lower(), error
    assert not client.events("connected")
    assert org not in main_gateway.health()["hub"]["connectionsPerOrganization"]


def test_connect_without_auth_object_is_refused(main_gateway, hub_client, transport):
    """`io(url)` with no auth at all: CONNECT without data."""
    client = hub_client(main_gateway, None, transport, auth=None)
    error = client.try_connect()
    assert isinstance(error, dict) and "token" in error.get("message", "").lower(), error


def test_upgrade_from_polling_to_websocket(main_gateway, new_principal, hub_client):
    """The default client: polling first, then the upgrade to WebSocket; events keep flowing."""
    principal = new_principal(main_gateway)
    client = hub_client(main_gateway, principal.token, "polling")
    client.sio.connect(main_gateway.base_url, auth={"token": principal.token}, wait_timeout=10)
    client.wait_event("connected")
    eventually(lambda: client.sio.transport() == "websocket", timeout=10, what="the upgrade to websocket",
               last=lambda: client.sio.transport())
    account = principal.connect_account()
    client.wait_for(lambda n, p: n == "event" and p.get("type") == "BD_ACCOUNT_CONNECTED", what="account event")
    assert client.call("subscribe", f"bd-account:{account['id']}") == {"room": f"bd-account:{account['id']}"}
    principal.send(account, "chat-upgrade", "after upgrade")
    client.wait_for(event_with_text("echo: after upgrade"))
    assert client.connected


# ---------------------------------------------------------------------------------------------
# Automatic rooms and delivery


def test_org_events_arrive_without_subscribing(main_gateway, new_principal, hub_client, transport):
    principal = new_principal(main_gateway)
    other = new_principal(main_gateway)
    client = connected(hub_client, main_gateway, principal, transport)
    stranger = connected(hub_client, main_gateway, other, "websocket")

    account = principal.connect_account()
    event = client.wait_event("event", match=lambda e: e.get("type") == "BD_ACCOUNT_CONNECTED")
    assert_event_shape(event, principal.org)
    assert event["data"]["id"] == account["id"]

    sent, received = send_and_observe(principal, account, "chat-auto", "hello rooms", client)
    for event in (sent, received):
        assert_event_shape(event, principal.org)
        assert event["data"]["chatId"] == "chat-auto"
        assert event["data"]["bdAccountId"] == account["id"]

    # The other organization's socket got none of it.
    other_account = other.connect_account()
    stranger.wait_event("event", match=lambda e: e["data"].get("id") == other_account["id"])
    time.sleep(SETTLE)
    assert all(e["organizationId"] == other.org for e in stranger.system_events()), stranger.system_events()


def test_offsets_increase_per_organization(main_gateway, new_principal, hub_client, transport):
    principal = new_principal(main_gateway)
    client = connected(hub_client, main_gateway, principal, transport)
    account = principal.connect_account()
    for i in range(3):
        send_and_observe(principal, account, f"chat-off-{i}", f"offset {i}", client)
    offsets = [e["offset"] for e in client.system_events()]
    assert len(offsets) == 7, client.system_events()
    assert offsets == sorted(offsets) and len(set(offsets)) == len(offsets), offsets


def test_each_event_once_per_socket_in_all_rooms(main_gateway, new_principal, hub_client, transport):
    """A socket in org:, bd-account: and chat: (three rooms the event goes to) gets it once."""
    principal = new_principal(main_gateway)
    account = principal.connect_account()
    observer = connected(hub_client, main_gateway, principal, "websocket")
    send_and_observe(principal, account, "chat-once", "first", observer)  # the chat now exists

    client = connected(hub_client, main_gateway, principal, transport)
    assert client.call("subscribe", f"bd-account:{account['id']}") == {"room": f"bd-account:{account['id']}"}
    assert client.call("subscribe", "chat:chat-once") == {"room": "chat:chat-once"}
    assert client.call("subscribe", f"org:{principal.org}") == {"room": f"org:{principal.org}"}  # again

    events = send_and_observe(principal, account, "chat-once", "twice?", observer)
    client.wait_for(event_with_text("echo: twice?"))
    time.sleep(SETTLE)
    got = client.system_events()
    assert sorted(ids(got)) == sorted(ids(events)), f"expected each of {ids(events)} once, got {ids(got)}"


def test_bd_account_room_delivery(main_gateway, new_principal, hub_client, transport):
    """Out of the org room, a socket in bd-account:<id> gets that account's events (any chat) only."""
    principal = new_principal(main_gateway)
    mine = principal.connect_account()
    other = principal.connect_account()
    observer = connected(hub_client, main_gateway, principal, "websocket")
    client = connected(hub_client, main_gateway, principal, transport)
    assert client.call("unsubscribe", f"org:{principal.org}") == {"room": f"org:{principal.org}"}
    assert client.call("subscribe", f"bd-account:{mine['id']}") == {"room": f"bd-account:{mine['id']}"}

    wanted = send_and_observe(principal, mine, "chat-acc-1", "acc one", observer)
    wanted += send_and_observe(principal, mine, "chat-acc-2", "acc two", observer)
    unwanted = send_and_observe(principal, other, "chat-acc-1", "other acc", observer)
    client.wait_for(event_with_text("echo: acc two"))
    time.sleep(SETTLE)
    got = ids(client.system_events())
    assert sorted(got) == sorted(ids(wanted)), f"bd-account room: expected {ids(wanted)}, got {got} (unwanted: {ids(unwanted)})"


def test_chat_room_delivery_and_unsubscribe(main_gateway, new_principal, hub_client, transport):
    """Out of the org room, chat:<id> alone delivers that chat's events; after unsubscribing it,
    they stop."""
    principal = new_principal(main_gateway)
    account = principal.connect_account()
    observer = connected(hub_client, main_gateway, principal, "websocket")
    send_and_observe(principal, account, "chat-x", "make x", observer)
    client = connected(hub_client, main_gateway, principal, transport)
    assert client.call("unsubscribe", f"org:{principal.org}") == {"room": f"org:{principal.org}"}
    assert client.call("subscribe", "chat:chat-x") == {"room": "chat:chat-x"}

    in_x = send_and_observe(principal, account, "chat-x", "in x", observer)
    in_y = send_and_observe(principal, account, "chat-y", "in y", observer)
    client.wait_for(event_with_text("echo: in x"))
    time.sleep(SETTLE)
    assert sorted(ids(client.system_events())) == sorted(ids(in_x)), (
        f"chat room: expected {ids(in_x)} only, got {ids(client.system_events())} (chat-y: {ids(in_y)})")

    assert client.call("unsubscribe", "chat:chat-x") == {"room": "chat:chat-x"}
    after = send_and_observe(principal, account, "chat-x", "after unsubscribe", observer)
    time.sleep(SETTLE)
    assert not set(ids(after)) & set(ids(client.system_events())), "events still arrive after unsubscribe"
    assert client.connected


def test_unsubscribe_org_room_stops_org_events(main_gateway, new_principal, hub_client, transport):
    principal = new_principal(main_gateway)
    observer = connected(hub_client, main_gateway, principal, "websocket")
    client = connected(hub_client, main_gateway, principal, transport)
    client.emit("unsubscribe", f"org:{principal.org}")
    assert client.wait_event("unsubscribed") == {"room": f"org:{principal.org}"}
    account = principal.connect_account()
    observer.wait_event("event", match=lambda e: e["data"].get("id") == account["id"])
    time.sleep(SETTLE)
    assert client.system_events() == []
    client.emit("subscribe", f"org:{principal.org}")
    assert client.wait_event("subscribed") == {"room": f"org:{principal.org}"}
    send_and_observe(principal, account, "chat-back", "back in org", observer)
    client.wait_for(event_with_text("echo: back in org"))


def test_chat_rooms_are_scoped_to_the_organization(main_gateway, new_principal, hub_client, transport):
    """Two organizations with a chat of the same id: a socket in chat:<id> of one of them must not
    receive the other organization's events in its chat of that id."""
    mine = new_principal(main_gateway)
    theirs = new_principal(main_gateway)
    chat = unique("shared-chat")
    my_account = mine.connect_account()
    their_account = theirs.connect_account()
    my_observer = connected(hub_client, main_gateway, mine, "websocket")
    their_observer = connected(hub_client, main_gateway, theirs, "websocket")
    send_and_observe(mine, my_account, chat, "mine", my_observer)
    send_and_observe(theirs, their_account, chat, "theirs", their_observer)

    client = connected(hub_client, main_gateway, mine, transport)
    assert client.call("subscribe", f"chat:{chat}") == {"room": f"chat:{chat}"}
    leaked = send_and_observe(theirs, their_account, chat, "private to them", their_observer)
    own = send_and_observe(mine, my_account, chat, "mine again", my_observer)
    client.wait_for(event_with_text("echo: mine again"))
    time.sleep(SETTLE)
    foreign = [e for e in client.system_events() if e["organizationId"] != mine.org]
    assert not foreign, (
        f"organization {mine.org} received {len(foreign)} event(s) of organization {theirs.org} through "
        f"chat:{chat}: {[(e['type'], message_text(e)) for e in foreign]}")
    assert set(ids(own)) <= set(ids(client.system_events()))
    assert not set(ids(leaked)) & set(ids(client.system_events()))


# ---------------------------------------------------------------------------------------------
# subscribe / unsubscribe


def test_subscribe_allowed_rooms(main_gateway, new_principal, hub_client, transport):
    principal = new_principal(main_gateway)
    account = principal.connect_account()
    observer = connected(hub_client, main_gateway, principal, "websocket")
    send_and_observe(principal, account, "chat-allowed", "exists", observer)
    client = connected(hub_client, main_gateway, principal, transport)
    rooms = [f"org:{principal.org}", f"user:{principal.user}", "chat:chat-allowed", f"bd-account:{account['id']}"]
    for room in rooms:
        assert client.call("subscribe", room) == {"room": room}, room
    # The same payloads came as `subscribed` events, in order.
    client.wait_for(lambda n, p: n == "subscribed", count=len(rooms), what="subscribed events")
    assert client.events("subscribed") == [{"room": room} for room in rooms]
    for room in rooms:
        assert client.call("unsubscribe", room) == {"room": room}, room
    client.wait_for(lambda n, p: n == "unsubscribed", count=len(rooms), what="unsubscribed events")
    assert client.events("unsubscribed") == [{"room": room} for room in rooms]
    assert client.events("error") == []


def test_subscribe_without_ack_answers_with_event(main_gateway, new_principal, hub_client, transport):
    principal = new_principal(main_gateway)
    client = connected(hub_client, main_gateway, principal, transport)
    client.emit("subscribe", f"user:{principal.user}")
    assert client.wait_event("subscribed") == {"room": f"user:{principal.user}"}
    client.emit("subscribe", "user:somebody-else")
    error = client.wait_event("error")
    assert error["code"] == "forbidden" and error["room"] == "user:somebody-else", error
    assert isinstance(error.get("message"), str) and error["message"], error


def test_subscribe_denied_rooms(main_gateway, new_principal, hub_client, transport):
    principal = new_principal(main_gateway)
    other = new_principal(main_gateway)
    other_account = other.connect_account()
    other_observer = connected(hub_client, main_gateway, other, "websocket")
    other_chat = unique("their-chat")
    send_and_observe(other, other_account, other_chat, "their chat", other_observer)
    client = connected(hub_client, main_gateway, principal, transport)
    denied = [
        f"org:{other.org}",
        f"user:{other.user}",
        f"user:{principal.user}x",
        f"chat:{other_chat}",
        f"chat:{unique('no-such-chat')}",
        f"bd-account:{other_account['id']}",
        f"bd-account:{unique('no-such-account')}",
    ]
    for room in denied:
        answer = client.call("subscribe", room)
        assert isinstance(answer, dict) and answer.get("code") == "forbidden" and answer.get("room") == room, (
            room, answer)
        assert isinstance(answer.get("message"), str) and answer["message"]
        answer = client.call("unsubscribe", room)
        assert answer.get("code") == "forbidden" and answer.get("room") == room, (room, answer)
    errors = client.wait_for(lambda n, p: n == "error", count=2 * len(denied), what="the error events")
    assert [e["room"] for e in errors] == [room for room in denied for _ in (1, 2)], errors
    assert client.events("subscribed") == []
    # Still not in those rooms: the other organization's events do not arrive.
    send_and_observe(other, other_account, other_chat, "still theirs", other_observer)
    time.sleep(SETTLE)
    assert client.system_events() == []
    assert client.connected


@pytest.mark.parametrize("room", ["bogus", "org:", ":org", "room:1", "", "chat", "ORG:x", "users:me", "org"])
def test_subscribe_invalid_room(main_gateway, new_principal, hub_client, transport, room):
    principal = new_principal(main_gateway)
    client = connected(hub_client, main_gateway, principal, transport)
    answer = client.call("subscribe", room)
    assert answer.get("code") == "invalid_room" and answer.get("room") == room, answer
    assert client.wait_event("error") == answer
    assert client.connected


@pytest.mark.parametrize("argument", [42, None, ["org:x"], {"room": "org:x"}, True], ids=repr)
def test_subscribe_with_a_non_string_room(main_gateway, new_principal, hub_client, transport, argument):
    principal = new_principal(main_gateway)
    client = connected(hub_client, main_gateway, principal, transport)
    answer = client.call("subscribe", argument)
    assert answer.get("code") == "invalid_room", answer
    assert client.connected


def test_ack_answers_match_events(main_gateway, new_principal, hub_client, transport):
    principal = new_principal(main_gateway)
    client = connected(hub_client, main_gateway, principal, transport)
    answers = [
        client.call("subscribe", f"org:{principal.org}"),
        client.call("subscribe", "org:elsewhere"),
        client.call("subscribe", "nonsense"),
        client.call("unsubscribe", f"org:{principal.org}"),
        client.call("whatever", {"x": 1}),
    ]
    assert answers[0] == {"room": f"org:{principal.org}"}
    assert answers[1]["code"] == "forbidden"
    assert answers[2]["code"] == "invalid_room"
    assert answers[3] == {"room": f"org:{principal.org}"}
    assert answers[4]["code"] == "unsupported_event"
    client.wait_for(lambda n, p: n in ("subscribed", "unsubscribed", "error"), count=5, what="the 5 answer events")
    as_events = [p for n, p in client.received if n in ("subscribed", "unsubscribed", "error")]
    assert as_events == answers


# ---------------------------------------------------------------------------------------------
# Clients cannot emit into rooms


@pytest.mark.parametrize("name", ["event", "message", "connected", "subscribed", "ping", "MESSAGE_RECEIVED", "chat:x"])
def test_forged_events_are_refused(main_gateway, new_principal, hub_client, transport, name):
    principal = new_principal(main_gateway)
    account = principal.connect_account()
    victim = connected(hub_client, main_gateway, principal, "websocket")
    forger = connected(hub_client, main_gateway, principal, transport)
    marker = unique("forged")
    forged = {"id": marker, "type": "MESSAGE_RECEIVED", "organizationId": principal.org,
              "data": {"content": marker, "chatId": "chat-f"}, "timestamp": "2024-01-01T00:00:00.000Z", "offset": 1}
    forger.emit(name, forged)
    error = forger.wait_event("error")
    assert error.get("code") == "unsupported_event", error
    assert isinstance(error.get("message"), str)
    # A real event afterwards reaches the victim; the forged one never did.
    send_and_observe(principal, account, "chat-f", "real", victim)
    time.sleep(SETTLE)
    dump = json.dumps(victim.received)
    assert marker not in dump, f"the forged {name!r} reached another client: {victim.received}"
    assert marker not in json.dumps(forger.system_events())
    assert forger.connected


# ---------------------------------------------------------------------------------------------
# Heartbeats (heartbeat_gateway: app ping every 300 ms, pong timeout 1 s; Engine.IO 500/500 ms)


def test_client_that_ignores_app_pings_is_disconnected(heartbeat_gateway, new_principal, hub_client, transport):
    principal = new_principal(heartbeat_gateway)
    client = hub_client(heartbeat_gateway, principal.token, transport, answer_pings=False)
    started = time.monotonic()
    client.connect()
    client.wait_disconnect(timeout=1.0 + 0.25 + 3.0)
    lasted = client.disconnected_at - started
    pings = client.events("ping")
    assert len(pings) >= 1, client.received
    assert all(isinstance(p, dict) and isinstance(p.get("timestamp"), (int, float)) for p in pings), pings
    assert lasted >= 0.9, f"disconnected after {lasted:.2f} s, before the 1 s pong timeout"
    eventually(lambda: principal.org not in heartbeat_gateway.health()["hub"]["connectionsPerOrganization"],
               timeout=5, what="the connection to be released")


def test_client_that_answers_app_pings_stays_connected(heartbeat_gateway, new_principal, hub_client, transport):
    principal = new_principal(heartbeat_gateway)
    client = connected(hub_client, heartbeat_gateway, principal, transport)
    time.sleep(3.5)  # more than 3 pong timeouts, ~11 ping intervals
    assert client.connected, f"disconnected: {client.disconnects}"
    assert not client.disconnects
    # One ping per 300 ms interval, checked every 250 ms: about one every 500 ms.
    assert len(client.events("ping")) >= 4, client.events("ping")
    assert client.call("subscribe", f"org:{principal.org}") == {"room": f"org:{principal.org}"}


def _raw_ws(gateway, timeout=5.0):
    ws = websocket.create_connection(gateway.ws_url, timeout=timeout)
    opening = ws.recv()
    assert isinstance(opening, str) and opening.startswith("0"), opening
    return ws, json.loads(opening[1:])


def test_engineio_handshake_values(heartbeat_gateway):
    ws, handshake = _raw_ws(heartbeat_gateway)
    try:
        assert handshake["pingInterval"] == 500 and handshake["pingTimeout"] == 500, handshake
        assert handshake["upgrades"] == [] and isinstance(handshake["sid"], str) and handshake["sid"], handshake
        assert handshake["maxPayload"] == 1_000_000, handshake
    finally:
        ws.close()
    response = requests.get(f"{heartbeat_gateway.base_url}/socket.io/?EIO=4&transport=polling", timeout=10)
    assert response.status_code == 200 and response.text.startswith("0"), response.text
    handshake = json.loads(response.text[1:])
    assert handshake["upgrades"] == ["websocket"] and handshake["pingInterval"] == 500, handshake


def test_engineio_ping_timeout_closes_silent_websocket(heartbeat_gateway):
    ws, _ = _raw_ws(heartbeat_gateway, timeout=6)
    try:
        first_ping = None
        deadline = time.monotonic() + 6
        while time.monotonic() < deadline:
            try:
                frame = ws.recv()
            except websocket.WebSocketConnectionClosedException:
                break
            if frame == "2" and first_ping is None:
                first_ping = time.monotonic()
            if frame in ("", None) or frame == "1":
                break
        else:
            pytest.fail("a client that never answers Engine.IO pings was not closed within 6 s")
        assert first_ping is not None, "no Engine.IO ping was sent"
        assert time.monotonic() - first_ping <= 0.5 + 0.25 + 2.0
    finally:
        ws.close()


def test_engineio_pongs_keep_websocket_open(heartbeat_gateway):
    ws, _ = _raw_ws(heartbeat_gateway)
    try:
        pings = 0
        end = time.monotonic() + 3
        while time.monotonic() < end:
            frame = ws.recv()
            assert frame not in ("", "1"), "closed although every ping was answered"
            if frame == "2":
                pings += 1
                ws.send("3")
        assert pings >= 3, pings
        ws.send("2alive")
        while True:
            frame = ws.recv()
            if frame == "2":
                ws.send("3")
                continue
            assert frame == "3alive", frame
            break
    finally:
        ws.close()


def test_engineio_ping_timeout_closes_silent_polling_session(heartbeat_gateway):
    session = requests.Session()
    session.trust_env = False
    base = f"{heartbeat_gateway.base_url}/socket.io/?EIO=4&transport=polling"
    opening = session.get(base, timeout=10)
    sid = json.loads(opening.text[1:])["sid"]
    deadline = time.monotonic() + 8
    while time.monotonic() < deadline:
        reply = session.get(f"{base}&sid={sid}", timeout=10)
        if reply.status_code == 400 or reply.text.split("\x1e")[-1] == "1":
            return  # closed: a close packet, or the session is gone
        assert reply.status_code == 200, reply.text
    pytest.fail("a polling client that never answers pings was not closed within 8 s")


# ---------------------------------------------------------------------------------------------
# A WebSocket that ends without Socket.IO / Engine.IO close packets


def _session_exists(gateway, sid: str) -> bool:
    """Whether the Engine.IO session `sid` is still known: a polling GET on a WebSocket session is
    a bad request (code 3) while it exists and `Session ID unknown` (code 1) once it is gone."""
    reply = requests.get(f"{gateway.base_url}/socket.io/?EIO=4&transport=polling&sid={sid}", timeout=10)
    assert reply.status_code == 400, reply.text
    return reply.json()["code"] != 1


@pytest.mark.parametrize("authenticated", [True, False], ids=["authenticated", "not-authenticated"])
@pytest.mark.parametrize("how", ["close-frame", "tcp-drop"])
def test_websocket_ended_without_close_packets_is_released(main_gateway, new_principal, how, authenticated):
    """A browser tab closed or a network drop: the WebSocket ends (close frame, or just FIN) without
    `41`/`1`. The session must be released at once (its org slot, rooms and /health count), not
    only when the heartbeat would notice (ping interval + timeout: 45 s by default, 10 s here)."""
    principal = new_principal(main_gateway)
    ws = websocket.create_connection(main_gateway.ws_url, timeout=5)
    sid = json.loads(ws.recv()[1:])["sid"]
    if authenticated:
        ws.send("40" + json.dumps({"token": principal.token}))
        assert ws.recv().startswith("40")
        assert ws.recv().startswith('42["connected"')
        assert main_gateway.health()["hub"]["connectionsPerOrganization"].get(principal.org) == 1
    assert _session_exists(main_gateway, sid)
    if how == "close-frame":
        ws.close()
    else:
        ws.sock.shutdown(socket.SHUT_RDWR)
        ws.sock.close()
    eventually(lambda: not _session_exists(main_gateway, sid), timeout=5,
               what=f"the Engine.IO session of a WebSocket that ended ({how}) to be released")
    assert principal.org not in main_gateway.health()["hub"]["connectionsPerOrganization"]


# ---------------------------------------------------------------------------------------------
# Limits (limits_gateway: 3 connections per organization, 10 client events per minute)


def test_rate_limit(limits_gateway, new_principal, hub_client, transport):
    principal = new_principal(limits_gateway)
    client = connected(hub_client, limits_gateway, principal, transport)
    room = f"org:{principal.org}"
    for i in range(10):
        assert client.call("subscribe", room) == {"room": room}, f"event {i + 1} of 10"
    for i in range(10, 20):
        answer = client.call("subscribe", room)
        assert answer.get("code") == "rate_limited", f"event {i + 1}: {answer}"
        assert client.connected
    errors = client.wait_for(lambda n, p: n == "error", count=10, what="10 rate_limited errors")
    assert all(e["code"] == "rate_limited" and isinstance(e.get("message"), str) for e in errors), errors
    client.emit("subscribe", room)  # the 21st: over twice the limit
    client.wait_disconnect(timeout=5)
    eventually(lambda: principal.org not in limits_gateway.health()["hub"]["connectionsPerOrganization"],
               timeout=5, what="the rate-limited connection to be released")


def test_rate_limit_is_per_connection(limits_gateway, new_principal, hub_client, transport):
    principal = new_principal(limits_gateway)
    first = connected(hub_client, limits_gateway, principal, transport)
    second = connected(hub_client, limits_gateway, principal, transport)
    for _ in range(11):
        first.emit("subscribe", f"user:{principal.user}")
    first.wait_for(lambda n, p: n == "error" and p.get("code") == "rate_limited", what="rate_limited")
    assert second.call("subscribe", f"user:{principal.user}") == {"room": f"user:{principal.user}"}


def test_connection_cap_per_organization(limits_gateway, new_principal, hub_client, transport):
    principal = new_principal(limits_gateway)
    clients = [connected(hub_client, limits_gateway, principal, transport) for _ in range(3)]
    extra = hub_client(limits_gateway, principal.token, transport)
    error = extra.try_connect()
    assert error == {"message": "Connection limit reached for organization"}, error
    # Another user of the same organization is refused too: the cap is per organization.
    colleague = new_principal(limits_gateway, org=principal.org)
    assert hub_client(limits_gateway, colleague.token, transport).try_connect()["message"] == (
        "Connection limit reached for organization")
    # Another organization is unaffected.
    other = new_principal(limits_gateway)
    connected(hub_client, limits_gateway, other, transport)
    counts = limits_gateway.health()["hub"]["connectionsPerOrganization"]
    assert counts.get(principal.org) == 3 and counts.get(other.org) == 1, counts
    # One leaves: a new one is admitted.
    clients[0].close()
    eventually(lambda: limits_gateway.health()["hub"]["connectionsPerOrganization"].get(principal.org) == 2,
               timeout=5, what="the slot to be freed")
    again = connected(hub_client, limits_gateway, principal, transport)
    assert again.events("connected")[0]["organizationId"] == principal.org
    assert all(c.connected for c in clients[1:])


# ---------------------------------------------------------------------------------------------
# Missed-event recovery


def _last_offset(client: HubClient) -> int:
    return max(e["offset"] for e in client.system_events())


def test_recovery_replays_missed_events_in_order(main_gateway, new_principal, hub_client, transport):
    principal = new_principal(main_gateway)
    account = principal.connect_account()
    observer = connected(hub_client, main_gateway, principal, "websocket")
    client = connected(hub_client, main_gateway, principal, transport)
    send_and_observe(principal, account, "chat-rec", "before", observer)
    client.wait_for(event_with_text("echo: before"))
    last = _last_offset(client)
    client.close()
    eventually(lambda: main_gateway.health()["hub"]["connectionsPerOrganization"].get(principal.org) == 1,
               timeout=5, what="the client to be gone")

    # Three events while away: MESSAGE_SENT + MESSAGE_RECEIVED, and BD_ACCOUNT_CONNECTED.
    send_and_observe(principal, account, "chat-rec", "while away", observer)
    second = principal.connect_account()
    observer.wait_event("event", match=lambda e: e["data"].get("id") == second["id"])
    missed = [e for e in observer.system_events() if e["offset"] > last]
    assert len(missed) == 3, missed

    back = connected(hub_client, main_gateway, principal, transport, offset=last)
    assert back.events("connected")[0]["recovered"] is True
    back.wait_for(lambda n, p: n == "event", count=3, what="the 3 missed events")
    live = send_and_observe(principal, account, "chat-rec", "live", observer)
    back.wait_for(event_with_text("echo: live"))
    time.sleep(SETTLE)
    names = [n for n, _ in back.received if n != "ping"]
    assert names[0] == "connected", names
    got = back.system_events()
    assert ids(got) == ids(missed) + ids(live), (
        f"expected the missed {[(e['type'], e['offset']) for e in missed]} then the live "
        f"{[(e['type'], e['offset']) for e in live]}, got {[(e['type'], e['offset']) for e in got]}")
    assert [e["offset"] for e in got] == sorted(e["offset"] for e in got)
    assert got[:3] == missed, "replayed events must be the same events (same payload and offset)"


def test_recovery_with_nothing_missed(main_gateway, new_principal, hub_client, transport):
    principal = new_principal(main_gateway)
    client = connected(hub_client, main_gateway, principal, transport)
    account = principal.connect_account()
    client.wait_event("event", match=lambda e: e["data"].get("id") == account["id"])
    last = _last_offset(client)
    client.close()
    back = connected(hub_client, main_gateway, principal, transport, offset=last)
    assert back.events("connected")[0]["recovered"] is True
    time.sleep(SETTLE)
    assert back.system_events() == []


def test_recovery_with_too_old_offset(main_gateway, new_principal, hub_client, transport):
    principal = new_principal(main_gateway)
    observer = connected(hub_client, main_gateway, principal, "websocket")
    principal.connect_account()
    observer.wait_event("event")
    back = connected(hub_client, main_gateway, principal, transport, offset=1)
    assert back.events("connected")[0]["recovered"] is False
    time.sleep(SETTLE)
    assert back.system_events() == [], "nothing is replayed when recovery fails"


def test_recovery_with_unknown_future_offset(main_gateway, new_principal, hub_client, transport):
    """An offset the server never issued (far in the future) is unknown: recovered false — both in
    an organization that had events and in one that had none yet."""
    busy = new_principal(main_gateway)
    observer = connected(hub_client, main_gateway, busy, "websocket")
    busy.connect_account()
    future = observer.wait_event("event")["offset"] + 10**12
    back = connected(hub_client, main_gateway, busy, transport, offset=future)
    assert back.events("connected")[0]["recovered"] is False, "future offset in an org with events"

    quiet = new_principal(main_gateway)
    fresh = connected(hub_client, main_gateway, quiet, transport, offset=future)
    assert fresh.events("connected")[0]["recovered"] is False, (
        f"offset {future} was never issued (organization {quiet.org} has had no event) but recovered is true")


def test_recovery_beyond_max_events(short_recovery_gateway, new_principal, hub_client, transport):
    """recovery_max_events 5: missing 6 or more events cannot be recovered."""
    gateway = short_recovery_gateway
    principal = new_principal(gateway)
    account = principal.connect_account()
    observer = connected(hub_client, gateway, principal, "websocket")
    client = connected(hub_client, gateway, principal, transport)
    send_and_observe(principal, account, "chat-max", "first", observer)
    client.wait_for(event_with_text("echo: first"))
    last = _last_offset(client)
    client.close()
    for i in range(3):  # 6 events
        send_and_observe(principal, account, "chat-max", f"missed {i}", observer)
    back = connected(hub_client, gateway, principal, transport, offset=last)
    assert back.events("connected")[0]["recovered"] is False
    time.sleep(SETTLE)
    assert back.system_events() == []


def test_recovery_within_max_events(short_recovery_gateway, new_principal, hub_client, transport):
    gateway = short_recovery_gateway
    principal = new_principal(gateway)
    account = principal.connect_account()
    observer = connected(hub_client, gateway, principal, "websocket")
    client = connected(hub_client, gateway, principal, transport)
    send_and_observe(principal, account, "chat-max", "first", observer)
    client.wait_for(event_with_text("echo: first"))
    last = _last_offset(client)
    client.close()
    missed = []
    for i in range(2):  # 4 events
        missed += send_and_observe(principal, account, "chat-max", f"missed {i}", observer)
    back = connected(hub_client, gateway, principal, transport, offset=last)
    assert back.events("connected")[0]["recovered"] is True
    back.wait_for(lambda n, p: n == "event", count=4, what="4 missed events")
    assert sorted(ids(back.system_events())) == sorted(ids(missed))


def test_recovery_window_expires(short_recovery_gateway, new_principal, hub_client, transport):
    """recovery_window_seconds 2: events missed more than 2 s ago cannot be recovered."""
    gateway = short_recovery_gateway
    principal = new_principal(gateway)
    account = principal.connect_account()
    observer = connected(hub_client, gateway, principal, "websocket")
    client = connected(hub_client, gateway, principal, transport)
    send_and_observe(principal, account, "chat-win", "first", observer)
    client.wait_for(event_with_text("echo: first"))
    last = _last_offset(client)
    client.close()
    send_and_observe(principal, account, "chat-win", "missed", observer)
    time.sleep(3)
    back = connected(hub_client, gateway, principal, transport, offset=last)
    assert back.events("connected")[0]["recovered"] is False
    time.sleep(SETTLE)
    assert back.system_events() == []


class Flood:
    """Background senders (each with its own HTTP session) making events until stopped; bounded
    by `max_seconds` and `max_sends` whatever happens."""

    def __init__(self, principal: Principal, account: dict, threads: int = 3, max_seconds: float = 30,
                 max_sends: int = 6000):
        self.stop_event = threading.Event()
        self.sends = 0
        self.errors: list[str] = []
        self.lock = threading.Lock()
        self.deadline = time.monotonic() + max_seconds
        self.max_sends = max_sends
        self.threads = [threading.Thread(target=self._run, args=(principal, account, k), daemon=True)
                        for k in range(threads)]

    def _run(self, principal: Principal, account: dict, k: int) -> None:
        sender = Principal(principal.gateway, principal.org, principal.role, principal.user)
        i = 0
        while not self.stop_event.is_set() and time.monotonic() < self.deadline:
            with self.lock:
                if self.sends >= self.max_sends:
                    return
                self.sends += 1
            try:
                sender.send(account, f"chat-flood-{k}", f"flood {k} {i}")
            except Exception as error:  # noqa: BLE001 - reported by the test
                self.errors.append(repr(error))
                return
            i += 1

    def __enter__(self) -> "Flood":
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop_event.set()
        for thread in self.threads:
            thread.join(timeout=15)


ATTEMPTS = 5


def test_recovery_under_load_replays_before_live_events(main_gateway, new_principal, hub_client, transport):
    """While events keep coming, a reconnect with an offset gets `connected` first, then every
    missed event and every live one exactly once, in offset order: no live event overtakes the
    replay or the CONNECT, none is doubled, none is lost."""
    principal = new_principal(main_gateway)
    account = principal.connect_account()
    observer = connected(hub_client, main_gateway, principal, "websocket")
    problems = []
    with Flood(principal, account) as flood:
        observer.wait_for(lambda n, p: n == "event", count=1200, timeout=30, what="1200 events of the flood")
        for attempt in range(ATTEMPTS):
            offset = observer.system_events()[-1000]["offset"]
            client = hub_client(main_gateway, principal.token, transport, offset=offset).connect()
            # Everything the observer has now was published by the time `connected` arrived: the
            # client must get all of it (replayed or live) — wait for that, bounded.
            expected = [e for e in observer.system_events() if e["offset"] > offset]
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and not set(ids(expected)) <= set(ids(client.system_events())):
                time.sleep(0.05)
            client.close()
            names = [n for n, _ in client.received if n != "ping"]
            got = client.system_events()
            trouble = []
            if names[0] != "connected":
                trouble.append(f"{names.index('connected')} event(s) before `connected`")
            if client.events("connected")[0]["recovered"] is not True:
                trouble.append("recovered is false")
            if len(set(ids(got))) != len(got):
                trouble.append(f"{len(got) - len(set(ids(got)))} duplicate(s)")
            offsets = [e["offset"] for e in got]
            if offsets != sorted(offsets):
                late = next(i for i in range(1, len(offsets)) if offsets[i] < offsets[i - 1])
                trouble.append(f"out of offset order at #{late}: ... {offsets[max(0, late - 2):late + 2]} ...")
            missing = set(ids(expected)) - set(ids(got))
            if missing:
                trouble.append(f"{len(missing)} of {len(expected)} event(s) missing after 20 s")
            if trouble:
                problems.append(f"attempt {attempt} (offset {offset}, {len(got)} events): " + "; ".join(trouble))
    assert not flood.errors, flood.errors[:3]
    assert not problems, (f"{len(problems)} of {ATTEMPTS} reconnects under load went wrong:\n"
                          + "\n".join(problems))


def test_message_within_max_payload_is_accepted(main_gateway, new_principal, hub_client, transport):
    """max_payload (1,000,000 bytes by default, announced in the handshake) bounds a WebSocket
    message or polling body; a 20 kB event is well within it and gets its answer."""
    principal = new_principal(main_gateway)
    client = connected(hub_client, main_gateway, principal, transport)
    room = "r" * 20_000
    answer = client.call("subscribe", room, timeout=10)
    assert answer.get("code") == "invalid_room" and answer.get("room") == room, str(answer)[:200]
    assert client.connected, f"disconnected: {client.disconnects}"


# ---------------------------------------------------------------------------------------------
# /health


def test_health_hub_counts(main_gateway, new_principal, hub_client):
    first_org = new_principal(main_gateway)
    second_org = new_principal(main_gateway)
    a = connected(hub_client, main_gateway, first_org, "websocket")
    b = connected(hub_client, main_gateway, first_org, "polling")
    c = connected(hub_client, main_gateway, second_org, "polling")
    hub = main_gateway.health()["hub"]
    assert set(hub) == {"connections", "connectionsPerOrganization"}, hub
    assert hub["connectionsPerOrganization"].get(first_org.org) == 2, hub
    assert hub["connectionsPerOrganization"].get(second_org.org) == 1, hub
    assert hub["connections"] >= sum(hub["connectionsPerOrganization"].values()), hub
    before = hub["connections"]
    a.close()
    eventually(lambda: main_gateway.health()["hub"]["connectionsPerOrganization"].get(first_org.org) == 1,
               timeout=5, what="one connection fewer")
    b.close()
    c.close()
    eventually(lambda: not ({first_org.org, second_org.org}
                            & set(main_gateway.health()["hub"]["connectionsPerOrganization"])),
               timeout=5, what="both organizations to have no connection",
               last=lambda: main_gateway.health()["hub"])
    assert main_gateway.health()["hub"]["connections"] <= before - 3
