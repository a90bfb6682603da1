"""Fixtures: real gateway processes (one per configuration), tokens and HTTP clients.

The main gateway is configured like this (see docs/CONFIG.md):
- SQLite under a temporary directory, HS256 secret JWT_SECRET, body limit 64 kB,
  api.rate_limit_per_minute 100000, webhooks.initial_backoff_ms 50;
- plugins loopback (declaring account `seed-acc` of organization `org-seed` and a burst of 300
  inbound messages over chats chat-0..chat-5) and c-echo;
- routes: everything to [store, hub].
Other gateways (small rate limit, RSA public key, issuer/audience, webhooks, schemathesis) are
started only by the tests that need them.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from gateway_harness import (
    SEED_ACCOUNT,
    SEED_CHATS,
    SEED_COUNT,
    SEED_ORG,
    Client,
    GatewayProcess,
    eventually,
    gateway_binary,
    make_token,
    start_gateway,
)

# `make test` collects Tests/api together with other suites that have their own conftest.py, and
# pytest may then treat this file's fixtures as global: test modules import helpers from
# gateway_harness (never from here), fixture names carry an `api` prefix, hooks act on our items.


# ---------------------------------------------------------------------------------------------
# Gateway output on failure


_LOG_OFFSETS_KEY = pytest.StashKey[dict]()


_HERE = Path(__file__).resolve().parent


def _ours(item) -> bool:
    """Hooks here may be seen by other suites collected in the same run: act on our items only."""
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
        for gateway in list(GatewayProcess.running):
            since = offsets.get(id(gateway), 0)
            state = "running" if gateway.alive() else f"exited ({gateway.proc.returncode})"
            report.sections.append(
                (f"gateway '{gateway.name}' output during this test [{state}]", gateway.log_tail(120, since=since))
            )


# ---------------------------------------------------------------------------------------------
# Gateways


@pytest.fixture(scope="session")
def api_gateway_bin() -> Path:
    return gateway_binary()


@pytest.fixture(scope="session")
def api_main_gateway(tmp_path_factory, api_gateway_bin):
    gateway = start_gateway(
        "main",
        tmp_path_factory,
        api_gateway_bin,
        loopback_config={
            "accounts": [{"accountId": SEED_ACCOUNT, "organizationId": SEED_ORG}],
            "burst": {"accountId": SEED_ACCOUNT, "count": SEED_COUNT, "chats": SEED_CHATS},
        },
    )
    yield gateway
    gateway.stop()


@pytest.fixture(scope="session")
def api(api_main_gateway) -> Client:
    """A client of the main gateway without a token."""
    return Client(api_main_gateway)


@pytest.fixture(scope="session")
def seed(api_main_gateway):
    """The main gateway's seed organization, once its 300 burst messages are stored."""
    client = Client(api_main_gateway, make_token(SEED_ORG, "admin"))

    def stored() -> bool:
        reply = client.get("/api/messaging/messages", params={"bdAccountId": SEED_ACCOUNT, "limit": 1, "page": 1})
        return reply.status == 200 and (reply.json.get("pagination") or {}).get("total") == SEED_COUNT

    eventually(
        stored, timeout=30, interval=0.25,
        what=f"the {SEED_COUNT} burst messages of {SEED_ACCOUNT} (org {SEED_ORG}) to be stored",
        last=lambda: client.get("/api/messaging/messages", params={"limit": 1, "page": 1}).text,
    )
    return client


@pytest.fixture
def org(api_main_gateway, request):
    """A fresh organization on the main gateway: an admin client (its org id is `.org`)."""
    name = f"org-{re.sub(r'[^A-Za-z0-9]+', '-', request.node.name)[:40]}-{time.monotonic_ns() % 10_000_000}"
    client = Client(api_main_gateway, make_token(name, "admin"))
    client.org = name  # type: ignore[attr-defined]
    return client
