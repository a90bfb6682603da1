"""Property-based run of schemathesis against a live gateway, from docs/openapi.yaml.

Checks: not_a_server_error, status_code_conformance, response_schema_conformance; at most 50
examples per operation; the whole run is bounded (schemathesis --max-time plus a hard subprocess
timeout). The gateway gets its own process (a crash here cannot take other tests with it) and its
own organization, seeded so that every list has data to check against the schemas.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import client_for, start_gateway
from gateway_harness import OPENAPI_PATH, eventually, make_token

FUZZ_ORG = "org-fuzz"
FUZZ_ACCOUNT = "fuzz-acc"
MAX_EXAMPLES = 50
MAX_TIME = 240  # seconds for schemathesis itself
HARD_TIMEOUT = MAX_TIME + 120

RUNNER = (
    "import sys; from schemathesis.cli import schemathesis; "
    "sys.argv[0] = 'schemathesis'; sys.exit(schemathesis())"
)


@pytest.fixture(scope="module")
def fuzz_gateway(tmp_path_factory, gateway_bin):
    gateway = start_gateway(
        "schemathesis", tmp_path_factory, gateway_bin,
        loopback_config={
            "accounts": [{"accountId": FUZZ_ACCOUNT, "organizationId": FUZZ_ORG}],
            "burst": {"accountId": FUZZ_ACCOUNT, "count": 40, "chats": 4},
        },
    )
    yield gateway
    gateway.stop()


@pytest.fixture(scope="module")
def seeded(fuzz_gateway):
    admin = client_for(fuzz_gateway, FUZZ_ORG, "admin")
    eventually(lambda: admin.messages(bdAccountId=FUZZ_ACCOUNT, page=1, limit=1)["pagination"]["total"] == 40,
               timeout=30, what="the fuzz organization's burst")
    account = admin.account(FUZZ_ACCOUNT)
    # Outbound messages (sent, with externalId and sentAt), echoes, a read chat, accounts in other states.
    for i in range(3):
        admin.send(account, "fuzz-chat", f"fuzz {i}", key=f"fuzz-key-{i}")
    admin.post("/api/messaging/chats/chat-0/mark-all-read", expect=200)
    awaiting = admin.connect({"platform": "loopback", "phoneNumber": "+15550009999",
                              "config": {"requireCode": True}}).json
    admin.wait_account_status(awaiting["id"], "awaiting_code")
    gone = admin.connect_loopback()
    admin.post(f"/api/bd-accounts/{gone['id']}/disconnect", expect=200)
    admin.connect({"platform": "c-echo"})
    return admin


def test_schemathesis(fuzz_gateway, seeded, tmp_path):
    if not OPENAPI_PATH.is_file():
        pytest.fail(f"{OPENAPI_PATH} is missing", pytrace=False)
    try:
        import schemathesis  # noqa: F401
    except ImportError:
        pytest.fail("schemathesis is not installed: pip install -r Tests/api/requirements.txt", pytrace=False)
    token = make_token(FUZZ_ORG, "admin", sub="fuzzer", exp_in=3 * 3600)
    command = [
        sys.executable, "-c", RUNNER, "run", str(OPENAPI_PATH),
        "--url", fuzz_gateway.base_url,
        "--header", f"Authorization: Bearer {token}",
        "--checks", "not_a_server_error,status_code_conformance,response_schema_conformance",
        "--max-examples", str(MAX_EXAMPLES),
        "--max-time", str(MAX_TIME),
        "--phases", "examples,coverage,fuzzing",
        "--request-timeout", "10",
        "--workers", "1",
        "--seed", "20240501",
        "--generation-database", "none",
        "--generation-with-security-parameters", "false",
        "--no-shrink",
        "--no-color",
        "--report", "junit",
        "--report-dir", str(tmp_path / "report"),
    ]
    try:
        result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=HARD_TIMEOUT,
                                stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as error:
        output = (error.stdout or b"")
        if isinstance(output, bytes):
            output = output.decode(errors="replace")
        pytest.fail(f"schemathesis did not finish within {HARD_TIMEOUT} s\n{output[-20000:]}", pytrace=False)
    output = result.stdout + result.stderr
    print(output[-20000:])
    assert fuzz_gateway.alive(), "the gateway died during the schemathesis run"
    if result.returncode != 0:
        pytest.fail(f"schemathesis found problems (exit {result.returncode}):\n{output[-20000:]}", pytrace=False)
