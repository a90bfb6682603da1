"""A pika consumer for the scale-out suite: a durable queue of its own bound to the gateways'
exchange with `events.#`, created before the events it must see; collects every delivery."""

from __future__ import annotations

import json
import time
import uuid

import pika

EXCHANGE = "channel-gateway.events"
PUBLISH_EVERYTHING = [{"name": "everything", "match": {}, "to": ["store", "hub", {"publish": "events"}]}]


class BusConsumer:
    def __init__(self, url: str):
        self.url = url
        self.queue = f"scale-{uuid.uuid4().hex[:12]}"
        self.deliveries: list[dict] = []
        params = pika.URLParameters(url)
        params.socket_timeout = 5
        params.blocked_connection_timeout = 10
        self.connection = pika.BlockingConnection(params)
        self.channel = self.connection.channel()
        self.channel.exchange_declare(EXCHANGE, exchange_type="topic", durable=True)
        self.channel.queue_declare(self.queue, durable=True)
        self.channel.queue_bind(self.queue, EXCHANGE, routing_key="events.#")

    def drain(self) -> list[dict]:
        while True:
            method, properties, body = self.channel.basic_get(self.queue, auto_ack=True)
            if method is None:
                return self.deliveries
            self.deliveries.append({"message_id": properties.message_id, "type": properties.type,
                                    "routing_key": method.routing_key, "event": json.loads(body)})

    def received_external_ids(self, account_id: str) -> set[str]:
        return {d["event"]["data"].get("externalId") for d in self.drain()
                if d["type"] == "MESSAGE_RECEIVED" and d["event"]["data"].get("accountId", d["event"]["data"].get("bdAccountId")) == account_id}

    def wait_for(self, predicate, timeout: float = 30, what: str = "events") -> list[dict]:
        deadline = time.monotonic() + timeout
        while not predicate(self.drain()):
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout} s waiting for {what} on RabbitMQ; "
                                     f"have {len(self.deliveries)} deliveries")
            time.sleep(0.2)
        return self.deliveries

    def assert_ids(self) -> None:
        """Every delivery carries its event's id as message_id, and the event type as type."""
        for delivery in self.drain():
            event = delivery["event"]
            assert delivery["message_id"] == event["id"] and delivery["type"] == event["type"], delivery
            assert delivery["routing_key"] == f"events.{event['type']}", delivery

    def close(self) -> None:
        try:
            if self.connection.is_open:
                self.channel.queue_delete(self.queue)
                self.connection.close()
        except (pika.exceptions.AMQPError, OSError):
            pass
