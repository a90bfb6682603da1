"""Fixtures of the console suite: a real gateway (loopback plugin, SQLite in a temporary
directory), tokens, and a headless Chromium per test; screenshots go to CONSOLE_SCREENSHOTS
(default .build/console-screenshots) so a person can look at what the tests saw."""

from __future__ import annotations

import os
import sys
import time
import uuid
from pathlib import Path

import jwt
import pytest
import requests

_TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(_TESTS / "support"))
from gateway_process import GatewayProcess, gateway_binary  # noqa: E402

from browser import console_errors, start_browser  # noqa: E402

REPO = _TESTS.parent
JWT_SECRET = "console-tests-secret-0123456789-abcdefgh"
SCREENSHOTS = Path(os.environ.get("CONSOLE_SCREENSHOTS", REPO / ".build" / "console-screenshots"))
_HERE = Path(__file__).resolve().parent


def make_token(org: str, role: str = "admin", user: str | None = None, exp_in: int = 3600) -> str:
    now = int(time.time())
    user = user or f"{role}-{org}"
    return jwt.encode({"sub": user, "organizationId": org, "email": f"{user}@example.test", "role": role,
                       "iat": now, "exp": now + exp_in}, JWT_SECRET, algorithm="HS256")


def gateway_config(work: Path, binary: Path, plugins: list | None = None) -> dict:
    return {
        "version": 1,
        "server": {"host": "127.0.0.1", "cors_origin": "*", "body_limit": "64kb"},
        "auth": {"jwt": {"secret": JWT_SECRET}},
        "storage": {"sqlite": {"path": str(work / "gw.sqlite")}},
        "plugins": plugins or [{"name": "loopback", "path": str(binary.parent / "libLoopbackChannel.so")}],
        "routes": [{"name": "everything", "match": {}, "to": ["store", "hub"]}],
        "metrics": {"public": True},
        "logging": {"level": "info"},
    }


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed and report.when in ("setup", "call") and Path(str(item.path)).resolve().parent == _HERE:
        for gateway in list(GatewayProcess.running):
            report.sections.append((f"gateway '{gateway.name}' output", gateway.log_tail(80)))


@pytest.fixture(scope="module")
def console_gateway(tmp_path_factory):
    binary = gateway_binary()
    work = tmp_path_factory.mktemp("console-gateway")
    process = GatewayProcess("console", work, gateway_config(work, binary), binary).start()
    yield process
    process.stop()


@pytest.fixture
def org() -> str:
    return f"org-console-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def browser():
    driver = start_browser()
    yield driver
    errors = console_errors(driver)
    driver.quit()
    # A test that passed with JavaScript errors on the page did not really pass.
    assert not errors, f"the page logged errors: {errors}"


@pytest.fixture
def shots(request) -> Path:
    folder = SCREENSHOTS / request.node.name
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class Api:
    """The REST API as the test's own client (to set things up and to check what the console did)."""

    def __init__(self, gateway: GatewayProcess, token: str):
        self.base = gateway.base_url
        self.session = requests.Session()
        self.session.trust_env = False
        self.session.headers["Authorization"] = f"Bearer {token}"

    def get(self, path: str, **params) -> dict:
        response = self.session.get(self.base + path, params=params, timeout=10)
        assert response.status_code == 200, f"GET {path}: {response.status_code} {response.text[:500]}"
        return response.json()

    def post(self, path: str, body: dict, expect: int = 201) -> dict:
        response = self.session.post(self.base + path, json=body, timeout=10)
        assert response.status_code == expect, f"POST {path}: {response.status_code} {response.text[:500]}"
        return response.json() if response.content else {}
