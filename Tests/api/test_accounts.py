"""Accounts on the loopback and c-echo plugins: connect flows, code/password steps, status,
dialogs, disconnect, delete and sending through an account."""

from __future__ import annotations

import time

import pytest

from gateway_harness import assert_error_shape, assert_iso_ms, assert_schema, eventually, make_token, unique


def test_plain_connect(org):
    reply = org.connect({"platform": "loopback"})
    created = reply.json
    assert_schema(created, "Account")
    assert created["organizationId"] == org.org
    assert created["platform"] == "loopback"
    assert created["status"] in ("connecting", "connected")
    assert_iso_ms(created["createdAt"], "createdAt")
    account = org.wait_account_status(created["id"], "connected")
    assert account["isConnected"] is True
    assert account["id"] == created["id"]
    assert_schema(account, "Account")
    status = org.get(f"/api/bd-accounts/{created['id']}/status", expect=200).json
    assert_schema(status, "AccountStatusReport")
    assert set(status) >= {"id", "status", "isConnected", "lastActivity", "error"}
    assert status["id"] == created["id"]
    assert status["status"] == "connected"
    assert status["isConnected"] is True


def test_code_and_password_steps(org):
    phone = "+1555" + str(time.time_ns())[-7:]
    reply = org.connect({"platform": "loopback", "phoneNumber": phone,
                         "config": {"requireCode": True, "requirePassword": True}})
    account_id = reply.json["id"]
    assert reply.json["status"] in ("connecting", "awaiting_code")
    account = org.wait_account_status(account_id, "awaiting_code")
    assert account["isConnected"] is False
    assert account["phoneNumber"] == phone

    wrong = org.post(f"/api/bd-accounts/{account_id}/code", {"phoneCode": "00000"}, expect=400)
    assert_error_shape(wrong, "PHONE_CODE_INVALID")
    assert org.account(account_id)["status"] == "awaiting_code"

    # The account stays where it can be retried: another wrong code is still PHONE_CODE_INVALID.
    wrong = org.post(f"/api/bd-accounts/{account_id}/code", {"phoneCode": "54321"}, expect=400)
    assert_error_shape(wrong, "PHONE_CODE_INVALID")

    # A password before the code is the wrong state.
    early = org.post(f"/api/bd-accounts/{account_id}/password", {"password": "secret"}, expect=409)
    assert_error_shape(early, "conflict")
    assert org.account(account_id)["status"] == "awaiting_code"

    step = org.post(f"/api/bd-accounts/{account_id}/code", {"phoneCode": "12345"}, expect=200).json
    assert_schema(step, "Account")
    assert step["id"] == account_id
    assert step["status"] == "awaiting_password"
    assert org.account(account_id)["status"] == "awaiting_password"

    wrong = org.post(f"/api/bd-accounts/{account_id}/password", {"password": "guess"}, expect=400)
    assert_error_shape(wrong, "PASSWORD_HASH_INVALID")
    assert org.account(account_id)["status"] == "awaiting_password"

    done = org.post(f"/api/bd-accounts/{account_id}/password", {"password": "secret"}, expect=200).json
    assert done["status"] == "connected"
    assert done["isConnected"] is True
    assert org.account(account_id)["status"] == "connected"

    # Now nothing is awaited: another code or password is a conflict, and the account stays connected.
    assert_error_shape(org.post(f"/api/bd-accounts/{account_id}/code", {"phoneCode": "12345"}, expect=409), "conflict")
    assert_error_shape(org.post(f"/api/bd-accounts/{account_id}/password", {"password": "secret"}, expect=409),
                       "conflict")
    assert org.account(account_id)["status"] == "connected"


def test_code_only(org):
    reply = org.connect({"platform": "loopback", "config": {"requireCode": True}})
    account_id = reply.json["id"]
    org.wait_account_status(account_id, "awaiting_code")
    step = org.post(f"/api/bd-accounts/{account_id}/code", {"phoneCode": "12345"}, expect=200).json
    assert step["status"] == "connected"


def test_password_only(org):
    reply = org.connect({"platform": "loopback", "config": {"requirePassword": True}})
    account_id = reply.json["id"]
    org.wait_account_status(account_id, "awaiting_password")
    assert_error_shape(org.post(f"/api/bd-accounts/{account_id}/code", {"phoneCode": "12345"}, expect=409), "conflict")
    step = org.post(f"/api/bd-accounts/{account_id}/password", {"password": "secret"}, expect=200).json
    assert step["status"] == "connected"


def test_one_shot_connect_with_code_then_password(org):
    phone = "+1666" + str(time.time_ns())[-7:]
    first = org.connect({"platform": "loopback", "phoneNumber": phone,
                         "config": {"requireCode": True, "requirePassword": True}}).json
    account_id = first["id"]
    org.wait_account_status(account_id, "awaiting_code")

    wrong = org.connect({"platform": "loopback", "phoneNumber": phone, "phoneCode": "99999"}, expect=400)
    assert_error_shape(wrong, "PHONE_CODE_INVALID")
    assert org.account(account_id)["status"] == "awaiting_code"

    step = org.connect({"platform": "loopback", "phoneNumber": phone, "phoneCode": "12345"}, expect=(200, 202)).json
    assert step["id"] == account_id, "the one-shot call must complete the step of the same account"
    assert step["status"] == "awaiting_password"

    done = org.connect({"platform": "loopback", "phoneNumber": phone, "password": "secret"}, expect=(200, 202)).json
    assert done["id"] == account_id
    assert done["status"] == "connected"
    assert org.account(account_id)["status"] == "connected"
    same_phone = [a for a in org.get("/api/bd-accounts", expect=200).json["accounts"] if a.get("phoneNumber") == phone]
    assert [a["id"] for a in same_phone] == [account_id], "the one-shot calls created another account"


def test_accounts_listed_newest_first(org):
    first = org.connect_loopback()
    time.sleep(0.02)
    second = org.connect_loopback()
    time.sleep(0.02)
    third = org.connect({"platform": "c-echo"}).json
    accounts = org.get("/api/bd-accounts", expect=200).json["accounts"]
    assert [a["id"] for a in accounts] == [third["id"], second["id"], first["id"]]
    for account in accounts:
        assert_schema(account, "Account")
        assert account["organizationId"] == org.org


def test_disconnect(org):
    account = org.connect_loopback()
    reply = org.post(f"/api/bd-accounts/{account['id']}/disconnect", expect=200).json
    assert_schema(reply, "Account")
    assert reply["status"] == "disconnected"
    assert reply["isConnected"] is False
    assert org.account(account["id"])["status"] == "disconnected"
    status = org.get(f"/api/bd-accounts/{account['id']}/status", expect=200).json
    assert status["status"] == "disconnected" and status["isConnected"] is False
    # Dialogs of a disconnected account are a conflict.
    assert_error_shape(org.get(f"/api/bd-accounts/{account['id']}/dialogs", expect=409), "conflict")
    # A code for it is a conflict too: it awaits nothing.
    assert_error_shape(org.post(f"/api/bd-accounts/{account['id']}/code", {"phoneCode": "12345"}, expect=409),
                       "conflict")


def test_send_to_a_disconnected_account_fails_cleanly(org):
    account = org.connect_loopback()
    org.post(f"/api/bd-accounts/{account['id']}/disconnect", expect=200)
    reply = org.send(account, "chat-x", "hello?", expect=(409, 502))
    error = assert_error_shape(reply, ("conflict", "channel_error"))
    if reply.status == 502:
        failed = error["details"]["message"]
        assert_schema(failed, "Message")
        assert failed["status"] == "failed"
        assert org.get(f"/api/messaging/messages/{failed['id']}", expect=200).json["status"] == "failed"


def test_dialogs_after_sends(org):
    account = org.connect_loopback()
    chats = [unique("dlg-a"), unique("dlg-b"), unique("dlg-c")]
    for chat in chats:
        org.send(account, chat, f"hi {chat}")
    # Each send is answered by an echo in the same chat: the channel lists those chats.
    path = f"/api/bd-accounts/{account['id']}/dialogs"
    page = eventually(
        lambda: (lambda p: p if {d["chatId"] for d in p["dialogs"]} == set(chats) else None)(
            org.get(path, expect=200).json),
        what="dialogs to list the three chats", last=lambda: org.get(path).json,
    )
    assert_schema(page, "DialogsPage")
    assert page["hasMore"] is False
    for dialog in page["dialogs"]:
        assert_schema(dialog, "Dialog")
        assert dialog["kind"] == "user"
        assert dialog["title"] == f"Loopback {dialog['chatId']}"
        assert dialog["unreadCount"] >= 1
        assert dialog["lastMessageText"] == f"echo: hi {dialog['chatId']}"
        if dialog.get("lastMessageDate") is not None:
            assert_iso_ms(dialog["lastMessageDate"], "lastMessageDate")

    first = org.get(path, params={"limit": 2}, expect=200).json
    assert len(first["dialogs"]) == 2
    assert first["hasMore"] is True and first["nextCursor"]
    rest = org.get(path, params={"limit": 2, "cursor": first["nextCursor"]}, expect=200).json
    assert len(rest["dialogs"]) == 1
    assert rest["hasMore"] is False
    assert {d["chatId"] for d in first["dialogs"] + rest["dialogs"]} == set(chats)

    by_offset = org.get(path, params={"limit": 2, "offset": 2}, expect=200).json
    assert [d["chatId"] for d in by_offset["dialogs"]] == [d["chatId"] for d in rest["dialogs"]]
    assert org.get(path, params={"offset": 3}, expect=200).json["dialogs"] == []

    for params, field in (({"limit": 0}, "limit"), ({"limit": 201}, "limit"), ({"offset": -1}, "offset"),
                          ({"limit": "x"}, "limit"), ({"offset": "abc"}, "offset")):
        assert_error_shape(org.get(path, params=params, expect=400), "validation_error", field=field)


def test_delete_account(org):
    account = org.connect_loopback()
    path = f"/api/bd-accounts/{account['id']}"
    reply = org.delete(path, expect=204)
    assert reply.response.content == b""
    for sub in ("", "/status", "/dialogs"):
        assert_error_shape(org.get(path + sub, expect=404), "not_found")
    assert_error_shape(org.delete(path, expect=404), "not_found")
    assert_error_shape(org.post(path + "/disconnect", expect=404), "not_found")
    assert_error_shape(org.post(path + "/send", {"chatId": "c", "content": "x"}, expect=404), "not_found")
    assert account["id"] not in [a["id"] for a in org.get("/api/bd-accounts", expect=200).json["accounts"]]


def test_delete_account_awaiting_code(org):
    account_id = org.connect({"platform": "loopback", "config": {"requireCode": True}}).json["id"]
    org.wait_account_status(account_id, "awaiting_code")
    org.delete(f"/api/bd-accounts/{account_id}", expect=204)
    assert_error_shape(org.post(f"/api/bd-accounts/{account_id}/code", {"phoneCode": "12345"}, expect=404),
                       "not_found")


def test_unknown_account_is_404_everywhere(org):
    missing = "no-such-account-" + unique("x")
    base = f"/api/bd-accounts/{missing}"
    for method, path, body in (
        ("GET", base, None), ("GET", base + "/status", None), ("GET", base + "/dialogs", None),
        ("POST", base + "/disconnect", None), ("POST", base + "/send", {"chatId": "c", "content": "x"}),
        ("POST", base + "/code", {"phoneCode": "12345"}), ("POST", base + "/password", {"password": "secret"}),
        ("DELETE", base, None),
    ):
        reply = org.request(method, path, json_body=body, expect=404)
        assert_error_shape(reply, "not_found")
    reply = org.post("/api/messaging/send", {"channel": "loopback", "channelId": "c", "content": "x",
                                             "bdAccountId": missing}, expect=404)
    assert_error_shape(reply, "not_found")


def test_send_through_account_endpoint(org):
    account = org.connect_loopback()
    chat = unique("acct-send")
    message = org.post(f"/api/bd-accounts/{account['id']}/send", {"chatId": chat, "content": "via account"},
                       expect=201).json
    assert_schema(message, "Message")
    assert message["bdAccountId"] == account["id"]
    assert message["chatId"] == chat and message["channelId"] == chat
    assert message["channel"] == "loopback"
    assert message["direction"] == "outbound"
    assert message["status"] == "sent"
    assert message["externalId"]
    assert message["content"] == "via account"
    # Idempotent the same way.
    key = unique("k")
    one = org.post(f"/api/bd-accounts/{account['id']}/send", {"chatId": chat, "content": "once", "idempotencyKey": key},
                   expect=201).json
    two = org.post(f"/api/bd-accounts/{account['id']}/send", {"chatId": chat, "content": "once", "idempotencyKey": key},
                   expect=200).json
    assert one["id"] == two["id"]
    for body, field in (({"content": "no chat"}, "chatId"), ({"chatId": chat}, "content"),
                        ({"chatId": chat, "content": 5}, "content"), ({"chatId": 7, "content": "x"}, "chatId")):
        reply = org.post(f"/api/bd-accounts/{account['id']}/send", body, expect=400)
        assert_error_shape(reply, "validation_error", field=field)


def test_c_echo_platform(org):
    created = org.connect({"platform": "c-echo"}).json
    assert created["platform"] == "c-echo"
    account = org.wait_account_status(created["id"], "connected")
    chat = unique("ce")
    message = org.send(account, chat, "hello-c-echo").json
    assert message["status"] == "sent"
    assert message["channel"] == "c-echo"
    assert message["externalId"].startswith("c")
    echo = eventually(
        lambda: [m for m in org.all_messages(chatId=chat) if m["direction"] == "inbound"],
        what="the c-echo echo", last=lambda: org.all_messages(chatId=chat),
    )
    assert len(echo) == 1
    assert echo[0]["content"] == "hello-c-echo"
    assert echo[0]["channel"] == "c-echo"
    assert echo[0]["bdAccountId"] == account["id"]
    assert echo[0]["externalId"] == "echo-" + message["externalId"]


def test_unknown_platform_is_400_on_platform(org):
    """API.md: connecting to a platform with no loaded plugin is a 400 validation_error on platform."""
    for platform in ("no-such-platform", "LOOPBACK", "loopback ", "telegram"):
        reply = org.connect({"platform": platform}, expect=400)
        assert_error_shape(reply, "validation_error", field="platform")
    assert org.get("/api/bd-accounts", expect=200).json["accounts"] == []


@pytest.mark.parametrize("body,field", [
    ({}, "platform"),
    ({"platform": 42}, "platform"),
    ({"platform": None}, "platform"),
    ({"platform": ["loopback"]}, "platform"),
    ({"platform": "loopback", "phoneNumber": 5}, "phoneNumber"),
    ({"platform": "loopback", "config": "requireCode"}, "config"),
])
def test_connect_validation(org, body, field):
    reply = org.connect(body, expect=400)
    assert_error_shape(reply, "validation_error", field=field)


@pytest.mark.parametrize("path,body,field", [
    ("code", {}, "phoneCode"), ("code", {"phoneCode": 12345}, "phoneCode"), ("code", {"code": "12345"}, "phoneCode"),
    ("password", {}, "password"), ("password", {"password": True}, "password"),
])
def test_code_password_validation(org, path, body, field):
    account_id = org.connect({"platform": "loopback", "config": {"requireCode": True}}).json["id"]
    org.wait_account_status(account_id, "awaiting_code")
    reply = org.post(f"/api/bd-accounts/{account_id}/{path}", body, expect=400)
    assert_error_shape(reply, "validation_error", field=field)
    assert org.account(account_id)["status"] == "awaiting_code"


def test_connect_ignores_unknown_fields(org):
    created = org.connect({"platform": "loopback", "somethingElse": {"x": 1}, "extra": [1, 2]}).json
    org.wait_account_status(created["id"], "connected")


def test_login_qr_needs_a_qr_login_in_progress(org):
    # The QR login itself (Telegram) is tested against the fake data center: Tests/telegram and
    # Tests/console. Here: what every other case answers, in the error shape.
    account = org.connect_loopback()
    reply = org.get(f"/api/bd-accounts/{account['id']}/login-qr", expect=409)
    assert "no QR login in progress" in assert_error_shape(reply, "conflict")["message"]
    assert_error_shape(org.get("/api/bd-accounts/no-such-account/login-qr", expect=404), "not_found")
    member = org.with_token(make_token(org.org, "member"))
    assert_error_shape(member.get(f"/api/bd-accounts/{account['id']}/login-qr", expect=403), "forbidden")
    stranger = org.with_token(make_token(f"{org.org}-other", "admin"))
    assert_error_shape(stranger.get(f"/api/bd-accounts/{account['id']}/login-qr", expect=404), "not_found")
