"""GET /health, /metrics, /openapi.yaml, unknown routes and methods."""

from __future__ import annotations

import re

import yaml

from gateway_harness import OPENAPI_PATH, SEED_ORG, assert_error_shape, assert_schema, eventually, make_token, store_backend


def test_health_is_public_and_complete(api):
    # Plugins load right after the server starts listening: wait until both are loaded.
    eventually(
        lambda: {p["name"]: p["state"] for p in api.get("/health", token=None, expect=200).json["plugins"]}
        == {"loopback": "loaded", "c-echo": "loaded"},
        timeout=20, what="both plugins to be loaded", last=lambda: api.get("/health", token=None).json,
    )
    reply = api.get("/health", token=None, expect=200)
    assert "application/json" in reply.headers.get("Content-Type", "")
    health = reply.json
    assert_schema(health, "Health")
    assert health["status"] == "ok", health
    assert health["uptimeSeconds"] >= 0
    assert isinstance(health["version"], str) and health["version"]
    plugins = {p["name"]: p for p in health["plugins"]}
    assert plugins["loopback"]["state"] == "loaded", plugins
    assert plugins["loopback"]["platform"] == "loopback"
    assert plugins["c-echo"]["state"] == "loaded", plugins
    assert plugins["c-echo"]["platform"] == "c-echo"
    assert "send" in (plugins["loopback"].get("capabilities") or []), plugins["loopback"]
    assert health["store"]["status"] == "ok"
    assert health["store"]["backend"] == store_backend()
    assert health["pipeline"]["backlog"] >= 0
    assert health["pipeline"]["droppedBusEvents"] >= 0


def test_health_ignores_a_bad_token(api):
    # /health is public: even a garbage token does not make it fail.
    api.get("/health", token="garbage", expect=200)


def test_metrics_public_prometheus_text(api):
    reply = api.get("/metrics", token=None, expect=200)
    assert reply.headers.get("Content-Type", "").startswith("text/plain"), reply.headers
    sample = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{.*\})? [-+0-9.eEInfaN]+( [0-9]+)?$')
    for line in reply.text.splitlines():
        if line and not line.startswith("#"):
            assert sample.match(line), f"not a Prometheus sample line: {line!r}"


def test_openapi_served_and_matches_the_repository(api):
    reply = api.get("/openapi.yaml", token=None, expect=200)
    served = yaml.safe_load(reply.text)
    assert isinstance(served, dict), reply.text[:300]
    assert str(served.get("openapi", "")).startswith("3.1"), served.get("openapi")
    repository = yaml.safe_load(OPENAPI_PATH.read_text())
    assert set(served["paths"]) == set(repository["paths"])
    for path, item in repository["paths"].items():
        methods = {m for m in item if m in ("get", "post", "put", "patch", "delete")}
        assert methods == {m for m in served["paths"][path] if m in ("get", "post", "put", "patch", "delete")}, path


def test_openapi_document_lists_every_endpoint_of_api_md():
    document = yaml.safe_load(OPENAPI_PATH.read_text())
    expected = {
        ("post", "/api/bd-accounts/connect"), ("post", "/api/bd-accounts/{id}/code"),
        ("post", "/api/bd-accounts/{id}/password"), ("get", "/api/bd-accounts"), ("get", "/api/bd-accounts/{id}"),
        ("get", "/api/bd-accounts/{id}/status"), ("get", "/api/bd-accounts/{id}/dialogs"),
        ("post", "/api/bd-accounts/{id}/disconnect"), ("post", "/api/bd-accounts/{id}/send"),
        ("delete", "/api/bd-accounts/{id}"), ("get", "/api/messaging/messages"),
        ("get", "/api/messaging/messages/{id}"), ("post", "/api/messaging/send"), ("get", "/api/messaging/chats"),
        ("post", "/api/messaging/chats/{chatId}/mark-all-read"), ("get", "/api/messaging/stats"),
        ("get", "/api/webhooks/failures"), ("post", "/api/webhooks/failures/{id}/replay"), ("get", "/health"),
        ("get", "/metrics"), ("get", "/openapi.yaml"), ("get", "/api/bd-accounts/{id}/login-qr"),
        ("get", "/"), ("get", "/console/{file}"),
    }
    present = {(m, p) for p, item in document["paths"].items() for m in item if m in ("get", "post", "delete", "put", "patch")}
    assert present == expected


def test_unknown_routes_are_404_with_the_error_shape(api):
    token = make_token(SEED_ORG)
    for path in ("/api/nope", "/nope", "/api/messaging", "/api/bd-accounts/x/y/z", "/api/messaging/messages/x/extra"):
        reply = api.get(path, token=token, expect=404)
        assert_error_shape(reply, "not_found")
    reply = api.get("/definitely/not/here", token=None, expect=404)
    assert_error_shape(reply, "not_found")


def test_known_path_other_method_is_404(api):
    """API.md: an unknown route (path or method) is 404 not_found."""
    token = make_token(SEED_ORG)
    for method, path in (
        ("DELETE", "/api/messaging/send"),
        ("GET", "/api/messaging/send"),
        ("PUT", "/api/bd-accounts"),
        ("POST", "/api/messaging/stats"),
        ("DELETE", "/api/messaging/messages"),
    ):
        reply = api.request(method, path, token=token, expect=404)
        assert_error_shape(reply, "not_found")
