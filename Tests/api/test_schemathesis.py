"""Property-based run of schemathesis against a live gateway, from docs/openapi.yaml.

Checks: not_a_server_error, status_code_conformance, response_schema_conformance; at most 50
examples per operation; the whole run is bounded by a hard subprocess timeout (schemathesis's own
--max-time would keep fuzzing until it is spent).

The gateway gets its own process (a crash here cannot take other tests with it) and its own
organization, seeded so that lists have data to check against the schemas. Operations that take
an account or message id get a real one (otherwise every case would only meet a 404).

API.md makes 502 `channel_error` and 503 `channel_unavailable` the answers of operations that go
through a channel (connect, code, password, dialogs, disconnect, send) when the channel fails or
no plugin serves the platform; for those operations only, not_a_server_error accepts 502 and 503
(status_code_conformance and response_schema_conformance still check them against the document).
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import pytest

from gateway_harness import OPENAPI_PATH, client_for, eventually, make_token, start_gateway

FUZZ_ORG = "org-fuzz"
# The document's examples name `seed-acc`: here it is the fuzz organization's declared account.
FUZZ_ACCOUNT = "seed-acc"
MAX_EXAMPLES = 50
HARD_TIMEOUT = 420  # seconds for the whole schemathesis run

CHANNEL_OPERATIONS_OK = ["2xx", "3xx", "4xx", "502", "503"]

RUNNER = (
    "import sys; from schemathesis.cli import schemathesis; "
    "sys.argv[0] = 'schemathesis'; sys.exit(schemathesis())"
)


@pytest.fixture(scope="module")
def fuzz_gateway(tmp_path_factory, api_gateway_bin):
    gateway = start_gateway(
        "schemathesis", tmp_path_factory, api_gateway_bin,
        loopback_config={
            "accounts": [{"accountId": FUZZ_ACCOUNT, "organizationId": FUZZ_ORG}],
            "burst": {"accountId": FUZZ_ACCOUNT, "count": 40, "chats": 4},
        },
    )
    yield gateway
    gateway.stop()


@pytest.fixture(scope="module")
def seeded(fuzz_gateway):
    """Data in every state the schemas describe; returns the ids the run should use."""
    admin = client_for(fuzz_gateway, FUZZ_ORG, "admin")
    eventually(lambda: admin.messages(bdAccountId=FUZZ_ACCOUNT, page=1, limit=1)["pagination"]["total"] == 40,
               timeout=30, what="the fuzz organization's burst")
    account = admin.account(FUZZ_ACCOUNT)
    sent = [admin.send(account, "fuzz-chat", f"fuzz {i}", key=f"fuzz-key-{i}").json for i in range(3)]
    admin.post("/api/messaging/chats/chat-0/mark-all-read", expect=200)
    awaiting = admin.connect({"platform": "loopback", "phoneNumber": "+15550009999",
                              "config": {"requireCode": True, "requirePassword": True}}).json
    admin.wait_account_status(awaiting["id"], "awaiting_code")
    gone = admin.connect_loopback()
    admin.post(f"/api/bd-accounts/{gone['id']}/disconnect", expect=200)
    admin.connect({"platform": "c-echo"})
    return {"account": FUZZ_ACCOUNT, "awaiting": awaiting["id"], "disconnected": gone["id"], "message": sent[0]["id"]}


def toml_list(values) -> str:
    return "[" + ", ".join(json.dumps(v) for v in values) + "]"


def config_text(ids: dict) -> str:
    """schemathesis.toml: per-operation ids and the 502/503 allowance (the first matching entry wins)."""
    entries = [
        (["listDialogs", "sendThroughAccount"], {"path.id": ids["account"]}, True),
        (["submitCode", "submitPassword"], {"path.id": ids["awaiting"]}, True),
        (["disconnectAccount"], {"path.id": ids["disconnected"]}, True),
        (["connectAccount", "sendMessage"], None, True),
        (["getAccount", "getAccountStatus"], {"path.id": ids["account"]}, False),
        (["getMessage"], {"path.id": ids["message"]}, False),
    ]
    lines = []
    for operation_ids, parameters, channel in entries:
        lines.append("[[operations]]")
        lines.append(f"include-operation-id = {toml_list(operation_ids)}")
        if parameters:
            lines.append("parameters = { " + ", ".join(f"{json.dumps(k)} = {json.dumps(v)}"
                                                      for k, v in parameters.items()) + " }")
        if channel:
            lines.append(f"checks.not_a_server_error.expected-statuses = {toml_list(CHANNEL_OPERATIONS_OK)}")
        lines.append("")
    return "\n".join(lines)


def test_schemathesis(fuzz_gateway, seeded, tmp_path):
    if not OPENAPI_PATH.is_file():
        pytest.fail(f"{OPENAPI_PATH} is missing", pytrace=False)
    if importlib.util.find_spec("schemathesis") is None:
        pytest.fail("schemathesis is not installed: pip install -r Tests/api/requirements.txt", pytrace=False)
    config = tmp_path / "schemathesis.toml"
    config.write_text(config_text(seeded))
    token = make_token(FUZZ_ORG, "admin", sub="fuzzer", exp_in=3 * 3600)
    command = [
        sys.executable, "-c", RUNNER, "--config-file", str(config), "run", str(OPENAPI_PATH),
        "--url", fuzz_gateway.base_url,
        "--header", f"Authorization: Bearer {token}",
        "--checks", "not_a_server_error,status_code_conformance,response_schema_conformance",
        "--max-examples", str(MAX_EXAMPLES),
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
        output = error.stdout or ""
        if isinstance(output, bytes):
            output = output.decode(errors="replace")
        pytest.fail(f"schemathesis did not finish within {HARD_TIMEOUT} s\n{output[-20000:]}", pytrace=False)
    output = result.stdout + result.stderr
    print(output[-20000:])
    assert fuzz_gateway.alive(), "the gateway died during the schemathesis run"
    if result.returncode != 0:
        pytest.fail(f"schemathesis found problems (exit {result.returncode}):\n{output[-20000:]}", pytrace=False)
