"""Sending: statuses, idempotency, the loopback echo, mark-all-read, stats after sends."""

from __future__ import annotations

import time

import pytest

from gateway_harness import assert_error_shape, assert_iso_ms, assert_schema, eventually, unique


def inbound(client, chat: str) -> list[dict]:
    return [m for m in client.all_messages(chatId=chat) if m["direction"] == "inbound"]


def wait_echoes(client, chat: str, n: int) -> list[dict]:
    return eventually(lambda: (lambda found: found if len(found) >= n else None)(inbound(client, chat)),
                      what=f"{n} echo message(s) in {chat}", last=lambda: client.all_messages(chatId=chat))


@pytest.fixture
def account(org):
    return org.connect_loopback()


def test_send_then_echo(org, account):
    chat = unique("chat")
    reply = org.send(account, chat, "hello world", contactId=chat)
    sent = reply.json
    assert_schema(sent, "Message")
    assert sent["status"] == "sent"
    assert sent["externalId"], "a sent message has the channel's externalId"
    assert sent["direction"] == "outbound"
    assert sent["organizationId"] == org.org
    assert sent["channel"] == "loopback"
    assert sent["bdAccountId"] == account["id"]
    assert sent["chatId"] == chat and sent["channelId"] == chat
    assert sent["content"] == "hello world"
    assert sent["attachments"] == []
    assert_iso_ms(sent["createdAt"], "createdAt")
    if sent.get("sentAt") is not None:
        assert_iso_ms(sent["sentAt"], "sentAt")
    stored = org.get(f"/api/messaging/messages/{sent['id']}", expect=200).json
    assert stored["id"] == sent["id"]
    assert stored["status"] in ("sent", "delivered", "read")
    assert stored["externalId"] == sent["externalId"]

    echo = wait_echoes(org, chat, 1)
    assert len(echo) == 1
    echo = echo[0]
    assert_schema(echo, "Message")
    assert echo["content"] == "echo: hello world"
    assert echo["status"] == "delivered"
    assert echo["isRead"] is False
    assert echo["bdAccountId"] == account["id"]
    assert echo["externalId"] == "echo-" + sent["externalId"]
    assert echo["contactId"] == chat
    assert echo["contact"]["id"] == chat
    if echo.get("metadata") is not None:
        assert echo["metadata"].get("replyTo") == sent["externalId"]
    # The echo came after the send.
    listed = org.all_messages(chatId=chat)
    assert {m["id"] for m in listed} == {echo["id"], sent["id"]}
    assert assert_iso_ms(echo["createdAt"]) >= assert_iso_ms(sent["createdAt"])


def test_idempotent_send(org, account):
    chat = unique("idem")
    key = unique("key")
    first = org.send(account, chat, "only once", key=key, expect=201).json
    assert first["idempotencyKey"] == key
    second = org.send(account, chat, "only once", key=key, expect=200).json
    assert second["id"] == first["id"]
    assert second["externalId"] == first["externalId"]
    assert second["status"] in ("sent", "delivered", "read")
    # Even with another text, the key returns the stored message and sends nothing.
    third = org.send(account, chat, "changed text", key=key, expect=200).json
    assert third["id"] == first["id"]
    assert third["content"] == "only once"
    wait_echoes(org, chat, 1)
    time.sleep(1.0)  # time for a (wrong) second echo to arrive
    messages = org.all_messages(chatId=chat)
    assert len([m for m in messages if m["direction"] == "outbound"]) == 1, messages
    assert len([m for m in messages if m["direction"] == "inbound"]) == 1, messages


def test_idempotency_key_through_both_send_endpoints(org, account):
    chat = unique("idem2")
    key = unique("key")
    first = org.post(f"/api/bd-accounts/{account['id']}/send", {"chatId": chat, "content": "x", "idempotencyKey": key},
                     expect=201).json
    second = org.send(account, chat, "x", key=key, expect=200).json
    assert second["id"] == first["id"]


def test_different_keys_send_twice(org, account):
    chat = unique("two")
    one = org.send(account, chat, "same text", key=unique("a")).json
    two = org.send(account, chat, "same text", key=unique("b")).json
    three = org.send(account, chat, "same text").json
    assert len({one["id"], two["id"], three["id"]}) == 3
    assert len({one["externalId"], two["externalId"], three["externalId"]}) == 3
    wait_echoes(org, chat, 3)


def test_status_only_moves_forward(org, account):
    chat = unique("fwd")
    sent = org.send(account, chat, "status").json
    wait_echoes(org, chat, 1)
    rank = {"pending": 0, "sent": 1, "delivered": 2, "read": 3}
    later = org.get(f"/api/messaging/messages/{sent['id']}", expect=200).json
    assert rank[later["status"]] >= rank[sent["status"]]
    assert org.all_messages(chatId=chat, status="pending") == []
    assert org.all_messages(chatId=chat, status="failed") == []


def test_unicode_and_quotes_round_trip(org, account):
    chat = unique("uni")
    text = 'Привет 👋 "quoted" \\ back\\slash <b>&amp;</b> \u00e9\u0301 日本語\n\tnew line'
    sent = org.send(account, chat, text).json
    assert sent["content"] == text
    assert org.get(f"/api/messaging/messages/{sent['id']}", expect=200).json["content"] == text
    echo = wait_echoes(org, chat, 1)[0]
    assert echo["content"] == "echo: " + text


def test_large_body_under_the_limit(org, account):
    chat = unique("big")
    text = "x" * 60_000  # the fixture's body limit is 64 kB
    sent = org.send(account, chat, text, expect=201).json
    assert sent["content"] == text


@pytest.mark.parametrize("drop,field", [
    ("channel", "channel"), ("channelId", "channelId"), ("content", "content"), ("bdAccountId", "bdAccountId"),
])
def test_send_missing_field_is_400(org, account, drop, field):
    body = {"channel": "loopback", "channelId": "c", "content": "x", "bdAccountId": account["id"]}
    del body[drop]
    reply = org.post("/api/messaging/send", body, expect=400)
    assert_error_shape(reply, "validation_error", field=field)


@pytest.mark.parametrize("field,value", [
    ("content", 5), ("content", None), ("content", ["a"]), ("channelId", 12), ("bdAccountId", {"id": "x"}),
    ("idempotencyKey", 3), ("contactId", False), ("replyTo", 1.5), ("channel", True),
])
def test_send_wrong_type_is_400(org, account, field, value):
    body = {"channel": "loopback", "channelId": "c", "content": "x", "bdAccountId": account["id"], field: value}
    reply = org.post("/api/messaging/send", body, expect=400)
    assert_error_shape(reply, "validation_error", field=field)
    assert org.all_messages(chatId="c") == []


def test_send_ignores_unknown_fields(org, account):
    chat = unique("extra")
    org.send(account, chat, "x", surprise={"nested": [1, 2, 3]}, expect=201)


# ------------------------------------------------------------------------------ mark-all-read


def test_mark_all_read(org, account):
    chat, other = unique("mr"), unique("mr-other")
    for i in range(3):
        org.send(account, chat, f"m{i}")
    org.send(account, other, "other")
    wait_echoes(org, chat, 3)
    wait_echoes(org, other, 1)

    chats = {c["chatId"]: c for c in org.chats()["chats"]}
    assert chats[chat]["unreadCount"] == 3
    assert chats[other]["unreadCount"] == 1
    assert len(org.all_messages(chatId=chat, direction="inbound", unread="true")) == 3
    unread_before = org.all_messages(chatId=chat, unread="true")

    reply = org.post(f"/api/messaging/chats/{chat}/mark-all-read", {"bdAccountId": account["id"]}, expect=200).json
    assert reply["success"] is True
    # Whether outbound messages count as unread is the server's choice; the three echoes do.
    assert reply["updated"] == len(unread_before), (reply, len(unread_before))

    chats = {c["chatId"]: c for c in org.chats()["chats"]}
    assert chats[chat]["unreadCount"] == 0
    assert chats[other]["unreadCount"] == 1, "another chat was marked read"
    assert all(m["isRead"] for m in org.all_messages(chatId=chat, direction="inbound"))
    assert org.all_messages(chatId=chat, direction="inbound", unread="true") == []
    assert {c["chatId"] for c in org.chats(unread="true")["chats"]} == {other}
    assert all(not m["isRead"] for m in org.all_messages(chatId=other, direction="inbound"))

    # Again: nothing left to update.
    again = org.post(f"/api/messaging/chats/{chat}/mark-all-read", expect=200).json
    assert again == {"success": True, "updated": 0}

    # The channel was told too: loopback's dialog for the chat has no unread messages any more.
    dialogs = org.get(f"/api/bd-accounts/{account['id']}/dialogs", expect=200).json["dialogs"]
    assert {d["chatId"]: d["unreadCount"] for d in dialogs}.get(chat) == 0


def test_mark_all_read_without_body(org, account):
    chat = unique("mr-nobody")
    org.send(account, chat, "x")
    wait_echoes(org, chat, 1)
    reply = org.request("POST", f"/api/messaging/chats/{chat}/mark-all-read", expect=200).json
    assert reply["success"] is True and reply["updated"] >= 1
    assert org.all_messages(chatId=chat, direction="inbound", unread="true") == []


def test_mark_all_read_unknown_chat_is_404(org, account):
    reply = org.post(f"/api/messaging/chats/{unique('nochat')}/mark-all-read", expect=404)
    assert_error_shape(reply, "not_found")


def test_mark_all_read_bad_body(org, account):
    chat = unique("mr-bad")
    org.send(account, chat, "x")
    wait_echoes(org, chat, 1)
    reply = org.post(f"/api/messaging/chats/{chat}/mark-all-read", {"bdAccountId": 5}, expect=400)
    assert_error_shape(reply, "validation_error", field="bdAccountId")
    reply = org.request("POST", f"/api/messaging/chats/{chat}/mark-all-read", data="{oops",
                        headers={"Content-Type": "application/json"}, expect=400)
    assert_error_shape(reply, "invalid_json")


# -------------------------------------------------------------------------------------- stats


def test_stats_after_sends(org, account):
    chats = [unique("st"), unique("st")]
    for chat in chats:
        org.send(account, chat, "a")
        org.send(account, chat, "b")
    for chat in chats:
        wait_echoes(org, chat, 2)
    org.post(f"/api/messaging/chats/{chats[0]}/mark-all-read", expect=200)

    stats = org.get("/api/messaging/stats", expect=200).json
    assert_schema(stats, "Stats")
    messages = org.all_messages()
    assert stats["total"] == len(messages) == 8
    assert stats["byDirection"] == {"inbound": 4, "outbound": 4}
    assert {k: v for k, v in stats["byChannel"].items() if v} == {"loopback": 8}
    assert stats["unread"] == len(org.all_messages(unread="true"))
    assert stats["unread"] >= 2  # the second chat's echoes
    assert len(org.all_messages(unread="true", direction="inbound")) == 2
    by_status: dict[str, int] = {}
    for message in messages:
        by_status[message["status"]] = by_status.get(message["status"], 0) + 1
    assert {k: v for k, v in stats["byStatus"].items() if v} == by_status
    assert sum(d["outbound"] for d in stats["perDay"]) == 4
    assert sum(d["inbound"] for d in stats["perDay"]) == 4
