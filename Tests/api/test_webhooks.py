"""Webhook route actions: event JSON, signature headers, retries with backoff, kept failures and
replay. A local receiver (127.0.0.1) exists before its gateway starts; routes:

1. chat wh-flaky-*  -> /flaky (500, 500, then 200 for each event), retries 3, continue
2. chat wh-dead-*   -> /dead  (500 until the test heals it), retries 2 (attempts in all), continue
3. channel loopback -> /hook  (200), retries 3, continue
4. everything       -> store, hub
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from gateway_harness import (
    assert_error_shape,
    assert_iso_ms,
    assert_schema,
    client_for,
    eventually,
    free_port,
    start_gateway,
    unique,
)

SECRET = "webhook-signing-secret-for-tests"
ORG = "org-wh"
OTHER_ORG = "org-wh-other"
DECLARED_ACCOUNT = "wh-acc"
FLAKY_CHAT = "wh-flaky-1"
DEAD_CHAT = "wh-dead-1"
EVENT_TYPES = {"MESSAGE_RECEIVED", "MESSAGE_SENT", "MESSAGE_STATUS", "BD_ACCOUNT_CONNECTED", "BD_ACCOUNT_DISCONNECTED",
               "BD_ACCOUNT_STATUS"}


class Receiver:
    """Records every delivery; answers by path."""

    def __init__(self):
        self.lock = threading.Lock()
        self.deliveries: list[dict] = []
        self.dead_healthy = False
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    event = json.loads(raw)
                except ValueError:
                    event = None
                event_id = event.get("id") if isinstance(event, dict) else None
                with receiver.lock:
                    earlier = [d for d in receiver.deliveries if d["path"] == self.path and d["eventId"] == event_id]
                    if self.path == "/flaky":
                        status = 500 if len(earlier) < 2 else 200
                    elif self.path == "/dead":
                        status = 200 if receiver.dead_healthy else 500
                    else:
                        status = 200
                    receiver.deliveries.append({
                        "path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "raw": raw,
                        "event": event, "eventId": event_id, "status": status, "at": time.time(),
                    })
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def find(self, path: str | None = None, **match) -> list[dict]:
        with self.lock:
            found = list(self.deliveries)
        if path is not None:
            found = [d for d in found if d["path"] == path]
        for key, value in match.items():
            found = [d for d in found if isinstance(d["event"], dict) and d["event"].get(key) == value]
        return found

    def for_chat(self, path: str, chat: str, event_type: str | None = None) -> list[dict]:
        out = []
        for delivery in self.find(path):
            event = delivery["event"] or {}
            data = event.get("data") if isinstance(event.get("data"), dict) else {}
            if data.get("chatId") == chat and (event_type is None or event.get("type") == event_type):
                out.append(delivery)
        return out

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.close()


@pytest.fixture(scope="module")
def webhook_gateway(tmp_path_factory, api_gateway_bin, receiver):
    routes = [
        {"name": "flaky", "match": {"channel": "loopback", "chat": [FLAKY_CHAT]},
         "to": [{"webhook": {"url": f"{receiver.url}/flaky", "secret": SECRET, "retries": 3}}], "continue": True},
        {"name": "dead", "match": {"channel": "loopback", "chat": [DEAD_CHAT]},
         "to": [{"webhook": {"url": f"{receiver.url}/dead", "secret": SECRET, "retries": 2}}], "continue": True},
        {"name": "hook", "match": {"channel": "loopback"},
         "to": [{"webhook": {"url": f"{receiver.url}/hook", "secret": SECRET, "retries": 3}}], "continue": True},
        {"name": "everything", "match": {}, "to": ["store", "hub"]},
    ]
    gateway = start_gateway(
        "webhooks", tmp_path_factory, api_gateway_bin, routes=routes,
        loopback_config={"accounts": [{"accountId": DECLARED_ACCOUNT, "organizationId": ORG}]},
    )
    yield gateway
    gateway.stop()


@pytest.fixture(scope="module")
def admin(webhook_gateway):
    client = client_for(webhook_gateway, ORG, "admin")
    client.wait_account_status(DECLARED_ACCOUNT, "connected", timeout=20)
    return client


@pytest.fixture(scope="module")
def account(admin):
    return admin.account(DECLARED_ACCOUNT)


def check_signed(delivery: dict) -> None:
    headers = delivery["headers"]
    event = delivery["event"]
    assert isinstance(event, dict), delivery["raw"][:300]
    assert headers.get("content-type", "").startswith("application/json"), headers
    assert headers.get("x-gateway-event") == event["type"], headers
    assert headers.get("x-gateway-delivery"), headers
    timestamp = headers.get("x-gateway-timestamp", "")
    assert timestamp.isdigit(), f"X-Gateway-Timestamp is not Unix seconds: {timestamp!r}"
    assert abs(int(timestamp) - time.time()) < 600, timestamp
    expected = "sha256=" + hmac.new(SECRET.encode(), f"{timestamp}.".encode() + delivery["raw"], hashlib.sha256).hexdigest()
    assert headers.get("x-gateway-signature") == expected, (headers.get("x-gateway-signature"), expected)


def check_event(event: dict) -> None:
    assert set(event) >= {"id", "type", "organizationId", "data", "timestamp"}, event
    assert event["type"] in EVENT_TYPES
    assert event["organizationId"] == ORG
    assert isinstance(event["data"], dict)
    assert isinstance(event["id"], str) and event["id"]
    assert_iso_ms(event["timestamp"], "event timestamp")


def test_events_are_posted_signed(receiver, admin, account):
    chat = unique("wh-plain")
    sent = admin.send(account, chat, "hello hooks").json
    received = eventually(lambda: receiver.for_chat("/hook", chat, "MESSAGE_RECEIVED"),
                          what="the echo's MESSAGE_RECEIVED delivery", last=lambda: receiver.find("/hook")[-5:])
    sent_events = eventually(lambda: receiver.for_chat("/hook", chat, "MESSAGE_SENT"),
                             what="the MESSAGE_SENT delivery", last=lambda: receiver.find("/hook")[-5:])
    for delivery in received + sent_events:
        check_signed(delivery)
        check_event(delivery["event"])
        assert delivery["event"]["data"]["chatId"] == chat
    assert "echo: hello hooks" in received[0]["raw"].decode()
    assert sent["externalId"] in sent_events[0]["raw"].decode() or "hello hooks" in sent_events[0]["raw"].decode()
    # One delivery per event on a receiver that answers 200 at once.
    time.sleep(0.5)
    assert len(receiver.for_chat("/hook", chat, "MESSAGE_RECEIVED")) == 1
    deliveries = {d["headers"]["x-gateway-delivery"] for d in receiver.for_chat("/hook", chat)}
    assert len(deliveries) == len({d["eventId"] for d in receiver.for_chat("/hook", chat)}), "delivery ids repeat"


def test_account_events_are_delivered(receiver, admin):
    deliveries = eventually(
        lambda: [d for d in receiver.find("/hook")
                 if (d["event"] or {}).get("type", "").startswith("BD_ACCOUNT")
                 and (d["event"].get("data") or {}).get("id") == DECLARED_ACCOUNT],
        what="a BD_ACCOUNT_* delivery for the declared account",
    )
    check_signed(deliveries[0])
    check_event(deliveries[0]["event"])


def test_flaky_receiver_gets_three_attempts(receiver, admin, account):
    admin.send(account, FLAKY_CHAT, "flaky")
    eventually(lambda: [d for d in receiver.for_chat("/flaky", FLAKY_CHAT, "MESSAGE_RECEIVED") if d["status"] == 200],
               timeout=15, what="the flaky receiver to accept the echo event",
               last=lambda: [(d["eventId"], d["status"]) for d in receiver.find("/flaky")])
    time.sleep(1.0)  # no further attempts may follow a 200
    by_event: dict[str, list[dict]] = {}
    for delivery in receiver.find("/flaky"):
        by_event.setdefault(delivery["eventId"], []).append(delivery)
    assert by_event
    for event_id, attempts in by_event.items():
        if any(d["status"] == 200 for d in attempts):
            assert [d["status"] for d in attempts] == [500, 500, 200], (event_id, [d["status"] for d in attempts])
        for delivery in attempts:
            check_signed(delivery)
        # Backoff: the attempts are spaced out and in order.
        times = [d["at"] for d in attempts]
        assert times == sorted(times)
    failures = admin.get("/api/webhooks/failures", expect=200).json["failures"]
    assert not [f for f in failures if f["url"].endswith("/flaky")], "a delivery that succeeded on retry is a failure"
    # The webhook's failures never keep messages out of the store.
    assert len(admin.all_messages(chatId=FLAKY_CHAT)) == 2


def test_failures_are_kept_and_replayed(receiver, admin, account, webhook_gateway):
    admin.send(account, DEAD_CHAT, "dead letter")
    failures = eventually(
        lambda: [f for f in admin.get("/api/webhooks/failures", expect=200).json["failures"] if f["url"].endswith("/dead")
                 and f["eventType"] == "MESSAGE_RECEIVED"],
        timeout=20, what="the dead receiver's delivery among the failures",
        last=lambda: admin.get("/api/webhooks/failures").json,
    )
    failure = failures[0]
    assert_schema(failure, "WebhookFailure")
    assert failure["url"] == f"{receiver.url}/dead"
    assert failure["lastError"]
    assert_iso_ms(failure["failedAt"], "failedAt")
    attempts = [d for d in receiver.find("/dead") if d["eventId"] == failure["eventId"]]
    assert len(attempts) == failure["attempts"], (len(attempts), failure)
    assert failure["attempts"] == 2, "retries: 2 means 2 attempts in all (docs/CONFIG.md)"
    assert all(d["status"] == 500 for d in attempts)
    assert len(admin.all_messages(chatId=DEAD_CHAT)) == 2, "the failing webhook kept messages out of the store"

    # Other organizations and other roles do not see it.
    other = client_for(webhook_gateway, OTHER_ORG, "admin")
    assert failure["id"] not in {f["id"] for f in other.get("/api/webhooks/failures", expect=200).json["failures"]}
    assert_error_shape(other.post(f"/api/webhooks/failures/{failure['id']}/replay", expect=404), "not_found")
    member = client_for(webhook_gateway, ORG, "agent")
    assert_error_shape(member.get("/api/webhooks/failures", expect=403), "forbidden")
    assert_error_shape(member.post(f"/api/webhooks/failures/{failure['id']}/replay", expect=403), "forbidden")
    assert len([d for d in receiver.find("/dead") if d["eventId"] == failure["eventId"]]) == len(attempts)

    # Heal the receiver and replay: delivered again, the same event.
    with receiver.lock:
        receiver.dead_healthy = True
    reply = admin.post(f"/api/webhooks/failures/{failure['id']}/replay", expect=202).json
    assert reply == {"replayed": True}
    redelivered = eventually(
        lambda: [d for d in receiver.find("/dead") if d["eventId"] == failure["eventId"] and d["status"] == 200],
        timeout=15, what="the replayed delivery",
    )
    assert len(redelivered) == 1
    check_signed(redelivered[0])
    assert redelivered[0]["event"]["type"] == "MESSAGE_RECEIVED"
    assert redelivered[0]["event"] == attempts[0]["event"]


def test_replay_unknown_failure_is_404(admin):
    assert_error_shape(admin.post(f"/api/webhooks/failures/{unique('nope')}/replay", expect=404), "not_found")


def test_failures_list_shape(admin):
    failures = admin.get("/api/webhooks/failures", expect=200).json
    assert set(failures) >= {"failures"}
    for failure in failures["failures"]:
        assert_schema(failure, "WebhookFailure")

