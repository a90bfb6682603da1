"""Per-token API rate limit (api.rate_limit_per_minute) on a gateway configured with 5."""

from __future__ import annotations

import pytest

from gateway_harness import Client, assert_error_shape, make_token, start_gateway, unique

LIMIT = 5


@pytest.fixture(scope="module")
def limited_gateway(tmp_path_factory, api_gateway_bin):
    gateway = start_gateway("ratelimit", tmp_path_factory, api_gateway_bin, rate_limit=LIMIT)
    yield gateway
    gateway.stop()


def test_sixth_request_within_a_minute_is_429(limited_gateway):
    client = Client(limited_gateway, make_token(unique("org-rl"), sub=unique("rl-user")))
    for _ in range(LIMIT):
        client.get("/api/bd-accounts", expect=200)
    reply = client.get("/api/bd-accounts", expect=429)
    assert_error_shape(reply, "rate_limited")
    retry_after = reply.headers.get("Retry-After")
    assert retry_after is not None, f"429 without Retry-After: {reply!r}"
    assert retry_after.strip().isdigit(), f"Retry-After is not whole seconds: {retry_after!r}"
    assert 1 <= int(retry_after) <= 60, retry_after
    # Still limited on any other /api endpoint for the same token.
    assert_error_shape(client.get("/api/messaging/messages", expect=429), "rate_limited")


def test_limit_is_per_token(limited_gateway):
    org_id = unique("org-rl")
    first = Client(limited_gateway, make_token(org_id, sub=unique("rl-a")))
    for _ in range(LIMIT):
        first.get("/api/messaging/chats", expect=200)
    first.get("/api/messaging/chats", expect=429)
    # Another token (another user of the same organization) has its own budget.
    second = Client(limited_gateway, make_token(org_id, sub=unique("rl-b")))
    second.get("/api/messaging/chats", expect=200)


def test_health_is_not_rate_limited(limited_gateway):
    client = Client(limited_gateway)
    for _ in range(LIMIT * 3):
        client.get("/health", token=None, expect=200)
