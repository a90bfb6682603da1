"""Malformed and hostile input: always a 4xx in the error shape, never a 5xx, nothing stored."""

from __future__ import annotations

import json

import pytest

from gateway_harness import assert_error_shape, unique

JSON = {"Content-Type": "application/json"}


@pytest.fixture
def account(org):
    return org.connect_loopback()


def body_paths(account_id: str) -> list[str]:
    return [
        "/api/messaging/send",
        f"/api/bd-accounts/{account_id}/send",
        "/api/bd-accounts/connect",
        f"/api/bd-accounts/{account_id}/code",
        f"/api/bd-accounts/{account_id}/password",
    ]


@pytest.mark.parametrize("raw", [
    "{", "{not json}", "{'single': 'quotes'}", '{"content": "x",}', '{"a": 1} trailing', "nul", "<xml/>",
    '{"content": "\\ud800"', b"\xff\xfe\x00garbage", b'{"content": "\xc3\x28"}',
])
def test_malformed_json_is_400_invalid_json(org, account, raw):
    for path in body_paths(account["id"]):
        reply = org.request("POST", path, data=raw, headers=JSON, expect=400)
        assert_error_shape(reply, "invalid_json")
    assert org.all_messages(chatId="c") == []


@pytest.mark.parametrize("raw", ["[]", "[1, 2]", '[{"platform": "loopback"}]', "5", "-1.5", '"string"', "true", "null"])
def test_json_that_is_not_an_object_is_400(org, account, raw):
    for path in body_paths(account["id"]):
        reply = org.request("POST", path, data=raw, headers=JSON, expect=400)
        assert_error_shape(reply, "invalid_json")


def test_empty_body_where_one_is_required(org, account):
    for path in body_paths(account["id"]):
        reply = org.request("POST", path, data=b"", headers=JSON, expect=400)
        error = assert_error_shape(reply, ("invalid_json", "validation_error"))
        if error["code"] == "validation_error":
            assert (error.get("details") or {}).get("field"), reply


def test_body_over_the_limit_is_413(org, account):
    big = json.dumps({"channel": "loopback", "channelId": "big", "content": "y" * 100_000, "bdAccountId": account["id"]})
    for path in ("/api/messaging/send", f"/api/bd-accounts/{account['id']}/send", "/api/bd-accounts/connect",
                 "/api/messaging/chats/big/mark-all-read"):
        reply = org.request("POST", path, data=big, headers=JSON, expect=413)
        assert_error_shape(reply, "payload_too_large")
    assert org.all_messages(chatId="big") == []


def test_chunked_body_over_the_limit_is_413(org, account):
    def chunks():
        yield b'{"channel": "loopback", "channelId": "big", "bdAccountId": "' + account["id"].encode() + b'", "content": "'
        for _ in range(25):
            yield b"z" * 4096
        yield b'"}'

    reply = org.request("POST", "/api/messaging/send", data=chunks(), headers=JSON, expect=413)
    assert_error_shape(reply, "payload_too_large")
    assert org.all_messages(chatId="big") == []


def test_deeply_nested_json_is_400(org, account):
    depth = 20_000
    raw = '{"channel": "loopback", "channelId": "c", "bdAccountId": "%s", "content": %s%s}' % (
        account["id"], "[" * depth, "]" * depth)
    assert len(raw) < 64_000
    reply = org.request("POST", "/api/messaging/send", data=raw, headers=JSON, expect=400)
    assert_error_shape(reply, ("invalid_json", "validation_error"))
    nested_config = '{"platform": "loopback", "config": %s%s}' % ('{"a":' * 5000, "1" + "}" * 5000)
    reply = org.request("POST", "/api/bd-accounts/connect", data=nested_config, headers=JSON)
    assert reply.status in (202, 400), reply


@pytest.mark.parametrize("field,value", [
    ("content", 5), ("content", {"text": "x"}), ("content", True), ("channelId", None), ("bdAccountId", 123),
])
def test_wrong_types_are_400_with_the_field(org, account, field, value):
    body = {"channel": "loopback", "channelId": "c", "content": "x", "bdAccountId": account["id"], field: value}
    reply = org.post("/api/messaging/send", body, expect=400)
    assert_error_shape(reply, "validation_error", field=field)


@pytest.mark.parametrize("name,value", [
    ("limit", "abc"), ("limit", "99999999999999999999"), ("limit", "-99999999999999999999"), ("limit", "0x10"),
    ("page", "1e3"), ("page", "NaN"), ("direction", "sideways"), ("status", "SENT"),
    ("unread", "1 OR 1=1"), ("from", "2024-05-01T10:00:00.000Q"), ("to", "tomorrow"),
])
def test_bad_query_values_are_400(org, name, value):
    reply = org.get("/api/messaging/messages", params={name: value}, expect=400)
    assert_error_shape(reply, "validation_error", field=name)


def test_negative_and_huge_offsets_on_dialogs(org, account):
    path = f"/api/bd-accounts/{account['id']}/dialogs"
    for value in ("-1", "-99999999999999999999", "99999999999999999999", "abc"):
        reply = org.get(path, params={"offset": value}, expect=400)
        assert_error_shape(reply, "validation_error", field="offset")
    reply = org.get(path, params={"limit": "99999999999999999999"}, expect=400)
    assert_error_shape(reply, "validation_error", field="limit")


def test_huge_numbers_in_bodies(org):
    raw = '{"platform": "loopback", "apiId": 99999999999999999999999999999}'
    reply = org.request("POST", "/api/bd-accounts/connect", data=raw, headers=JSON, expect=400)
    assert_error_shape(reply, "validation_error", field="apiId")
    raw = '{"platform": "loopback", "apiId": 1e400}'
    reply = org.request("POST", "/api/bd-accounts/connect", data=raw, headers=JSON, expect=400)
    assert_error_shape(reply, ("validation_error", "invalid_json"))


def test_repeated_and_odd_query_parameters(org):
    for query in ("limit=1&limit=2", "limit=", "page=", "direction=", "from=", "unread=", "limit[]=1",
                  "%ff=%fe", "search=%00", "search=" + "a" * 4000, "cursor=%00%01", "&&&", "=1"):
        reply = org.get("/api/messaging/messages?" + query)
        assert reply.status in (200, 400), reply


def test_odd_paths_are_never_server_errors(org):
    for path in (
        "/api/bd-accounts/%00", "/api/bd-accounts/..%2F..%2Fetc%2Fpasswd", "/api/bd-accounts/" + "a" * 4000,
        "/api/messaging/messages/%E2%80%AE", "/api/messaging/messages/' OR '1'='1", "/api//bd-accounts",
        "/api/bd-accounts/%2e%2e/status", "/api/messaging/chats/%F0%9F%98%80/mark-all-read",
    ):
        reply = org.get(path)  # the client fails on any 5xx and checks the error shape of any 4xx
        assert reply.status < 500, reply
    reply = org.post("/api/messaging/chats/%F0%9F%98%80/mark-all-read")
    assert reply.status == 404, reply
    assert_error_shape(reply, "not_found")


def test_strange_but_valid_content_is_stored_verbatim(org, account):
    chat = unique("odd")
    for text in ("\u0000nul", "' OR 1=1 --", "<script>alert(1)</script>", "\u202eevil", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "${JWT_SECRET}"):
        reply = org.send(account, chat, text, expect=(201, 400))
        if reply.status == 201:
            assert reply.json["content"] == text
            assert org.get(f"/api/messaging/messages/{reply.json['id']}", expect=200).json["content"] == text
        else:
            assert_error_shape(reply, "validation_error", field="content")


def test_wrong_content_type_is_never_a_server_error(org, account):
    body = json.dumps({"channel": "loopback", "channelId": "ct", "content": "x", "bdAccountId": account["id"]})
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", ""):
        reply = org.request("POST", "/api/messaging/send", data=body, headers={"Content-Type": content_type})
        assert reply.status in (201, 200, 400, 415), reply


def test_unknown_routes_and_methods(org):
    assert_error_shape(org.get("/api/unknown", expect=404), "not_found")
    assert_error_shape(org.post("/api/messaging/nothing", {"a": 1}, expect=404), "not_found")
    assert_error_shape(org.request("PATCH", "/api/messaging/messages", expect=404), "not_found")
    assert_error_shape(org.request("PUT", "/api/messaging/send", json_body={"a": 1}, expect=404), "not_found")
