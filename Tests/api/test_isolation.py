"""Organization isolation: another organization's account, message or chat answers 404 exactly
like one that does not exist, list endpoints show nothing of it, and nothing of it changes."""

from __future__ import annotations

import json
import time

import pytest

from gateway_harness import SEED_ACCOUNT, SEED_COUNT, SEED_ORG, assert_error_shape, client_for, eventually, unique

SHARED_CHAT = "iso-shared-chat"


class Org:
    def __init__(self, api_main_gateway, name: str):
        self.admin = client_for(api_main_gateway, name, "admin")
        self.member = client_for(api_main_gateway, name, "agent", sub=unique("agent"))
        self.name = name
        self.account = self.admin.connect_loopback()
        self.phone = "+1777" + str(time.time_ns())[-7:]
        self.awaiting = self.admin.connect({"platform": "loopback", "phoneNumber": self.phone,
                                            "config": {"requireCode": True, "requirePassword": True}}).json
        self.admin.wait_account_status(self.awaiting["id"], "awaiting_code")
        self.chat = unique(f"chat-{name}")
        self.key = "iso-shared-key"
        self.sent = self.admin.send(self.account, self.chat, f"private text of {name}", key=self.key).json
        self.shared = self.admin.send(self.account, SHARED_CHAT, f"shared-chat text of {name}").json
        for chat, n in ((self.chat, 1), (SHARED_CHAT, 1)):
            eventually(lambda: len([m for m in self.admin.all_messages(chatId=chat) if m["direction"] == "inbound"]) >= n,
                       what=f"echo in {chat} of {name}")
        self.messages = self.admin.all_messages()


@pytest.fixture(scope="module")
def orgs(api_main_gateway):
    return Org(api_main_gateway, unique("org-iso-a")), Org(api_main_gateway, unique("org-iso-b"))


def not_found(reply):
    assert_error_shape(reply, "not_found")


def test_foreign_account_is_404_everywhere(orgs):
    a, b = orgs
    for target in (a.account["id"], a.awaiting["id"]):
        base = f"/api/bd-accounts/{target}"
        for client in (b.admin, b.member):
            not_found(client.get(base, expect=404))
            not_found(client.get(base + "/status", expect=404))
            not_found(client.get(base + "/dialogs", expect=404))
            not_found(client.post(base + "/send", {"chatId": a.chat, "content": "intrusion"}, expect=404))
            not_found(client.post("/api/messaging/send", {"channel": "loopback", "channelId": a.chat,
                                                          "content": "intrusion", "bdAccountId": target}, expect=404))
        not_found(b.admin.post(base + "/code", {"phoneCode": "12345"}, expect=404))
        not_found(b.admin.post(base + "/password", {"password": "secret"}, expect=404))
        not_found(b.admin.post(base + "/disconnect", expect=404))
        not_found(b.admin.delete(base, expect=404))
    # Unchanged for its owner.
    assert a.admin.account(a.account["id"])["status"] == "connected"
    assert a.admin.account(a.awaiting["id"])["status"] == "awaiting_code"
    assert not [m for m in a.admin.all_messages() if m["content"] == "intrusion"]
    assert not [m for m in b.admin.all_messages() if m["content"] == "intrusion"]


def test_foreign_and_missing_look_the_same(orgs):
    a, b = orgs
    foreign = b.admin.get(f"/api/bd-accounts/{a.account['id']}", expect=404).json["error"]
    missing = b.admin.get(f"/api/bd-accounts/{unique('nothing')}", expect=404).json["error"]
    assert foreign["code"] == missing["code"] == "not_found"
    assert "private text" not in json.dumps(foreign)
    foreign = b.admin.get(f"/api/messaging/messages/{a.sent['id']}", expect=404).json["error"]
    assert foreign["code"] == "not_found"


def test_foreign_message_is_404(orgs):
    a, b = orgs
    for message in a.messages:
        not_found(b.admin.get(f"/api/messaging/messages/{message['id']}", expect=404))
    # The owner still sees it.
    a.admin.get(f"/api/messaging/messages/{a.sent['id']}", expect=200)


def test_lists_never_show_foreign_data(orgs):
    a, b = orgs
    a_ids = {m["id"] for m in a.messages}
    b_messages = b.admin.all_messages()
    assert {m["organizationId"] for m in b_messages} == {b.name}
    assert not a_ids & {m["id"] for m in b_messages}
    assert b.admin.all_messages(bdAccountId=a.account["id"]) == []
    assert b.admin.all_messages(chatId=a.chat) == []
    assert b.admin.messages(bdAccountId=a.account["id"], page=1)["pagination"]["total"] == 0
    found = b.admin.all_messages(search="private text of")
    assert sorted(m["content"] for m in found) == sorted([f"private text of {b.name}", f"echo: private text of {b.name}"])
    # The same chat id in both organizations: each sees only its own messages.
    shared = b.admin.all_messages(chatId=SHARED_CHAT)
    assert shared and {m["organizationId"] for m in shared} == {b.name}
    assert {m["bdAccountId"] for m in shared} == {b.account["id"]}

    assert b.admin.chats(bdAccountId=a.account["id"])["chats"] == []
    chats = b.admin.chats()["chats"]
    assert a.chat not in {c["chatId"] for c in chats}
    assert {c["bdAccountId"] for c in chats} == {b.account["id"]}
    shared_chats = [c for c in chats if c["chatId"] == SHARED_CHAT]
    assert len(shared_chats) == 1 and shared_chats[0]["lastMessage"]["organizationId"] == b.name

    accounts = b.admin.get("/api/bd-accounts", expect=200).json["accounts"]
    assert {x["id"] for x in accounts} == {b.account["id"], b.awaiting["id"]}


def test_seed_org_invisible(orgs, seed):
    _, b = orgs
    assert b.admin.all_messages(bdAccountId=SEED_ACCOUNT) == []
    assert b.admin.all_messages(chatId="chat-0") == []
    not_found(b.admin.get(f"/api/bd-accounts/{SEED_ACCOUNT}", expect=404))
    not_found(b.admin.post(f"/api/bd-accounts/{SEED_ACCOUNT}/disconnect", expect=404))
    not_found(b.admin.post("/api/messaging/chats/chat-0/mark-all-read", expect=404))
    not_found(b.admin.post("/api/messaging/chats/chat-0/mark-all-read", {"bdAccountId": SEED_ACCOUNT}, expect=404))
    assert seed.get(f"/api/bd-accounts/{SEED_ACCOUNT}", expect=200).json["status"] == "connected"
    assert len(seed.all_messages(unread="true")) == SEED_COUNT
    assert seed.get("/api/messaging/stats", expect=200).json["total"] == SEED_COUNT
    assert seed.get("/api/bd-accounts", expect=200).json["accounts"][0]["organizationId"] == SEED_ORG


def test_mark_all_read_of_a_foreign_chat(orgs):
    a, b = orgs
    unread_before = len(a.admin.all_messages(chatId=a.chat, unread="true"))
    assert unread_before >= 1
    not_found(b.admin.post(f"/api/messaging/chats/{a.chat}/mark-all-read", expect=404))
    not_found(b.admin.post(f"/api/messaging/chats/{a.chat}/mark-all-read", {"bdAccountId": a.account["id"]},
                           expect=404))
    # The shared chat id: B's call may only touch B's messages, with A's account it is not found.
    not_found(b.admin.post(f"/api/messaging/chats/{SHARED_CHAT}/mark-all-read", {"bdAccountId": a.account["id"]},
                           expect=404))
    assert len(a.admin.all_messages(chatId=a.chat, unread="true")) == unread_before
    assert a.admin.all_messages(chatId=SHARED_CHAT, unread="true")


def test_stats_count_only_own_messages(orgs):
    a, b = orgs
    for org in (a, b):
        stats = org.admin.get("/api/messaging/stats", expect=200).json
        own = org.admin.all_messages()
        assert stats["total"] == len(own)
        assert {k: v for k, v in stats["byChannel"].items() if v} == {"loopback": len(own)}


def test_idempotency_keys_are_per_organization(orgs):
    a, b = orgs
    # Both organizations used the same key: two different messages, each in its own organization.
    assert a.sent["id"] != b.sent["id"]
    assert a.sent["organizationId"] == a.name and b.sent["organizationId"] == b.name
    again = b.admin.send(b.account, b.chat, "whatever", key=a.key, expect=200).json
    assert again["id"] == b.sent["id"]


def test_one_shot_code_does_not_reach_another_organization(orgs):
    a, b = orgs
    # B uses A's platform + phone number with the right code: A's account must not move.
    reply = b.admin.post("/api/bd-accounts/connect", {"platform": "loopback", "phoneNumber": a.phone,
                                                      "phoneCode": "12345"})
    assert reply.status < 500
    if reply.status < 300:
        assert reply.json["id"] != a.awaiting["id"]
        assert reply.json["organizationId"] == b.name
    assert a.admin.account(a.awaiting["id"])["status"] == "awaiting_code"
