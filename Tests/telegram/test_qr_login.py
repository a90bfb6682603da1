"""QR login end to end: the real gateway process and its Telegram plugin on one side, a
`fake-dc --world` process (DCs 2 and 4) on the other; the world's `scan_login_token` command plays
the phone app that scans the code (auth.acceptLoginToken).

- `POST /api/bd-accounts/connect` with `method: "qr"` and no phone number: 202, status
  `connecting`, `loginUrl` = `tg://login?token=<base64url>`; scanning it connects the account (its
  phone number comes from Telegram), and the account works (dialogs, send);
- an account with 2FA: after the scan it awaits its password, then `POST …/password` connects it;
- an account on DC 4 (auth.loginTokenMigrateTo → auth.importLoginToken there);
- a token is accepted once; an unknown login method is a 400.

Token renewal (every ~28 s) and expiry are covered by the Swift tests (QRLoginTests), which can
shorten the token lifetime.
"""

from __future__ import annotations

import base64
import re
import uuid
from pathlib import Path

import pytest

from fake_dc import FakeWorld, WorldCommandError
from test_gateway_e2e import LOGIN_TIMEOUT, Api, start_gateway

URL_PATTERN = re.compile(r"^tg://login\?token=([A-Za-z0-9_-]+)$")


@pytest.fixture(scope="module")
def qr_world(tmp_path_factory, fake_dc_bin):
    dc = FakeWorld("qr-world", tmp_path_factory.mktemp("qr-world"), fake_dc_bin, extra_dc_ids=[4]).start()
    yield dc
    dc.stop()


@pytest.fixture(scope="module")
def qr_gateway(tmp_path_factory, qr_world):
    process = start_gateway("telegram-qr", tmp_path_factory.mktemp("gateway-qr"), qr_world)
    yield process
    process.stop()


def unique_phone() -> str:
    return "+99966" + str(uuid.uuid4().int % 10**6).rjust(6, "0")


def connect_qr(api: Api) -> dict:
    account = api.request("POST", "/api/bd-accounts/connect", {"platform": "telegram", "method": "qr"},
                          expect=202, timeout=LOGIN_TIMEOUT)
    assert account["status"] == "connecting", account
    assert URL_PATTERN.match(account.get("loginUrl") or ""), account
    token = URL_PATTERN.match(account["loginUrl"]).group(1)
    assert len(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))) >= 16, account["loginUrl"]
    return account


def scan(world: FakeWorld, login_url: str, user_id: int) -> None:
    world.command("scan_login_token", token=login_url, userId=user_id)


def test_scanning_the_qr_code_connects_the_account(qr_gateway, qr_world):
    api = Api(qr_gateway)
    phone = unique_phone()
    user = qr_world.add_user(phone, "Quinn", username=f"quinn{uuid.uuid4().hex[:6]}")
    friend = qr_world.add_user(unique_phone(), "Rita")
    account = connect_qr(api)
    assert account["isConnected"] is False
    assert api.status(account["id"])["status"] == "connecting"

    scan(qr_world, account["loginUrl"], user["userId"])
    api.wait_status(account["id"], "connected")
    stored = api.account(account["id"])
    assert stored["isConnected"] is True
    assert stored["phoneNumber"] == phone.replace(" ", ""), stored
    assert "loginUrl" not in stored or stored["loginUrl"] is None

    # The session works: a message sent to the account arrives, and it can send.
    qr_world.deliver(friend["userId"], user["userId"], "hello over qr")
    api.dialogs(account["id"])
    sent = api.send(account["id"], str(friend["userId"]), "hi back", key=f"qr-{uuid.uuid4().hex}")
    assert sent["status"] in ("sent", "delivered", "read"), sent
    assert any(m["text"] == "hi back" for m in qr_world.messages(friend["userId"]))

    # A token logs in once.
    with pytest.raises(WorldCommandError) as refused:
        scan(qr_world, account["loginUrl"], user["userId"])
    assert "AUTH_TOKEN" in refused.value.error


def test_two_step_verification_after_the_scan(qr_gateway, qr_world):
    api = Api(qr_gateway)
    user = qr_world.add_user(unique_phone(), "Sam", password="qr secret", password_hint="qr")
    account = connect_qr(api)
    scan(qr_world, account["loginUrl"], user["userId"])
    api.wait_status(account["id"], "awaiting_password")
    wrong = api.password(account["id"], "nope", expect=400)
    assert wrong["error"]["code"] == "PASSWORD_HASH_INVALID", wrong
    assert api.status(account["id"])["status"] == "awaiting_password"
    connected = api.password(account["id"], "qr secret")
    assert connected["status"] == "connected" and connected["isConnected"] is True, connected
    api.dialogs(account["id"])


def test_an_account_on_another_data_center(qr_gateway, qr_world):
    api = Api(qr_gateway)
    user = qr_world.add_user(unique_phone(), "Tess", home_dc=4)
    account = connect_qr(api)
    scan(qr_world, account["loginUrl"], user["userId"])
    api.wait_status(account["id"], "connected")
    page = api.dialogs(account["id"])
    assert isinstance(page["dialogs"], list)


def test_a_second_qr_login_gets_a_new_url_and_unknown_methods_are_refused(qr_gateway, qr_world):
    api = Api(qr_gateway)
    first = connect_qr(api)
    second = connect_qr(api)
    assert first["loginUrl"] != second["loginUrl"]
    with pytest.raises(WorldCommandError) as bad:
        qr_world.command("scan_login_token", token="not base64!", userId=qr_world.add_user(unique_phone(), "Uma")["userId"])
    assert "token" in bad.value.error
    refused = api.request("POST", "/api/bd-accounts/connect", {"platform": "telegram", "method": "carrier-pigeon"},
                          expect=400, timeout=LOGIN_TIMEOUT)
    assert refused["error"]["code"] == "validation_error", refused
