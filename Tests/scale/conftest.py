"""Fixtures of the scale-out suite: one PostgreSQL server, one redis-server and one
rabbitmq-server from Debian's packages for the session, and per test a cluster of three gateway
processes (A, B, C) on loopback sharing a fresh database, the Redis hub and the broker — cluster
mode: account leases of LEASE_SECONDS, renewed every third of that; every event is published to
RabbitMQ, where a pika consumer with a queue of its own collects them. The instances are named
A, B and C in the lease table (`cluster.instance_id`), so a lease row says which process drives
an account.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

_TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(_TESTS / "support"))
sys.path.insert(0, str(_TESTS / "hub"))
sys.path.insert(0, str(_TESTS / "telegram"))

from hub_harness import GatewayProcess, HubClient, gateway_binary  # noqa: E402
from postgres_server import server as postgres_server  # noqa: E402
from rabbitmq_server import RabbitMQServer  # noqa: E402
from redis_process import RedisProcess  # noqa: E402

from bus_consumer import BusConsumer  # noqa: E402

from cluster import Cluster  # noqa: E402

_HERE = Path(__file__).resolve().parent
_LOG_OFFSETS_KEY = pytest.StashKey[dict]()


def _ours(item) -> bool:
    return Path(str(item.path)).resolve().parent == _HERE


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    if _ours(item):
        item.stash[_LOG_OFFSETS_KEY] = {id(g): g.log_size() for g in GatewayProcess.running}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed and report.when in ("setup", "call") and _ours(item):
        offsets = item.stash.get(_LOG_OFFSETS_KEY, {})
        for gateway in list(GatewayProcess.running) + list(Cluster.killed):
            state = "running" if gateway.alive() else f"exited ({gateway.proc.returncode})"
            report.sections.append((f"gateway '{gateway.name}' output during this test [{state}]",
                                    gateway.log_tail(120, since=offsets.get(id(gateway), 0))))


@pytest.fixture(scope="session")
def gateway_bin():
    return gateway_binary()


@pytest.fixture(scope="session")
def fake_dc_bin():
    from fake_dc import fake_dc_binary  # noqa: PLC0415 - Telethon is only needed by the Telegram test
    return fake_dc_binary()


@pytest.fixture(scope="session")
def postgres():
    return postgres_server()


@pytest.fixture(scope="session")
def redis(tmp_path_factory):
    server = RedisProcess(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def broker(tmp_path_factory):
    server = RabbitMQServer(tmp_path_factory.mktemp("rabbitmq")).start()
    yield server
    server.stop()


@pytest.fixture
def bus(broker):
    """A pika consumer bound to every event, made before the cluster publishes anything."""
    consumer = BusConsumer(broker.url)
    yield consumer
    consumer.close()


@pytest.fixture
def make_cluster(tmp_path, gateway_bin, postgres, redis, broker, bus):
    """`make_cluster(extra_plugins=[...])`: A, B and C on a fresh database; stopped after the test."""
    made: list[Cluster] = []

    def make(extra_plugins: list[dict] | None = None) -> Cluster:
        cluster = Cluster.start(tmp_path, gateway_bin, postgres, redis, broker.url, extra_plugins or [])
        made.append(cluster)
        return cluster

    yield make
    for cluster in made:
        cluster.stop()


@pytest.fixture
def hub_client():
    made: list[HubClient] = []

    def make(gateway, token, transport="websocket"):
        client = HubClient(gateway, token, transport)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()
