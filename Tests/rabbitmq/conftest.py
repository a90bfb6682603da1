"""Fixtures of the RabbitMQ publishing tests: a throwaway broker from Debian's rabbitmq-server
(Tests/support/rabbitmq_server.py), gateways with the loopback plugin whose routes publish every
event (`publish: events`), and a pika consumer with a durable queue of its own bound to the
gateway's exchange.
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from pathlib import Path

import pika
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "api"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))

from gateway_harness import GatewayProcess, base_config, gateway_binary  # noqa: E402
from rabbitmq_server import RabbitMQServer  # noqa: E402

EXCHANGE = "channel-gateway.events"
PUBLISH_EVERYTHING = [{"name": "everything", "match": {}, "to": ["store", "hub", {"publish": "events"}]}]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed and report.when in ("setup", "call"):
        for gateway in list(GatewayProcess.running):
            report.sections.append((f"gateway '{gateway.name}' output", gateway.log_tail(60)))


@pytest.fixture(scope="session")
def gateway_bin():
    return gateway_binary()


@pytest.fixture(scope="session")
def broker(tmp_path_factory):
    server = RabbitMQServer(tmp_path_factory.mktemp("rabbitmq")).start()
    yield server
    server.stop()


@pytest.fixture
def running_broker(broker):
    """The session's broker, started again if a test left it stopped."""
    if not broker.alive():
        broker.start()
    return broker


def rabbit_config(work: Path, binary: Path, url: str, storage: dict | None = None) -> dict:
    config = base_config(work, binary, routes=PUBLISH_EVERYTHING)
    config["bus"] = {"rabbitmq": {"url": url, "exchange": EXCHANGE}}
    if storage is not None:
        config["storage"] = storage
    return config


@pytest.fixture
def make_gateway(tmp_path_factory, gateway_bin):
    made: list[GatewayProcess] = []

    def make(name: str, url: str, storage: dict | None = None) -> GatewayProcess:
        work = tmp_path_factory.mktemp(name)
        gateway = GatewayProcess(name, work, rabbit_config(work, gateway_bin, url, storage), gateway_bin).start()
        made.append(gateway)
        return gateway

    yield make
    for gateway in made:
        gateway.stop()


class Consumer:
    """A durable queue of its own bound to the exchange with `events.#`; collects every delivery
    (with its properties) and deduplicates by message_id the way a downstream consumer would."""

    def __init__(self, broker: RabbitMQServer, binding: str = "events.#"):
        self.broker = broker
        self.queue = f"test-{uuid.uuid4().hex[:12]}"
        self.binding = binding
        self.deliveries: list[dict] = []
        self.connection: pika.BlockingConnection | None = None
        self.channel = None
        self._open()

    def _open(self) -> None:
        params = pika.URLParameters(self.broker.url)
        params.socket_timeout = 5
        params.blocked_connection_timeout = 10
        self.connection = pika.BlockingConnection(params)
        self.channel = self.connection.channel()
        self.channel.exchange_declare(EXCHANGE, exchange_type="topic", durable=True)
        self.channel.queue_declare(self.queue, durable=True)
        self.channel.queue_bind(self.queue, EXCHANGE, routing_key=self.binding)

    def drain(self) -> None:
        """Takes what is in the queue now (reconnecting after a broker restart)."""
        for _attempt in range(2):
            try:
                if self.connection is None or self.connection.is_closed:
                    self._open()
                while True:
                    method, properties, body = self.channel.basic_get(self.queue, auto_ack=True)
                    if method is None:
                        return
                    self.deliveries.append({
                        "routing_key": method.routing_key, "message_id": properties.message_id,
                        "type": properties.type, "content_type": properties.content_type,
                        "delivery_mode": properties.delivery_mode, "headers": properties.headers or {},
                        "timestamp": properties.timestamp, "event": json.loads(body),
                    })
            except (pika.exceptions.AMQPError, OSError):
                self.connection = None
        raise AssertionError("could not read the consumer queue")

    def events(self) -> dict[str, dict]:
        """Deliveries deduplicated by message_id."""
        self.drain()
        unique: dict[str, dict] = {}
        for delivery in self.deliveries:
            unique.setdefault(delivery["message_id"], delivery)
        return unique

    def wait_for(self, predicate, timeout: float = 30, what: str = "events") -> dict[str, dict]:
        deadline = time.monotonic() + timeout
        while True:
            events = self.events()
            if predicate(events):
                return events
            if time.monotonic() > deadline:
                types = sorted(d["type"] + " " + str(d["event"]["data"].get("text", "")) for d in events.values())
                raise AssertionError(f"timed out waiting for {what}; have {len(events)}: {types}")
            time.sleep(0.2)

    def close(self) -> None:
        try:
            if self.connection is not None and self.connection.is_open:
                self.channel.queue_delete(self.queue)
                self.connection.close()
        except (pika.exceptions.AMQPError, OSError):
            pass


@pytest.fixture
def consumer(running_broker):
    made: list[Consumer] = []

    def make(binding: str = "events.#") -> Consumer:
        made.append(Consumer(running_broker, binding))
        return made[-1]

    yield make
    for item in made:
        item.close()
