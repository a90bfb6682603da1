"""Reading messages, chats and stats of the seed organization (300 inbound loopback messages over
chats chat-0..chat-5, stored at startup without any REST call). These tests only read."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from gateway_harness import (
    SEED_ACCOUNT,
    SEED_CHATS,
    SEED_COUNT,
    SEED_ORG,
    assert_error_shape,
    assert_iso_ms,
    assert_schema,
    iso,
)

PER_CHAT = SEED_COUNT // SEED_CHATS


def count(seed, **params) -> int:
    """Messages matching the filters, by walking every page (and page mode's total agrees)."""
    walked = seed.all_messages(**params)
    paged = seed.messages(**params, page=1, limit=1)["pagination"]
    assert paged["total"] == len(walked), (params, paged, len(walked))
    return len(walked)


# ----------------------------------------------------------------------------------- messages


def test_message_shape(seed):
    page = seed.messages(limit=5)
    assert len(page["messages"]) == 5
    for message in page["messages"]:
        assert_schema(message, "Message")
        assert message["organizationId"] == SEED_ORG
        assert message["channel"] == "loopback"
        assert message["bdAccountId"] == SEED_ACCOUNT
        assert message["channelId"] == message["chatId"]
        assert message["direction"] == "inbound"
        assert message["content"].startswith("message ")
        assert message["attachments"] == []
        assert message["isRead"] is False
        assert message["contactId"] == message["chatId"]
        assert message["contact"]["id"] == message["chatId"]
        assert message["contact"]["name"] == f"Peer {message['chatId']}"
        assert message["externalId"] == "m" + message["content"].split(" ")[1]
        assert_iso_ms(message["createdAt"], "createdAt")


def test_get_one_message(seed):
    first = seed.messages(limit=1)["messages"][0]
    one = seed.get(f"/api/messaging/messages/{first['id']}", expect=200).json
    assert_schema(one, "Message")
    assert one == first


def test_unknown_message_is_404(seed):
    for message_id in ("00000000-0000-7000-8000-000000000000", "not-a-uuid", "m1"):
        reply = seed.get(f"/api/messaging/messages/{message_id}", expect=404)
        assert_error_shape(reply, "not_found")


def test_default_limit_is_50_and_newest_first(seed):
    page = seed.messages()
    assert page["pagination"]["limit"] == 50
    assert len(page["messages"]) == 50
    assert page["pagination"]["hasMore"] is True
    assert page["pagination"]["nextCursor"]
    created = [assert_iso_ms(m["createdAt"]) for m in page["messages"]]
    assert created == sorted(created, reverse=True), "messages are not newest first"


@pytest.mark.parametrize("limit", [1, 2, 199, 200])
def test_limit_boundaries_accepted(seed, limit):
    page = seed.messages(limit=limit)
    assert len(page["messages"]) == limit
    assert page["pagination"]["limit"] == limit
    assert page["pagination"]["hasMore"] is True
    assert page["pagination"]["nextCursor"]
    assert_schema(page["pagination"], "Pagination")


@pytest.mark.parametrize("limit", ["0", "201", "-1", "abc", "1.5", "99999999999999999999", "1e2"])
def test_limit_out_of_range_is_400(seed, limit):
    reply = seed.get("/api/messaging/messages", params={"limit": limit}, expect=400)
    assert_error_shape(reply, "validation_error", field="limit")


@pytest.mark.parametrize("page", ["0", "-1", "abc", "99999999999999999999"])
def test_bad_page_is_400(seed, page):
    reply = seed.get("/api/messaging/messages", params={"page": page}, expect=400)
    assert_error_shape(reply, "validation_error", field="page")


@pytest.mark.parametrize("limit", [1, 7, 50, 200])
def test_cursor_walk_returns_every_message_exactly_once(seed, limit):
    params = {"limit": limit, "bdAccountId": SEED_ACCOUNT}
    seen: list[str] = []
    created = []
    for _ in range(SEED_COUNT + 5):
        page = seed.messages(**params)
        assert len(page["messages"]) <= limit
        seen.extend(m["id"] for m in page["messages"])
        created.extend(assert_iso_ms(m["createdAt"]) for m in page["messages"])
        if not page["pagination"]["hasMore"]:
            assert not page["pagination"].get("nextCursor"), page["pagination"]
            break
        assert page["pagination"]["nextCursor"]
        params["cursor"] = page["pagination"]["nextCursor"]
    else:
        pytest.fail("the cursor walk never ended")
    assert len(seen) == SEED_COUNT, f"{len(seen)} messages walked"
    assert len(set(seen)) == SEED_COUNT, "a message was returned twice"
    assert created == sorted(created, reverse=True)


def test_page_mode_totals_and_walk(seed):
    limit = 7
    pages = math.ceil(SEED_COUNT / limit)
    ids: list[str] = []
    for number in range(1, pages + 1):
        page = seed.messages(page=number, limit=limit, bdAccountId=SEED_ACCOUNT)
        pagination = page["pagination"]
        assert pagination["page"] == number
        assert pagination["limit"] == limit
        assert pagination["total"] == SEED_COUNT
        assert pagination["totalPages"] == pages
        assert pagination["hasMore"] is (number < pages)
        expected = limit if number < pages else SEED_COUNT - limit * (pages - 1)
        assert len(page["messages"]) == expected, (number, len(page["messages"]))
        ids.extend(m["id"] for m in page["messages"])
    assert len(ids) == len(set(ids)) == SEED_COUNT
    # Both modes see the same messages in the same order.
    assert ids == [m["id"] for m in seed.all_messages(bdAccountId=SEED_ACCOUNT)]
    beyond = seed.messages(page=pages + 1, limit=limit)
    assert beyond["messages"] == []
    assert beyond["pagination"]["hasMore"] is False
    assert beyond["pagination"]["total"] == SEED_COUNT


def test_page_mode_big_pages(seed):
    page = seed.messages(page=1, limit=200)
    assert page["pagination"]["total"] == SEED_COUNT
    assert page["pagination"]["totalPages"] == 2
    assert len(page["messages"]) == 200
    second = seed.messages(page=2, limit=200)
    assert len(second["messages"]) == SEED_COUNT - 200
    assert second["pagination"]["hasMore"] is False


def test_garbage_cursor_is_not_a_server_error(seed):
    for cursor in ("garbage", "!!!", "eyJ4IjoxfQ", "-1", "0" * 300):
        reply = seed.get("/api/messaging/messages", params={"cursor": cursor})
        assert reply.status in (200, 400), reply
        if reply.status == 400:
            assert_error_shape(reply, "validation_error", field="cursor")


# ------------------------------------------------------------------------------------ filters


def test_filter_channel(seed):
    assert count(seed, channel="loopback") == SEED_COUNT
    assert count(seed, channel="c-echo") == 0
    assert count(seed, channel="telegram") == 0


def test_filter_account(seed):
    assert count(seed, bdAccountId=SEED_ACCOUNT) == SEED_COUNT
    assert count(seed, bdAccountId="no-such-account") == 0


def test_filter_chat(seed):
    for index in range(SEED_CHATS):
        messages = seed.all_messages(chatId=f"chat-{index}")
        assert len(messages) == PER_CHAT
        assert {m["chatId"] for m in messages} == {f"chat-{index}"}
        numbers = {int(m["content"].split(" ")[1]) for m in messages}
        assert numbers == set(range(index, SEED_COUNT, SEED_CHATS))
    assert count(seed, chatId="chat-99") == 0


def test_filter_contact(seed):
    messages = seed.all_messages(contactId="chat-1")
    assert len(messages) == PER_CHAT
    assert {m["contactId"] for m in messages} == {"chat-1"}
    assert count(seed, contactId="nobody") == 0


def test_filter_direction(seed):
    assert count(seed, direction="inbound") == SEED_COUNT
    assert count(seed, direction="outbound") == 0


def test_filter_status(seed):
    total = 0
    for status in ("pending", "sent", "delivered", "read", "failed"):
        messages = seed.all_messages(status=status)
        assert all(m["status"] == status for m in messages), status
        total += len(messages)
    assert total == SEED_COUNT
    # Inbound messages arrive delivered.
    assert count(seed, status="delivered") == SEED_COUNT


def test_filter_unread(seed):
    assert count(seed, unread="true") == SEED_COUNT
    assert count(seed, unread="false") == 0


@pytest.mark.parametrize("value", ["maybe", "2", "yes-no"])
def test_filter_unread_bad_value_is_400(seed, value):
    reply = seed.get("/api/messaging/messages", params={"unread": value}, expect=400)
    assert_error_shape(reply, "validation_error", field="unread")


def test_filter_from_to_datetimes(seed, api_main_gateway):
    started = api_main_gateway.started_at
    before = iso(started - dt.timedelta(minutes=2))
    later = iso(dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1))
    assert count(seed, **{"from": before}) == SEED_COUNT
    assert count(seed, **{"from": before, "to": later}) == SEED_COUNT
    assert count(seed, to=before) == 0
    assert count(seed, **{"from": later}) == 0
    # A window just around the first and the last message holds everything.
    walked = seed.all_messages()
    newest, oldest = assert_iso_ms(walked[0]["createdAt"]), assert_iso_ms(walked[-1]["createdAt"])
    millisecond = dt.timedelta(milliseconds=1)
    assert count(seed, **{"from": iso(oldest - millisecond), "to": iso(newest + millisecond)}) == SEED_COUNT


def test_filter_from_to_dates(seed):
    today = dt.datetime.now(dt.timezone.utc).date()
    assert count(seed, **{"from": (today - dt.timedelta(days=1)).isoformat()}) == SEED_COUNT
    assert count(seed, **{"from": (today + dt.timedelta(days=2)).isoformat()}) == 0
    assert count(seed, to=(today - dt.timedelta(days=2)).isoformat()) == 0
    assert count(seed, **{"from": (today - dt.timedelta(days=1)).isoformat(),
                          "to": (today + dt.timedelta(days=2)).isoformat()}) == SEED_COUNT


@pytest.mark.parametrize("name,value", [
    ("from", "yesterday"), ("to", "2024-13-45"), ("from", "12345"), ("to", "2024-05-01T25:00:00Z"),
])
def test_bad_dates_are_400(seed, name, value):
    reply = seed.get("/api/messaging/messages", params={name: value}, expect=400)
    assert_error_shape(reply, "validation_error", field=name)


def test_filter_search(seed):
    found = seed.all_messages(search="message 299")
    assert [m["content"] for m in found] == ["message 299"]
    assert [m["content"] for m in seed.all_messages(search="299")] == ["message 299"]
    assert count(seed, search="message") == SEED_COUNT
    assert count(seed, search="no-such-text-anywhere") == 0


def test_search_treats_wildcards_and_quotes_as_text(seed):
    for term in ("%", "_", "' OR 1=1 --", '"', "\\", "%%", "[a-z]"):
        reply = seed.get("/api/messaging/messages", params={"search": term, "limit": 200})
        assert reply.status in (200, 400), reply
        if reply.status == 200:
            for message in reply.json["messages"]:
                assert term in message["content"], (term, message["content"])


def test_filters_combine(seed):
    messages = seed.all_messages(chatId="chat-2", direction="inbound", unread="true", channel="loopback",
                                 bdAccountId=SEED_ACCOUNT, contactId="chat-2", status="delivered")
    assert len(messages) == PER_CHAT
    assert count(seed, chatId="chat-2", direction="outbound") == 0
    assert count(seed, chatId="chat-2", search="message 290") == 1
    assert count(seed, chatId="chat-3", search="message 290") == 0


@pytest.mark.parametrize("name,value", [("direction", "sideways"), ("status", "lost"), ("direction", "INBOUND")])
def test_unknown_enum_is_400(seed, name, value):
    reply = seed.get("/api/messaging/messages", params={name: value}, expect=400)
    assert_error_shape(reply, "validation_error", field=name)


# -------------------------------------------------------------------------------------- chats


def test_chats_sorted_with_unread_and_last_message(seed):
    page = seed.chats()
    chats = page["chats"]
    assert_schema(page["pagination"], "Pagination")
    assert {c["chatId"] for c in chats} == {f"chat-{i}" for i in range(SEED_CHATS)}
    activity = [assert_iso_ms(c["lastActivity"], "lastActivity") for c in chats]
    assert activity == sorted(activity, reverse=True), "chats are not by last activity, newest first"
    for chat in chats:
        assert_schema(chat, "Chat")
        assert chat["channel"] == "loopback"
        assert chat["bdAccountId"] == SEED_ACCOUNT
        assert chat["channelId"] == chat["chatId"]
        assert chat["kind"] == "user"
        assert chat["title"] == f"Loopback {chat['chatId']}"
        assert chat["unreadCount"] == PER_CHAT
        newest = seed.messages(chatId=chat["chatId"], limit=1)["messages"][0]
        assert chat["lastMessage"], chat
        assert chat["lastMessage"]["id"] == newest["id"]
        assert chat["lastMessage"]["chatId"] == chat["chatId"]
        assert chat["lastActivity"] == chat["lastMessage"]["createdAt"] or \
            assert_iso_ms(chat["lastActivity"]) >= assert_iso_ms(chat["lastMessage"]["createdAt"])


def test_chats_filters(seed):
    assert len(seed.chats(channel="loopback")["chats"]) == SEED_CHATS
    assert seed.chats(channel="c-echo")["chats"] == []
    assert len(seed.chats(bdAccountId=SEED_ACCOUNT)["chats"]) == SEED_CHATS
    assert seed.chats(bdAccountId="nope")["chats"] == []
    assert len(seed.chats(unread="true")["chats"]) == SEED_CHATS


def test_chats_pagination(seed):
    first = seed.chats(limit=4)
    assert len(first["chats"]) == 4
    assert first["pagination"]["hasMore"] is True
    second = seed.chats(limit=4, cursor=first["pagination"]["nextCursor"])
    assert len(second["chats"]) == 2
    assert second["pagination"]["hasMore"] is False
    ids = [c["chatId"] for c in first["chats"] + second["chats"]]
    assert len(set(ids)) == SEED_CHATS
    paged = seed.chats(page=2, limit=4)
    assert paged["pagination"]["total"] == SEED_CHATS
    assert paged["pagination"]["totalPages"] == 2
    assert paged["pagination"]["page"] == 2
    assert [c["chatId"] for c in paged["chats"]] == [c["chatId"] for c in second["chats"]]


@pytest.mark.parametrize("params,field", [
    ({"limit": "0"}, "limit"), ({"limit": "201"}, "limit"), ({"page": "0"}, "page"), ({"unread": "perhaps"}, "unread"),
])
def test_chats_bad_query_is_400(seed, params, field):
    reply = seed.get("/api/messaging/chats", params=params, expect=400)
    assert_error_shape(reply, "validation_error", field=field)


# -------------------------------------------------------------------------------------- stats


def test_stats_counts(seed):
    stats = seed.get("/api/messaging/stats", expect=200).json
    assert_schema(stats, "Stats")
    assert stats["total"] == SEED_COUNT
    assert stats["unread"] == SEED_COUNT
    assert {k: v for k, v in stats["byChannel"].items() if v} == {"loopback": SEED_COUNT}
    assert stats["byDirection"] == {"inbound": SEED_COUNT, "outbound": 0}
    assert {k: v for k, v in stats["byStatus"].items() if v} == {"delivered": SEED_COUNT}
    assert sum(day["total"] for day in stats["perDay"]) == SEED_COUNT
    assert sum(day["inbound"] for day in stats["perDay"]) == SEED_COUNT
    assert sum(day["outbound"] for day in stats["perDay"]) == 0
    for day in stats["perDay"]:
        dt.date.fromisoformat(day["date"])
        assert day["total"] == day["inbound"] + day["outbound"]


def test_stats_window(seed):
    tomorrow = (dt.datetime.now(dt.timezone.utc).date() + dt.timedelta(days=2)).isoformat()
    stats = seed.get("/api/messaging/stats", params={"from": tomorrow}, expect=200).json
    assert stats["total"] == 0
    assert stats["byDirection"] == {"inbound": 0, "outbound": 0}
    assert sum(day["total"] for day in stats["perDay"]) == 0
    yesterday = (dt.datetime.now(dt.timezone.utc).date() - dt.timedelta(days=1)).isoformat()
    stats = seed.get("/api/messaging/stats", params={"from": yesterday, "to": iso(
        dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1))}, expect=200).json
    assert stats["total"] == SEED_COUNT


def test_stats_bad_dates_are_400(seed):
    reply = seed.get("/api/messaging/stats", params={"from": "not-a-date"}, expect=400)
    assert_error_shape(reply, "validation_error", field="from")


# ----------------------------------------------------------------------------------- accounts


def test_declared_account_listed(seed):
    accounts = seed.get("/api/bd-accounts", expect=200).json["accounts"]
    assert [a["id"] for a in accounts] == [SEED_ACCOUNT]
    account = accounts[0]
    assert_schema(account, "Account")
    assert account["organizationId"] == SEED_ORG
    assert account["platform"] == "loopback"
    assert account["status"] == "connected"
    assert account["isConnected"] is True
    assert account["displayName"] == f"Loopback {SEED_ACCOUNT}"
    status = seed.get(f"/api/bd-accounts/{SEED_ACCOUNT}/status", expect=200).json
    assert_schema(status, "AccountStatusReport")
    assert status["id"] == SEED_ACCOUNT and status["status"] == "connected" and status["isConnected"] is True
