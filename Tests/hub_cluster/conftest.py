"""Fixtures of the hub's cluster tests: a real redis-server (Debian's) on a free loopback port and
three gateway processes (A, B, C) sharing it through `hub.redis.url`, each with its own SQLite
(a message entering A through its loopback plugin is stored in A and reaches B and C through
Redis). The cluster's cap is 3 connections per organization; tests use fresh organizations.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "hub"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))

from hub_harness import GatewayProcess, HubClient, gateway_binary  # noqa: E402
from redis_process import RedisProcess  # noqa: E402

CAP = 3


def cluster_hub(redis: RedisProcess) -> dict:
    return {"max_connections_per_org": CAP, "redis": {"url": redis.url}}


_LOG_OFFSETS_KEY = pytest.StashKey[dict]()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    item.stash[_LOG_OFFSETS_KEY] = {id(g): g.log_size() for g in GatewayProcess.running}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed and report.when in ("setup", "call"):
        offsets = item.stash.get(_LOG_OFFSETS_KEY, {})
        for gateway in list(GatewayProcess.running):
            since = offsets.get(id(gateway), 0)
            state = "running" if gateway.alive() else f"exited ({gateway.proc.returncode})"
            report.sections.append(
                (f"gateway '{gateway.name}' output during this test [{state}]", gateway.log_tail(60, since=since)))


@pytest.fixture(scope="session")
def gateway_bin():
    return gateway_binary()


@pytest.fixture(scope="session")
def redis(tmp_path_factory):
    server = RedisProcess(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def cluster(tmp_path_factory, gateway_bin, redis):
    """Gateways A, B and C on one Redis."""
    gateways = []
    try:
        for name in ("A", "B", "C"):
            gateways.append(GatewayProcess(name, tmp_path_factory.mktemp(name), gateway_bin, cluster_hub(redis)).start())
        yield gateways
    finally:
        for gateway in gateways:
            gateway.stop()


@pytest.fixture(scope="session")
def shared_store_cluster(tmp_path_factory, gateway_bin, redis):
    """Gateways P and Q on one Redis and one PostgreSQL database (the shared store: each knows the
    chats and accounts that entered through the other)."""
    from postgres_server import server as postgres  # noqa: PLC0415 - only this fixture needs PostgreSQL

    url = postgres().create_database("hubcluster")
    gateways = []
    try:
        for name in ("P", "Q"):
            gateway = GatewayProcess(name, tmp_path_factory.mktemp(name), gateway_bin, cluster_hub(redis))
            gateway.config["storage"] = {"postgres": {"url": url}}
            gateways.append(gateway.start())
        yield gateways
    finally:
        for gateway in gateways:
            gateway.stop()


@pytest.fixture
def extra_gateway(tmp_path_factory, gateway_bin, redis):
    """`extra_gateway(name)`: one more cluster member, stopped after the test."""
    made = []

    def make(name):
        gateway = GatewayProcess(name, tmp_path_factory.mktemp(name), gateway_bin, cluster_hub(redis)).start()
        made.append(gateway)
        return gateway

    yield make
    for gateway in made:
        gateway.stop()


@pytest.fixture
def hub_client():
    made: list[HubClient] = []

    def make(gateway, token, transport="websocket", **kw):
        client = HubClient(gateway, token, transport, **kw)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()
