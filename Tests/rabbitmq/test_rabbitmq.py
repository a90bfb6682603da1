"""RabbitMQ publishing through the transactional outbox: a real gateway (loopback plugin) and a
real broker from Debian's package; pika reads what arrived. Every event must arrive at least once
(deduplicated by message_id) across broker outages and a gateway killed with SIGKILL."""

from __future__ import annotations

import json
import subprocess
import time

import pytest
import requests

from conftest import EXCHANGE, rabbit_config
from gateway_harness import assert_schema, client_for, eventually, unique
from postgres_server import server as postgres_server


def send_texts(client, account: dict, chat: str, texts: list[str]) -> dict[str, str]:
    """Sends each text through the REST API; returns text → the API's message id."""
    ids = {}
    for text in texts:
        reply = client.send(account, chat, text)
        ids[text] = reply.json["id"]
    return ids


def covers(sent: dict[str, str]):
    """A predicate: every sent message has its MESSAGE_SENT (same message id) and the loopback
    echo's MESSAGE_RECEIVED among the deduplicated events."""

    def check(events: dict[str, dict]) -> bool:
        sent_ids = {d["event"]["data"]["id"] for d in events.values() if d["type"] == "MESSAGE_SENT"}
        echoes = {d["event"]["data"].get("content") for d in events.values() if d["type"] == "MESSAGE_RECEIVED"}
        return all(message_id in sent_ids for message_id in sent.values()) and all(
            f"echo: {text}" in echoes for text in sent)

    return check


def rabbit_health(gateway) -> dict:
    return gateway.health()["rabbitmq"]


def wait_outbox_empty(gateway, timeout: float = 30) -> dict:
    return eventually(
        lambda: (lambda h: h if h["status"] == "connected" and h["outboxBacklog"] == 0 else None)(rabbit_health(gateway)),
        timeout=timeout, what="the outbox to be published", last=lambda: rabbit_health(gateway))


def test_events_arrive_with_their_properties(running_broker, make_gateway, consumer):
    queue = consumer()
    gateway = make_gateway("props", running_broker.url)
    client = client_for(gateway, unique("org"))
    account = client.connect_loopback()
    sent = send_texts(client, account, "chat-1", [f"hello {i}" for i in range(5)])

    events = queue.wait_for(covers(sent), what="the sends and their echoes")
    connected = [d for d in events.values() if d["type"] == "BD_ACCOUNT_CONNECTED"]
    assert connected and connected[0]["event"]["data"]["id"] == account["id"]
    for delivery in events.values():
        event = delivery["event"]
        assert delivery["message_id"] == event["id"]
        assert delivery["type"] == event["type"]
        assert delivery["routing_key"] == f"events.{event['type']}"
        assert delivery["content_type"] == "application/json"
        assert delivery["delivery_mode"] == 2
        assert delivery["headers"].get("organizationId") == client.org == event["organizationId"]
        assert isinstance(delivery["timestamp"], int) and abs(delivery["timestamp"] - time.time()) < 600
    for text, message_id in sent.items():
        [sent_event] = [d["event"] for d in events.values()
                        if d["type"] == "MESSAGE_SENT" and d["event"]["data"]["id"] == message_id]
        assert sent_event["data"]["content"] == text and sent_event["data"]["status"] == "sent"
    health = wait_outbox_empty(gateway)
    assert health["exchange"] == EXCHANGE and health["published"] >= len(events)
    assert_schema(gateway.health(), "Health")
    assert "guest:***@" in health["url"]


def test_a_routing_key_binding_selects_event_types(running_broker, make_gateway, consumer):
    received_only = consumer("*.MESSAGE_RECEIVED")
    gateway = make_gateway("binding", running_broker.url)
    client = client_for(gateway, unique("org"))
    account = client.connect_loopback()
    sent = send_texts(client, account, "chat-b", ["one", "two"])
    events = received_only.wait_for(
        lambda e: {d["event"]["data"].get("content") for d in e.values()} >= {"echo: one", "echo: two"},
        what="the echoes")
    assert {d["type"] for d in events.values()} == {"MESSAGE_RECEIVED"}
    assert sent


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_broker_restart_loses_nothing(store, running_broker, make_gateway, consumer):
    queue = consumer()
    storage = {"postgres": {"url": postgres_server().create_database("rabbit")}} if store == "postgres" else None
    gateway = make_gateway(f"restart-{store}", running_broker.url, storage)
    client = client_for(gateway, unique("org"))
    account = client.connect_loopback()
    before = send_texts(client, account, "chat-r", [f"before {i}" for i in range(10)])
    queue.wait_for(covers(before), what="events before the outage")

    running_broker.stop()
    during = send_texts(client, account, "chat-r", [f"during {i}" for i in range(20)])
    health = eventually(
        lambda: (lambda h: h if h["status"] == "unreachable" and h["outboxBacklog"] >= 40 else None)(rabbit_health(gateway)),
        timeout=30, what="the outage in /health", last=lambda: rabbit_health(gateway))
    assert gateway.health()["status"] == "degraded"
    assert health["lastError"]
    # The gateway keeps serving: messages are stored and listed while the broker is away.
    assert len(client.all_messages(chatId="chat-r")) == 60

    running_broker.start()
    after = send_texts(client, account, "chat-r", [f"after {i}" for i in range(5)])
    wait_outbox_empty(gateway, timeout=60)
    events = queue.wait_for(covers({**before, **during, **after}), timeout=30, what="every event after the restart")
    assert len([d for d in events.values() if d["type"] == "MESSAGE_SENT"]) == 35
    assert gateway.health()["status"] == "ok"
    log = gateway.log_text()
    assert log.count("RabbitMQ at") >= 2 and "reconnected after" in log
    # The outage is logged once (then every 30 s), not once per attempt.
    assert log.count("events stay in the outbox") == 1
    assert "reading the store failed" not in log


def test_outbox_survives_sigkill_while_the_broker_is_down(running_broker, make_gateway, consumer):
    queue = consumer()
    gateway = make_gateway("sigkill", running_broker.url)
    client = client_for(gateway, unique("org"))
    account = client.connect_loopback()
    running_broker.stop()
    sent = send_texts(client, account, "chat-k", [f"kill {i}" for i in range(10)])
    # Both events of each send are committed (MESSAGE_SENT with the API's write, the echo with the
    # pipeline's batch) before the process dies.
    eventually(lambda: rabbit_health(gateway)["outboxBacklog"] >= 20, timeout=20, what="the outbox to fill",
               last=lambda: rabbit_health(gateway))
    gateway.proc.kill()
    gateway.proc.wait(timeout=10)

    gateway.start()  # the same work directory and store; the broker is still down
    assert rabbit_health(gateway)["status"] == "unreachable"
    running_broker.start()
    wait_outbox_empty(gateway, timeout=60)
    queue.wait_for(covers(sent), timeout=30, what="the events written before SIGKILL")


def test_a_malformed_url_stops_the_start(tmp_path, gateway_bin):
    cases = [("http://127.0.0.1:5672", "unsupported scheme"), ("amqp://127.0.0.1:99999/", "bad port"),
             ("amqps://broker.example/", "amqps://"), ("amqp://guest:secret-pw@/", "no host"),
             ("amqp://guest:guest@127.0.0.1/a/b", "bad vhost")]
    for url, words in cases:
        path = tmp_path / "gateway.yaml"
        path.write_text(json.dumps(rabbit_config(tmp_path, gateway_bin, url)))
        result = subprocess.run([str(gateway_bin), "serve", "--config", str(path), "--port", "0"],
                                capture_output=True, text=True, timeout=60, cwd=tmp_path)
        output = result.stdout + result.stderr
        assert result.returncode != 0, output
        assert "bus.rabbitmq.url" in output and words in output, output
        assert "secret-pw" not in output, output


def test_an_unreachable_broker_does_not_stop_the_start(make_gateway, tmp_path):
    from gateway_harness import free_port
    gateway = make_gateway("unreachable", f"amqp://guest:guest@127.0.0.1:{free_port()}/%2f")
    client = client_for(gateway, unique("org"))
    account = client.connect_loopback()
    send_texts(client, account, "chat-u", ["stays in the outbox"])
    health = eventually(lambda: (lambda h: h if h["outboxBacklog"] >= 2 else None)(rabbit_health(gateway)),
                        timeout=20, what="the outbox to hold the events", last=lambda: rabbit_health(gateway))
    assert health["status"] == "unreachable" and "cannot connect" in health["lastError"]
    assert_schema(gateway.health(), "Health")
    assert requests.get(f"{gateway.base_url}/health", timeout=5).json()["status"] == "degraded"


def test_two_gateways_on_one_postgres_database_publish_everything_once(running_broker, make_gateway, consumer):
    """Both instances write to one outbox; one publishes at a time (the advisory lock), so every
    event arrives and, with the broker up all along, none twice."""
    queue = consumer()
    url = postgres_server().create_database("rabbit2")
    first = make_gateway("pg-a", running_broker.url, {"postgres": {"url": url}})
    second = make_gateway("pg-b", running_broker.url, {"postgres": {"url": url}})
    sent = {}
    for gateway in (first, second):
        client = client_for(gateway, unique("org"))
        account = client.connect_loopback()
        sent.update(send_texts(client, account, f"chat-{gateway.name}", [f"{gateway.name} {i}" for i in range(15)]))
    wait_outbox_empty(first)
    wait_outbox_empty(second)
    events = queue.wait_for(covers(sent), what="the events of both instances")
    assert len([d for d in events.values() if d["type"] == "MESSAGE_SENT"]) == 30
    assert len(queue.deliveries) == len(events), "an event was published twice"
    published = rabbit_health(first)["published"] + rabbit_health(second)["published"]
    assert published == len(events)
