"""Fixtures of the real-time hub tests: real gateway processes, principals (token + REST client)
and Socket.IO clients that are closed after each test.

Gateways (each a `gateway serve --config <tmp yaml> --port <free port>` on 127.0.0.1, with its own
SQLite file under a temporary directory, auth.jwt.secret = hub_harness.JWT_SECRET, plugins
loopback + c-echo by absolute path next to the binary, api.rate_limit_per_minute 100000):
- `main_gateway`: the hub's defaults (100 connections per org, 100 client events per minute,
  application ping every 30 s, ...) except the Engine.IO heartbeat: 5 s + 5 s (every gateway
  but the heartbeat one);
- `heartbeat_gateway`: short heartbeats (application ping every 300 ms, pong timeout 1 s,
  Engine.IO ping every 500 ms with a 500 ms timeout);
- `limits_gateway`: max_connections_per_org 3 and events_per_minute 10;
- `short_recovery_gateway`: recovery_window_seconds 2 and recovery_max_events 5.
Each one is started the first time a test asks for it and stopped (SIGTERM, then SIGKILL) at the
end of the session.
"""

from __future__ import annotations

import pytest

from hub_harness import GatewayProcess, HubClient, Principal, gateway_binary, unique

HEARTBEAT_HUB = {"app_ping_interval_ms": 300, "app_pong_timeout_ms": 1000, "ping_interval_ms": 500,
                 "ping_timeout_ms": 500}
LIMITS_HUB = {"max_connections_per_org": 3, "events_per_minute": 10}
SHORT_RECOVERY_HUB = {"recovery_window_seconds": 2, "recovery_max_events": 5}


# ---------------------------------------------------------------------------------------------
# Gateway output on failure

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
                (f"gateway '{gateway.name}' output during this test [{state}]", gateway.log_tail(80, since=since)))


# ---------------------------------------------------------------------------------------------
# Gateways


@pytest.fixture(scope="session")
def gateway_bin():
    return gateway_binary()


def _gateway(name, tmp_path_factory, binary, hub=None):
    gateway = GatewayProcess(name, tmp_path_factory.mktemp(name), binary, hub).start()
    return gateway


@pytest.fixture(scope="session")
def main_gateway(tmp_path_factory, gateway_bin):
    gateway = _gateway("main", tmp_path_factory, gateway_bin)
    yield gateway
    gateway.stop()


@pytest.fixture(scope="session")
def heartbeat_gateway(tmp_path_factory, gateway_bin):
    gateway = _gateway("heartbeat", tmp_path_factory, gateway_bin, HEARTBEAT_HUB)
    yield gateway
    gateway.stop()


@pytest.fixture(scope="session")
def limits_gateway(tmp_path_factory, gateway_bin):
    gateway = _gateway("limits", tmp_path_factory, gateway_bin, LIMITS_HUB)
    yield gateway
    gateway.stop()


@pytest.fixture(scope="session")
def short_recovery_gateway(tmp_path_factory, gateway_bin):
    gateway = _gateway("short-recovery", tmp_path_factory, gateway_bin, SHORT_RECOVERY_HUB)
    yield gateway
    gateway.stop()


# ---------------------------------------------------------------------------------------------
# Principals and clients


@pytest.fixture
def new_principal():
    """`new_principal(gateway, org=None, role="admin", user=None)`: a user of a fresh (or the given)
    organization with its token and a REST client."""

    def make(gateway, org=None, role="admin", user=None):
        return Principal(gateway, org or unique("org"), role, user)

    return make


@pytest.fixture
def hub_client():
    """`hub_client(gateway, token, transport, **kw)`: an unconnected HubClient, closed after the test."""
    made: list[HubClient] = []

    def make(gateway, token, transport, **kw):
        client = HubClient(gateway, token, transport, **kw)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()
